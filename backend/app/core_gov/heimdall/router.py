from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, SettingsDep, StorageDep, paginate, responses
from ..fields import Key
from . import service
from .schemas import DomainBody, HeimdallPolicy, HeimdallPolicyUpsert, Recommendation, RecommendCreate, Scorecard, Trial, TrialCreate

router = ModuleRouter(prefix="/heimdall", tags=["heimdall"])


@router.get("/policies", summary="List Heimdall policies (one per domain)", responses=responses())
async def list_policies(db: StorageDep, response: Response, page: Page) -> list[HeimdallPolicy]:
    return paginate(response, service.policies(db), page)


@router.post("/policies/upsert", summary="Create or change a domain's thresholds (prod_enabled is ignored)", responses=responses())
def upsert_policy(db: StorageDep, body: HeimdallPolicyUpsert) -> HeimdallPolicy:
    """prod_enabled changes only through promote/demote; a new policy starts with it false."""
    return service.upsert_policy(db, body)


@router.post("/trials", status_code=201, summary="Record a sandbox trial outcome", responses=responses())
def add_trial(db: StorageDep, body: TrialCreate) -> Trial:
    """The domain must have a policy (422 otherwise)."""
    return service.add_trial(db, body)


@router.get("/trials", summary="List sandbox trials, oldest first", responses=responses())
async def list_trials(db: StorageDep, response: Response, page: Page, domain: Key | None = None) -> list[Trial]:
    return paginate(response, service.list_trials(db, domain=domain), page)


@router.get("/scorecard", summary="Per domain over its rolling window: trials, success rate, mean confidence, daily series", responses=responses())
async def scorecard(db: StorageDep, settings: SettingsDep, response: Response, page: Page, domain: Key | None = None) -> list[Scorecard]:
    """The window is the policy's window_days ending now (not calendar days); days in the series
    are local days (VALHALLA_TZ), only those with trials."""
    return paginate(response, service.scorecard(db, settings.zone, domain=domain), page)


@router.post("/recommend", status_code=201, summary="Gate and store an AI recommendation", responses=responses(409))
def recommend(db: StorageDep, body: RecommendCreate) -> Recommendation:
    """gate_reason is the first failing of prod_disabled, confidence_below_threshold,
    insufficient_sandbox_trials, success_rate_below_threshold; else gate_pass (thresholds
    inclusive). No policy for the domain: 409 no_policy."""
    return service.recommend(db, body)


@router.get("/recommendations", summary="List stored recommendations", responses=responses())
async def list_recommendations(
    db: StorageDep, response: Response, page: Page, domain: Key | None = None, gate_reason: str | None = None,
    prod_eligible: bool | None = None,
) -> list[Recommendation]:
    return paginate(response, service.list_recommendations(db, domain=domain, gate_reason=gate_reason, prod_eligible=prod_eligible), page)


@router.post("/promote", summary="Enable production for a domain whose window passes the trial gates", responses=responses(409))
def promote(db: StorageDep, body: DomainBody) -> HeimdallPolicy:
    """409 with the failing gate as code (insufficient_sandbox_trials, success_rate_below_threshold) or no_policy."""
    return service.promote(db, domain=body.domain)


@router.post("/demote", summary="Disable production for a domain", responses=responses(409))
def demote(db: StorageDep, body: DomainBody) -> HeimdallPolicy:
    return service.demote(db, domain=body.domain)

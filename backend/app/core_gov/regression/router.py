from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, StorageDep, paginate, responses
from ..fields import Key
from . import service
from .schemas import Evaluation, RegressionPolicy, RegressionPolicyUpsert, RegressionState, ResetBody

router = ModuleRouter(prefix="/regression", tags=["regression"])


@router.get("/policies", summary="List regression policies (one per metric)", responses=responses())
async def list_policies(db: StorageDep, response: Response, page: Page) -> list[RegressionPolicy]:
    return paginate(response, service.policies(db), page)


@router.post("/policies/upsert", summary="Create or replace the policy of a metric", responses=responses())
def upsert_policy(db: StorageDep, body: RegressionPolicyUpsert) -> RegressionPolicy:
    """THROTTLE needs a `domain`; `min_events` may not exceed either window (422)."""
    return service.upsert_policy(db, body)


@router.post("/evaluate", summary="Evaluate the policies now (all, or one metric's)", responses=responses())
def evaluate(db: StorageDep, metric: Key | None = None) -> list[Evaluation]:
    """Recent = the newest window_events events of the metric (and the policy's domain); baseline =
    the baseline_events before them. Enforced only when both hold min_events; fires when
    (baseline - recent) / baseline >= max_drop. The action runs when a policy starts firing."""
    return service.evaluate(db, metric=metric)


@router.get("/state", summary="Throttled domains and each policy's last evaluation (with why nothing is enforced)", responses=responses())
async def get_state(db: StorageDep) -> RegressionState:
    return service.state(db)


@router.post("/reset", summary="Lift a domain's throttle (reason required)", responses=responses())
def reset(db: StorageDep, body: ResetBody) -> RegressionState:
    """A domain that is not throttled but named by a policy is a no-op; one no policy names is 422."""
    return service.reset(db, domain=body.domain, reason=body.reason)

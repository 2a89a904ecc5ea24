from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Episode, EpisodeCreate, EpisodeStatus, EpisodeUpdate, Rendered, RenderRequest, Template, TemplateCreate, TemplateUpdate,
)

router = ModuleRouter(prefix="/stories", tags=["stories"])


@router.post("/templates", status_code=201, summary="Add a story template", responses=responses())
def create_template(db: StorageDep, body: TemplateCreate) -> Template:
    """The body's `{name}` placeholders must be identifiers; `{{` and `}}` are literal braces.
    A malformed body (an unbalanced brace, a placeholder that is not an identifier) is 422 naming
    its 0-based character position."""
    return service.create_template(db, body)


@router.get("/templates", summary="List story templates", responses=responses())
async def list_templates(db: StorageDep, response: Response, page: Page, tag: str | None = None, mood: str | None = None) -> list[Template]:
    return paginate(response, service.list_templates(db, tag=tag, mood=mood), page)


@router.get("/templates/{template_id}", summary="Get a story template", responses=responses(404))
async def get_template(db: StorageDep, template_id: str) -> Template:
    return one(service.get_template(db, template_id))


@router.patch("/templates/{template_id}", summary="Change a story template (send If-Match to refuse a stale edit)", responses=responses(404, 412))
def update_template(db: StorageDep, response: Response, template_id: str, body: TemplateUpdate, if_match: IfMatch = None) -> Template:
    """A new body is checked like at create (422 naming the position of a bad brace)."""
    return etag(response, service.update_template(db, template_id, body, expected_version=if_match))


@router.post("/templates/{template_id}/render", summary="Fill a template's placeholders", responses=responses(404, 409))
def render_template(db: StorageDep, template_id: str, body: RenderRequest) -> Rendered:
    """Every placeholder needs a value: one 422 lists each missing one under `body.values.<name>`.
    Values no placeholder uses are ignored and listed in `ignored`. A body made malformed by a
    hand edit is 409 `template_malformed` with its position."""
    return service.render(db, template_id, body)


@router.post("/episodes", status_code=201, summary="Add an episode", responses=responses(409))
def create_episode(db: StorageDep, body: EpisodeCreate) -> Episode:
    """The template must exist (422 on `template_id`); the sequence is unique per template
    (409 `duplicate_sequence`); a published episode needs text (409 `episode_empty`)."""
    return service.create_episode(db, body)


@router.get("/episodes", summary="List episodes", responses=responses())
async def list_episodes(
    db: StorageDep, response: Response, page: Page, template_id: str | None = None, status: EpisodeStatus | None = None,
) -> list[Episode]:
    return paginate(response, service.list_episodes(db, template_id=template_id, status=status), page)


@router.get("/episodes/{episode_id}", summary="Get an episode", responses=responses(404))
async def get_episode(db: StorageDep, episode_id: str) -> Episode:
    return one(service.get_episode(db, episode_id))


@router.patch("/episodes/{episode_id}", summary="Change an episode or its status draft|published (If-Match)", responses=responses(404, 409, 412))
def update_episode(db: StorageDep, response: Response, episode_id: str, body: EpisodeUpdate, if_match: IfMatch = None) -> Episode:
    """`status` moves freely between draft and published (unpublishing is allowed); the same
    checks as at create apply to the result."""
    return etag(response, service.update_episode(db, episode_id, body, expected_version=if_match))

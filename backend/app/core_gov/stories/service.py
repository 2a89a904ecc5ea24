"""Stories: a template's body holds {placeholders} (ASCII identifiers); {{ and }} are literal
braces; any other brace is malformed and refused 422 at create/update naming its 0-based position.
Rendering fills every placeholder: all missing ones are listed in one 422, extra values are
ignored (and reported). An episode belongs to an existing template (else 422) and its sequence is
unique per template (409 duplicate_sequence); a published episode needs text (409 episode_empty).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..errors import Conflict, CoreError, InvalidField
from ..storage import Storage, select
from . import store
from .schemas import (
    Episode, EpisodeCreate, EpisodeStatus, EpisodeUpdate, Rendered, RenderRequest, Template, TemplateCreate, TemplateUpdate,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateSyntaxError(ValueError):
    def __init__(self, position: int, message: str):
        super().__init__(f"{message} at position {position}")
        self.position = position


class MissingValues(InvalidField):
    """One 422 naming every missing placeholder (each as its own error under body.values)."""

    def __init__(self, names: list[str]):
        CoreError.__init__(self, [
            {"loc": ["body", "values", name], "msg": f"no value for placeholder {{{name}}}", "type": "missing"}
            for name in names
        ])
        self.names = names


# ------------------------------------------------------------------------------ template syntax


def parse(body: str) -> list[tuple[str, str]]:
    """Segments in order: ("text", literal) or ("placeholder", name); TemplateSyntaxError if malformed."""
    out: list[tuple[str, str]] = []
    literal: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c in "{}" and body.startswith(c * 2, i):
            literal.append(c)
            i += 2
        elif c == "{":
            end = body.find("}", i + 1)
            if end == -1:
                raise TemplateSyntaxError(i, "unbalanced '{' (no closing '}'; write '{{' for a literal brace)")
            name = body[i + 1 : end]
            if not _IDENTIFIER.match(name):
                raise TemplateSyntaxError(i, f"placeholder {{{name}}} is not an identifier (letters, digits and _, not starting with a digit)")
            if literal:
                out.append(("text", "".join(literal)))
                literal = []
            out.append(("placeholder", name))
            i = end + 1
        elif c == "}":
            raise TemplateSyntaxError(i, "unbalanced '}' (no opening '{'; write '}}' for a literal brace)")
        else:
            literal.append(c)
            i += 1
    if literal:
        out.append(("text", "".join(literal)))
    return out


def _check_body(body: str) -> None:
    try:
        parse(body)
    except TemplateSyntaxError as e:
        raise InvalidField(("body", "body"), str(e), "template_syntax") from None


# ------------------------------------------------------------------------------ templates


def list_templates(db: Storage, *, tag: str | None = None, mood: str | None = None) -> Sequence[Template]:
    return select(db.list(store.templates), {"tags": tag.strip().lower() if tag else None, "mood": mood})


def get_template(db: Storage, template_id: str) -> Template:
    return db.get(store.templates, template_id)


def create_template(db: Storage, data: TemplateCreate) -> Template:
    _check_body(data.body)
    with db.transaction("stories") as tx:
        return tx.add(store.templates, data)


def update_template(db: Storage, template_id: str, data: TemplateUpdate, *, expected_version: int | None = None) -> Template:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("body") is not None:  # a null body is refused by the record's own validation
        _check_body(changes["body"])
    with db.transaction("stories") as tx:
        return tx.update(store.templates, template_id, changes, expected_version=expected_version)


def render(db: Storage, template_id: str, data: RenderRequest) -> Rendered:
    template = db.get(store.templates, template_id)
    try:
        segments = parse(template.body)
    except TemplateSyntaxError as e:  # only a hand-edited file can hold a malformed body
        raise Conflict("template_malformed", f"template {template_id} body: {e}; fix it with PATCH", position=e.position) from None
    names = list(dict.fromkeys(name for kind, name in segments if kind == "placeholder"))
    missing = [name for name in names if name not in data.values]
    if missing:
        raise MissingValues(missing)
    text = "".join(str(data.values[value]) if kind == "placeholder" else value for kind, value in segments)
    return Rendered(text=text, placeholders=names, ignored=[k for k in data.values if k not in names])


# ------------------------------------------------------------------------------ episodes


def list_episodes(db: Storage, *, template_id: str | None = None, status: str | None = None) -> Sequence[Episode]:
    return select(db.list(store.episodes), {"template_id": template_id, "status": status})


def get_episode(db: Storage, episode_id: str) -> Episode:
    return db.get(store.episodes, episode_id)


def _check_episode(tx: Any, episode: dict[str, Any], *, episode_id: str | None = None) -> None:
    if tx.find(store.templates, episode["template_id"]) is None:
        raise InvalidField(("body", "template_id"), f"no template {episode['template_id']}")
    for other in tx.list(store.episodes):
        if other.id != episode_id and other.template_id == episode["template_id"] and other.sequence == episode["sequence"]:
            raise Conflict(
                "duplicate_sequence", f"template {other.template_id} already has episode {other.sequence} ({other.id})",
                template_id=other.template_id, sequence=other.sequence, episode_id=other.id,
            )
    if EpisodeStatus(episode["status"]) is EpisodeStatus.published and not episode["text"].strip():
        raise Conflict("episode_empty", "an episode needs text before it is published", episode_id=episode_id)


def create_episode(db: Storage, data: EpisodeCreate) -> Episode:
    with db.transaction("stories") as tx:
        _check_episode(tx, data.model_dump())
        return tx.add(store.episodes, data)


def update_episode(db: Storage, episode_id: str, data: EpisodeUpdate, *, expected_version: int | None = None) -> Episode:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("stories") as tx:
        old = tx.get(store.episodes, episode_id)
        _check_episode(tx, {**old.model_dump(), **changes}, episode_id=episode_id)
        moved = "status" in changes and changes["status"] != old.status
        return tx.update(store.episodes, old, changes, expected_version=expected_version, audit="transition" if moved else "update")

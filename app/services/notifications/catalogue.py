"""The catalogue of notification kinds: every kind is declared once, here or in its service's module,
with its Chinese title and body templates and the parameters they take; call sites say

    notify(session, EVENT_PROMOTED, user_id, event=ev.title, starts_at=ev.starts_at)

and a parameter the kind does not declare, or a missing one, raises ``CatalogueError`` (a test runs
every kind, so the mistake fails in tests, not in production). Parameters are rendered for people:
datetimes in Shanghai time ("12月01日 09:30"), everything else with ``str``. The rendered title and
body go to the inbox; the parameters are kept with the notification (``params``) so that delivery can
fill the kind's WeChat template keywords from them.

``wechat`` names the template family the kind is sent with (its template id is a setting:
``YOUTH_WECHAT_TEMPLATES``), and ``keywords`` maps each of the template's keyword fields to the
parameter (or the rendered ``title``/``body``) it is filled from; ``reminder`` marks kinds a person
may mute (decisions about them cannot be muted).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.time import display
from models.base import utcnow
from models.notifications import Notification


class CatalogueError(Exception):
    """A kind used with parameters it does not declare (a programming error)."""


@dataclass(frozen=True)
class Kind:
    key: str  # stable, e.g. "event.promoted"; at most 48 characters
    title: str  # str.format templates over the parameters
    body: str
    params: frozenset[str]
    wechat: str | None = None  # template family (settings map it to a template id)
    keywords: dict[str, str] = field(default_factory=dict)  # keyword field -> parameter, "title" or "body"
    reminder: bool = False

    def render(self, params: dict[str, Any]) -> tuple[str, str]:
        shown = {k: _shown(v) for k, v in params.items()}
        return self.title.format(**shown), self.body.format(**shown)


KINDS: dict[str, Kind] = {}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def define(key: str, *, title: str, body: str, params: tuple[str, ...] = (), wechat: str | None = None,
           keywords: dict[str, str] | None = None, reminder: bool = False) -> Kind:
    """Declare a kind (once, at import). Every field its templates use must be a declared parameter."""
    if key in KINDS:
        raise CatalogueError(f"notification kind {key} declared twice")
    if len(key) > 48:
        raise CatalogueError(f"notification kind {key}: key longer than 48 characters")
    declared = frozenset(params)
    used = _fields(title) | _fields(body)
    if used - declared:
        raise CatalogueError(f"{key}: templates use undeclared parameters {sorted(used - declared)}")
    for kw, source in (keywords or {}).items():
        if source not in declared | {"title", "body"}:
            raise CatalogueError(f"{key}: keyword {kw} filled from unknown parameter {source}")
    KINDS[key] = kind = Kind(key, title, body, declared, wechat, dict(keywords or {}), reminder)
    return kind


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return display(value)
    if isinstance(value, date):
        return f"{value.month}月{value.day}日"
    return "" if value is None else str(value)


def _stored(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def notify(session: AsyncSession, kind: Kind, user_id: int, *, data: dict[str, Any] | None = None,
           **params: Any) -> Notification:
    """Write a notification of ``kind`` in the caller's transaction, so it exists exactly when the
    change does. ``data`` is for the mini-program (ids to open the right page); ``params`` fill the
    templates and must be exactly the kind's declared parameters."""
    given = set(params)
    if given != kind.params:
        missing, extra = sorted(kind.params - given), sorted(given - kind.params)
        raise CatalogueError(f"{kind.key}: missing parameters {missing}, undeclared parameters {extra}")
    title, body = kind.render(params)
    note = Notification(user_id=user_id, kind=kind.key, title=title[:100], body=body[:500],
                        data={**(data or {}), "params": {k: _stored(v) for k, v in params.items()}},
                        next_attempt_at=utcnow())
    session.add(note)
    return note


def notify_many(session: AsyncSession, kind: Kind, user_ids: list[int], *, data: dict[str, Any] | None = None,
                **params: Any) -> None:
    for uid in user_ids:
        notify(session, kind, uid, data=data, **params)

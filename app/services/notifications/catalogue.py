"""The catalogue of notification kinds: every kind is declared once, here or in its service's module,
with its Chinese title and body templates and the parameters they take; call sites say

    notify(session, EVENT_PROMOTED, user_id, event=ev.title, starts_at=ev.starts_at)

and a parameter the kind does not declare, or a missing one, raises ``CatalogueError`` (a test runs
every kind, so the mistake fails in tests, not in production). Parameters are rendered for people:
datetimes in Shanghai time ("12月01日 09:30"), everything else with ``str``. The rendered title and
body go to the inbox; the parameters are kept with the notification (``params``) so that delivery can
fill the kind's WeChat template keywords from them.

``wechat`` names the subscribe-message template the kind is sent with (declared below with
``template``: the keyword fields picked for it in the mini-program's console; its template id is a
setting, ``YOUTH_WECHAT_TEMPLATES``, because ids differ per mini-program), and ``keywords`` maps each
of the template's fields — all of them, no more — to what fills it: a parameter, the rendered
``title`` or ``body``, ``sent_at`` (the notification's time), or ``=text``: fixed text, itself a template over the
parameters (the status word ``"=已通过"``, ``"=候补第{position}位"``). Delivery shapes every value to its keyword type's rule
(app.wechat.keywords), so WeChat never refuses a send (47003) because of our data. A kind without
``wechat`` stays in the inbox. ``reminder`` marks kinds a person may mute (decisions about them
cannot be muted).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.time import display
from app.wechat import keywords as kw
from models.base import utcnow
from models.notifications import Notification


class CatalogueError(Exception):
    """A kind used with parameters it does not declare (a programming error)."""


@dataclass(frozen=True)
class Template:
    """A subscribe-message template as configured for the mini-program: its keyword fields, each a
    WeChat keyword type and a number (``thing1``, ``time2``)."""

    name: str  # the key in YOUTH_WECHAT_TEMPLATES
    fields: dict[str, str]  # field -> its label in WeChat's template library (documentation)
    title: str


TEMPLATES: dict[str, Template] = {}
SPECIAL_SOURCES = frozenset({"title", "body", "sent_at"})


def template(name: str, title: str, **fields: str) -> Template:
    if name in TEMPLATES:
        raise CatalogueError(f"WeChat template {name} declared twice")
    for f in fields:
        kw.type_of(f)
    TEMPLATES[name] = t = Template(name, dict(fields), title)
    return t


# The templates the mini-program picks from WeChat's public library; a kind fills every field of its
# template. The events service's kinds use "event"; the openings service adds its own here.
template("account", "审核结果通知", thing1="事项", thing2="说明", time3="时间")
template("housing", "申请进度通知", thing1="项目名称", phrase2="申请状态", thing3="说明", time4="时间")
template("event", "活动报名通知", thing1="活动名称", time2="活动时间", phrase3="报名状态", thing4="备注")
template("counselling", "预约状态通知", thing1="预约事项", time2="预约时间", thing3="说明")
template("volunteer", "志愿服务通知", thing1="项目名称", time2="服务时间", thing3="说明")
template("volunteer_hours", "服务时长通知", thing1="项目名称", number2="服务时长(小时)", thing3="说明")
template("volunteer_certificate", "证明状态通知", character_string1="证明编号", thing2="原因")
template("volunteer_record", "记录待办通知", thing1="项目名称", date2="服务日期", thing3="说明")
template("opening", "应聘进度通知", thing1="岗位名称", phrase2="应聘状态", thing3="说明", time4="时间")
template("reminder", "日程提醒", thing1="事项", time2="开始时间", thing3="提示")


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

    def fill(self, params: dict[str, Any], *, title: str, body: str, sent_at: datetime) -> dict[str, str]:
        """The template's keyword values for a notification of this kind (``params`` as stored),
        each shaped to its type's rule."""
        out = {}
        for field_name, source in self.keywords.items():
            if source.startswith("="):
                raw: Any = source[1:].format(**{k: _shown(v) for k, v in params.items()})
            elif source == "title":
                raw = title
            elif source == "body":
                raw = body
            elif source == "sent_at":
                raw = sent_at
            else:
                raw = params.get(source)
            out[field_name] = kw.shape(field_name, raw, fallback_at=sent_at)
        return out


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
    for field_name, source in (keywords or {}).items():
        if source.startswith("="):
            if _fields(source[1:]) - declared:
                raise CatalogueError(f"{key}: keyword {field_name} uses undeclared parameters")
        elif source not in declared | SPECIAL_SOURCES:
            raise CatalogueError(f"{key}: keyword {field_name} filled from unknown parameter {source}")
    if wechat is not None:
        t = TEMPLATES.get(wechat)
        if t is None:
            raise CatalogueError(f"{key}: unknown WeChat template {wechat}")
        if set(keywords or {}) != set(t.fields):
            raise CatalogueError(f"{key}: keywords {sorted(keywords or {})} must be the fields of template "
                                 f"{wechat}: {sorted(t.fields)}")
    elif keywords:
        raise CatalogueError(f"{key}: keywords without a WeChat template")
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

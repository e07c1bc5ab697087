"""My timeline: one list of everything a person applied for, booked or signed up to, across services.

Each service contributes a ``Source`` (``register`` at import, in its own ``timeline.py``, imported
by its package), made of two functions:

- ``items(user_id, now)``: a SELECT of the person's items with three labelled columns — ``item_id``,
  ``activity_at`` (the item's latest change, a UTC datetime, never NULL) and ``needs_action`` (1 or
  0: an offer to answer, a check-in to make). The sources' SELECTs are one ``UNION ALL`` with one
  keyset order (activity, service, id), so a page is one statement whatever the services.
- ``load(session, ids, now)``: the ``TimelineItem`` of each id on the page, in a fixed number of
  statements (the rows with their titles, and their history in one ``IN`` query): never one per item.

A page therefore costs one statement plus a few per service on it, flat as a person's history grows
(``bench/``: a person with 1,000 items). Reads compute due states (an offer past its answer-by time
shows as lapsed) and never write.

To add a service: write ``app/services/<service>/timeline.py`` with its two functions and
``register("<service>", items=..., load=...)``, and import it from the service's ``__init__``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal, select, type_coerce, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit.pagination import Key, Page, keyset
from app.schemas.timeline import TimelineItem
from models.base import UTCDateTime

Items = Callable[[int, datetime], Select[Any]]
Load = Callable[[AsyncSession, list[int], datetime], Awaitable[dict[int, TimelineItem]]]


@dataclass(frozen=True)
class Source:
    service: str
    items: Items
    load: Load


SOURCES: dict[str, Source] = {}


def register(service: str, *, items: Items, load: Load) -> Source:
    if service in SOURCES:
        raise RuntimeError(f"timeline source {service} registered twice")
    SOURCES[service] = s = Source(service, items, load)
    return s


async def timeline(session: AsyncSession, *, actor: Principal, service: str | None, needs_action: bool,
                   cursor: str | None, limit: int) -> Page[TimelineItem]:
    now = clock.now()
    if service is not None and service not in SOURCES:
        raise errors.ValidationFailed(fields={"service": f"应为 {'、'.join(sorted(SOURCES))} 之一"})
    chosen = [SOURCES[service]] if service else [SOURCES[k] for k in sorted(SOURCES)]
    parts = []
    for src in chosen:
        sub = src.items(actor.user_id, now).subquery()
        parts.append(select(literal(src.service).label("service"), sub.c.item_id.label("item_id"),
                            type_coerce(sub.c.activity_at, UTCDateTime).label("activity_at"),
                            sub.c.needs_action.label("needs_action")))
    t = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("timeline")
    stmt = select(t.c.service, t.c.item_id)
    if needs_action:
        stmt = stmt.where(t.c.needs_action == 1)
    order = [Key("at", type_coerce(t.c.activity_at, UTCDateTime), datetime, desc=True),
             Key("service", t.c.service, str, desc=True), Key("id", t.c.item_id, int, desc=True)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit,
                        tag=f"timeline:{service or ''}:{int(needs_action)}")
    wanted: dict[str, list[int]] = {}
    for row in page.rows:
        wanted.setdefault(row.service, []).append(row.item_id)
    loaded = {name: await SOURCES[name].load(session, ids, now) for name, ids in wanted.items()}
    return Page(items=[loaded[r.service][r.item_id] for r in page.rows], next_cursor=page.next_cursor)

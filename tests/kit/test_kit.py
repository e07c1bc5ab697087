"""The platform kit on the real test database (SQLite or PostgreSQL): keyset pages, capacity counters,
CSV cells, Shanghai time and working days, the sweeper, the posting registry."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app import errors
from app.config import get_settings
from app.db import get_engine, session_scope
from app.kit import capacity, postings, sweeper
from app.kit import csv as kit_csv
from app.kit import time as ktime
from app.kit.pagination import Key, decode_cursor, encode_cursor, keyset

# --- a scratch table per test module ------------------------------------------------------------------

meta = sa.MetaData()
things = sa.Table(
    f"kit_things_{uuid.uuid4().hex[:6]}", meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("name", sa.String(20), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("taken", sa.Integer, nullable=False, default=0),
    sa.Column("capacity", sa.Integer, nullable=False, default=0),
)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def table():
    async with get_engine().begin() as conn:
        await conn.run_sync(meta.create_all)
        rows = [{"id": i, "score": i % 4, "name": f"n{i % 3}", "at": T0 + timedelta(minutes=i // 2),
                 "taken": 0, "capacity": 3} for i in range(1, 38)]
        await conn.execute(things.insert(), rows)
    yield things
    async with get_engine().begin() as conn:
        await conn.run_sync(meta.drop_all)


async def all_pages(order, limit, **kw):
    seen, cursor, pages = [], None, 0
    while True:
        async with session_scope() as s:
            page = await keyset(s, select(things.c.id, things.c.score, things.c.name, things.c.at), order,
                                cursor=cursor, limit=limit, **kw)
        seen += page.rows
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 5, 36, 37, 100])
async def test_keyset_visits_every_row_once_in_order_with_mixed_directions(table, limit):
    order = [Key("s", things.c.score, desc=True), Key("n", things.c.name, str), Key("i", things.c.id)]
    rows, pages = await all_pages(order, limit)
    assert [r.id for r in rows] == [r[0] for r in sorted(((r.id, r.score, r.name) for r in rows),
                                                         key=lambda t: (-t[1], t[2], t[0]))]
    assert sorted(r.id for r in rows) == list(range(1, 38))
    assert pages == -(-37 // limit)  # no empty last page


async def test_keyset_datetime_keys_page_through_ties(table):
    order = [Key("t", things.c.at, datetime, desc=True), Key("i", things.c.id, desc=True)]
    rows, _ = await all_pages(order, 4)
    assert [r.id for r in rows] == sorted(range(1, 38), key=lambda i: (-(i // 2), -i))


async def test_keyset_accept_fills_the_page_from_further_batches(table):
    order = [Key("i", things.c.id)]
    rows, _ = await all_pages(order, 3, accept=lambda r: r.id % 5 == 0)
    assert [r.id for r in rows] == [5, 10, 15, 20, 25, 30, 35]


def test_cursor_refuses_other_orders_tags_types_and_garbage():
    order = [Key("t", things.c.at, datetime), Key("i", things.c.id)]
    good = encode_cursor(order, [T0, 7], tag="a")
    assert decode_cursor(order, good, tag="a") == [T0, 7]
    bad = [
        good + "x", "not base64!", encode_cursor(order, [T0, 7], tag="b"),
        encode_cursor([Key("t", things.c.at, datetime), Key("i", things.c.id, desc=True)], [T0, 7], tag="a"),
    ]
    for cursor in bad:
        with pytest.raises(errors.AppError) as e:
            decode_cursor(order, cursor, tag="a")
        assert e.value.code == "INVALID_CURSOR"
    import base64
    import json

    def raw(values):
        payload = json.dumps({"o": "a:t+,i+", "v": values}).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=")

    for values in (["2026-12-01T08:00:00", 1], [T0.isoformat(), "1"], [T0.isoformat(), True],
                   [T0.isoformat(), 2**70], [1, 1], [T0.isoformat()], [T0.isoformat(), 1.5]):
        with pytest.raises(errors.AppError):
            decode_cursor(order, raw(values), tag="a")


async def test_capacity_counter_never_exceeds_and_never_goes_negative(table):
    counter = capacity.Counter(things)
    async with session_scope() as s:
        assert await counter.take(s, 1, 2) == 2
        assert await counter.take(s, 1, 2) is None  # 2 + 2 > 3
        assert await counter.take(s, 1) == 3
        assert await counter.take(s, 1) is None
        assert await counter.release(s, 1, 3) == 0
        assert await counter.release(s, 1) is None


@pytest.mark.postgres
async def test_capacity_counter_under_concurrent_takers(table):
    counter = capacity.Counter(things)

    async def one() -> bool:
        async with session_scope() as s:
            got = await counter.take(s, 2)
            await asyncio.sleep(0.01)
            return got is not None

    results = await asyncio.gather(*(one() for _ in range(30)))
    assert sum(results) == 3
    async with session_scope() as s:
        assert (await s.execute(select(things.c.taken).where(things.c.id == 2))).scalar_one() == 3


async def test_csv_export_has_bom_header_and_guards_formulas():
    export = kit_csv.CsvExport("申请-1.csv", ["姓名", "说明", "时间", "是否"],
                               [["张三", "=HYPERLINK(\"x\")", T0, True], ["李四", "-1+2", None, False]])
    body = b"".join([chunk async for chunk in kit_csv.encode(export)])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["姓名", "说明", "时间", "是否"], ["张三", "'=HYPERLINK(\"x\")", "2026-12-01 16:00", "是"],
                    ["李四", "'-1+2", "", "否"]]
    resp = kit_csv.response(export)
    assert "filename*=UTF-8''%E7%94%B3%E8%AF%B7-1.csv" in resp.headers["content-disposition"]
    # The same header serves other downloads (certificate PDFs): an ASCII fallback without quotes.
    assert kit_csv.attachment('证明"1".pdf') == \
        'attachment; filename="___1_.pdf"; filename*=UTF-8\'\'%E8%AF%81%E6%98%8E%221%22.pdf'


async def test_csv_batched_reads_every_row_in_short_sessions(table):
    rows = [r async for r in kit_csv.batched(select(things.c.id), Key("i", things.c.id), lambda r: [r.id], size=5)]
    assert rows == [[i] for i in range(1, 38)]


def test_shanghai_days_and_display():
    late = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 December in Shanghai
    assert ktime.local_day(late) == date(2026, 12, 2)
    assert ktime.display(late) == "12月02日 01:30"
    assert ktime.day_start(date(2026, 12, 2)) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert ktime.day_span(date(2026, 12, 2), date(2026, 12, 2)) == (
        datetime(2026, 12, 1, 16, tzinfo=UTC), datetime(2026, 12, 2, 16, tzinfo=UTC))
    with pytest.raises(ValueError):
        ktime.local(datetime(2026, 1, 1))


def test_working_days_skip_weekends_and_configured_holidays(monkeypatch):
    s = get_settings()
    monkeypatch.setattr(s, "holidays", [date(2026, 12, 3)])
    monkeypatch.setattr(s, "extra_workdays", [date(2026, 12, 6)])  # a Sunday made a working day
    tue = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
    # Wed 2, (Thu 3 holiday), Fri 4, (Sat 5), Sun 6 (make-up day), Mon 7
    assert ktime.add_working_days(tue, 4) == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert ktime.working_days_between(tue, datetime(2026, 12, 7, 2, 0, tzinfo=UTC)) == 4
    assert ktime.working_days_between(tue, tue) == 0


async def test_sweeper_runs_each_item_once_records_state_and_survives_a_failing_job(monkeypatch):
    handled: list[int] = []
    backlog = list(range(7))

    async def drain(session, now):
        batch, backlog[:] = backlog[:3], backlog[3:]
        handled.extend(batch)
        return len(batch)

    async def broken(session, now):
        raise RuntimeError("boom")

    monkeypatch.setattr(sweeper, "JOBS", {})
    sweeper.job("test.drain", every=60, batch=3)(drain)
    sweeper.job("test.broken", every=60)(broken)
    with pytest.raises(sweeper.SweepFailed) as e:
        await sweeper.sweep()
    assert e.value.job == "test.broken"
    assert handled == list(range(7))  # three rounds: 3 + 3 + 1, the broken job did not stop it
    from models.platform import SweepState

    async with session_scope() as s:
        state = {r.job: r for r in (await s.execute(select(SweepState).where(
            SweepState.job.in_(["test.drain", "test.broken"])))).scalars()}
    assert state["test.drain"].last_count == 7 and state["test.drain"].last_error is None
    assert state["test.broken"].last_ok_at is None and "boom" in state["test.broken"].last_error
    assert await sweeper.run_job(sweeper.JOBS["test.drain"]) == 0


@pytest.mark.postgres
async def test_a_second_sweeper_skips_a_job_that_is_running(monkeypatch):
    started, release = asyncio.Event(), asyncio.Event()
    runs = 0

    async def slow(session, now):
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return 1

    monkeypatch.setattr(sweeper, "JOBS", {})
    sweeper.job("test.slow", every=60)(slow)
    first = asyncio.create_task(sweeper.run_job(sweeper.JOBS["test.slow"]))
    await started.wait()
    assert await sweeper.run_job(sweeper.JOBS["test.slow"]) == 0
    release.set()
    assert await first == 1 and runs == 1


def test_posting_registry_has_one_visibility_rule_in_sql_and_python(app):
    from types import SimpleNamespace

    assert set(postings.REGISTRY) >= {"housing_project", "event", "counsellor"}
    for kind in postings.REGISTRY.values():
        for status in postings.PostingStatus:
            for published_at in (None, T0):
                for hidden in (False, True):
                    p = SimpleNamespace(status=status, published_at=published_at, hidden_by_reports=hidden)
                    expected = not hidden and (status == "published" or (
                        kind.shown_after_close and status == "closed" and published_at is not None))
                    assert kind.is_visible(p) is expected
                    assert kind.is_listed(p) is (status == "published" and not hidden)


async def test_posting_visibility_in_sql_matches_python(factory, client):
    """The SQL rule and the Python rule agree on real rows of every registered kind."""
    for kind in postings.REGISTRY.values():
        async with session_scope() as s:
            rows = (await s.execute(select(kind.model).limit(200))).scalars().all()
            ids = {r.id for r in rows}
            if not ids:
                continue
            shown = set((await s.execute(select(kind.model.id).where(kind.model.id.in_(ids), kind.visible())))
                        .scalars())
            listed = set((await s.execute(select(kind.model.id).where(kind.model.id.in_(ids), kind.listed())))
                         .scalars())
        assert shown == {r.id for r in rows if kind.is_visible(r)}
        assert listed == {r.id for r in rows if kind.is_listed(r)}


def test_rate_limit_rules_come_from_one_setting(monkeypatch):
    from app.kit.ratelimit import BUCKETS, Rule

    b = BUCKETS["event_signup"]
    assert b.rule() == b.default
    monkeypatch.setattr(get_settings(), "rate_limits", {"event_signup": "3/10"})
    assert b.rule() == Rule(3, 10)
    with pytest.raises(ValueError):
        Rule.parse("0/60")


async def test_union_of_every_kind_is_one_statement_with_the_shared_columns():
    async with session_scope() as s:
        sub = postings.union(list(postings.REGISTRY.values()), lambda m: [m.id < 0])
        assert (await s.execute(select(func.count()).select_from(sub))).scalar_one() == 0
        assert {"kind", "title", *postings.UNION_COLUMNS} == set(sub.c.keys())


async def test_greatest_is_the_largest_on_both_databases_and_keeps_utc_datetimes():
    from app.kit.dialect import greatest
    from models.base import UTCDateTime

    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    a, b = sa.bindparam("a", early, type_=UTCDateTime()), sa.bindparam("b", late, type_=UTCDateTime())
    async with session_scope() as s:
        assert (await s.execute(select(greatest(a, b)))).scalar_one() == late
        assert (await s.execute(select(greatest(b, a)))).scalar_one() == late
        assert (await s.execute(select(greatest(sa.literal(3), sa.literal(7), sa.literal(5))))).scalar_one() == 7


def test_recent_keeps_values_for_their_seconds_and_at_most_so_many(monkeypatch):
    from app.kit import cache

    at = [0.0]
    monkeypatch.setattr(cache, "_now", lambda: at[0])
    seconds = [2.0]
    recent: cache.Recent[str, int] = cache.Recent(lambda: seconds[0], max_entries=2)
    recent.put("a", 1)
    at[0] = 1.9
    assert recent.get("a") == 1 and recent.get("b") is None
    at[0] = 2.0
    assert recent.get("a") is None
    recent.put("a", 1)
    recent.put("b", 2)
    recent.put("c", 3)  # full: the oldest goes
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (None, 2, 3)
    at[0] = 10.0
    recent.put("d", 4)  # the expired go first
    assert recent.get("d") == 4 and recent.get("b") is None
    seconds[0] = 0  # off: nothing is kept
    recent.put("e", 5)
    assert recent.get("e") is None

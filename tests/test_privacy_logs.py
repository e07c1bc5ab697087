"""'Never log them': ID numbers, phone numbers, counselling intake and notes stay out of every log record,
even with the root logger at DEBUG and SQLAlchemy's statement logging switched on the way an operator
chasing a production problem might; and no answer of the API carries an ID or phone number unmasked."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, text

from app.context import _JsonFormatter
from app.db import get_engine, make_engine
from app.main import RequestContextMiddleware, install_error_handlers
from models.base import Encrypted
from tests.api.test_counselling import (
    CENTRE,
    YOUTH,
    add_slot,
    book,
    centre_with_counsellor,
    now,
    past_booking,
)
from tests.api.test_housing import apply
from tests.conftest import Factory, adult_birth, make_id_number
from tests.factories import bulk_youth
from tests.factories import published as published_posting

API = "/api/v1"
# What an operator turns up while debugging; every other logger without a level of its own follows the root.
OPERATOR_DEBUG = ("", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm", "uvicorn",
                  "uvicorn.error", "uvicorn.access", "youth")
HIDDEN = "SQL parameters hidden due to hide_parameters=True"


@dataclass(frozen=True)
class Seen:
    logger: str
    level: str
    message: str
    everything: str  # the record as each formatter prints it, plus its raw msg, args and attributes


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[Seen] = []
        self._text = logging.Formatter("%(name)s %(levelname)s %(message)s")
        self._json = _JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        # Rendered now, as a log handler would: the arguments may be changed after the call.
        message = record.getMessage()
        parts = [self._text.format(record), self._json.format(record), repr(record.msg), repr(record.args),
                 repr(vars(record))]
        self.seen.append(Seen(record.name, record.levelname, message, "\n".join(parts)))

    def leaks(self, secrets: dict[str, str]) -> list[tuple[str, str, str, str]]:
        return [(label, s.logger, s.level, s.message[:300])
                for s in self.seen for label, value in secrets.items() if value in s.everything]


@pytest.fixture
def every_log_record() -> Iterator[_Capture]:
    """Every record that reaches the root or any logger that does not propagate, with the root and
    OPERATOR_DEBUG at DEBUG. Loggers the app quietened on purpose (httpx, aiosqlite) keep their levels,
    as they would in production. Levels and handlers are put back afterwards."""
    capture = _Capture()
    for name in OPERATOR_DEBUG:
        logging.getLogger(name)
    loggers = [logging.getLogger(), *(lg for lg in logging.root.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    saved = [(lg, lg.level, lg.handlers[:]) for lg in loggers]
    for lg in loggers:
        if lg is logging.getLogger() or not lg.propagate:
            lg.addHandler(capture)
    for name in OPERATOR_DEBUG:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for lg, level, handlers in saved:
            lg.setLevel(level)
            lg.handlers = handlers


class _Watched(httpx.AsyncClient):
    """A client that keeps every answer (status, headers and body) for inspection."""

    def __init__(self, **kw: Any) -> None:
        self.answers: list[tuple[str, str]] = []
        super().__init__(event_hooks={"response": [self._keep]}, **kw)

    async def _keep(self, response: httpx.Response) -> None:
        await response.aread()
        self.answers.append((f"{response.request.method} {response.request.url.path}",
                             f"{response.status_code}\n{response.headers}\n{response.text}"))


@pytest.fixture
async def watched(app: Any) -> Any:
    transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 50000))
    async with _Watched(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


def phone_number() -> str:
    return f"1{random.choice('3456789')}{random.randrange(10**9):09d}"


def identity(id_number: str) -> dict[str, Any]:
    return {"real_name": "隐私测试青年", "id_number": id_number}


def profile() -> dict[str, Any]:
    return {"nickname": "隐私测试", "district": "五华区", "education": "bachelor",
            "graduation_year": date.today().year - 1, "employment_status": "employed", "marital_status": "single",
            "owns_home_in_kunming": False, "works_in_kunming": True}


async def test_a_journey_through_the_sensitive_endpoints_logs_none_of_it(watched, every_log_record):
    client, factory = watched, Factory(watched)
    id_number = make_id_number(adult_birth(24) - timedelta(days=random.randrange(200)), "female",
                               area=random.choice(("530102", "530103", "530111", "530112", "530114")))
    refused = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    phone = phone_number()
    intake = f"和父母的关系让我很痛苦-{uuid.uuid4().hex[:10]}"
    note = f"来访者提到睡眠问题，两周后复诊-{uuid.uuid4().hex[:10]}"
    follow_up = f"已电话回访，来访者同意提前见面-{uuid.uuid4().hex[:10]}"

    # The ID number: refused (wrong check character), accepted, then a claim for a second account.
    person = await factory.youth()
    r = await client.put(f"{API}/me/identity", json=identity(refused), headers=person.headers)
    assert r.status_code == 422 and "id_number" in r.json()["fields"]
    r = await client.put(f"{API}/me/identity", json=identity(id_number), headers=person.headers)
    assert r.status_code == 200, r.text
    assert r.json()["me"]["id_number_masked"] == id_number[:4] + "*" * 10 + id_number[-4:]
    assert (await client.patch(f"{API}/me", json=profile(), headers=person.headers)).status_code == 200
    other = await factory.youth()
    r = await client.put(f"{API}/me/identity", json=identity(id_number), headers=other.headers)
    assert r.status_code == 200 and r.json()["claim"]["status"] == "pending"
    staff = await factory.staff()
    assert (await client.get(f"{API}/staff/identity-claims", headers=staff.headers)).status_code == 200

    # The phone number, through WeChat (the stand-in reads the number out of the code).
    r = await client.post(f"{API}/me/phone", json={"code": f"phone:{phone}:{uuid.uuid4().hex[:8]}"},
                          headers=person.headers)
    assert r.status_code == 200, r.text
    assert r.json()["phone_masked"] == phone[:3] + "****" + phone[-4:]
    assert (await client.get(f"{API}/me", headers=person.headers)).status_code == 200

    # Counselling: a booking whose intake carries the risk answer, read by the centre and by the person.
    centre, counsellor = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, counsellor, now() + timedelta(days=1))
    r = await book(client, person, slot, risk=True, description=intake)
    assert r.status_code == 201, r.text
    assert r.json()["crisis_resources"]
    booking = r.json()["id"]
    r = await client.get(f"{CENTRE}/bookings/{booking}", headers=centre.headers)
    assert r.status_code == 200 and r.json()["intake"]["description"] == intake
    assert r.json()["intake"]["self_harm_thoughts"] is True
    r = await client.get(f"{YOUTH}/bookings/{booking}", headers=person.headers)
    assert r.status_code == 200 and r.json()["intake"]["description"] == intake
    r = await client.post(f"{CENTRE}/bookings/{booking}/risk-followups",
                          json={"action": "called_back", "note": follow_up}, headers=centre.headers)
    assert r.status_code == 201, r.text
    r = await client.get(f"{CENTRE}/bookings/{booking}", headers=centre.headers)
    assert r.status_code == 200 and r.json()["risk"]["followups"][0]["note"] == follow_up

    # The counsellor's note on a session that has taken place.
    held = await past_booking(centre, counsellor, person)
    r = await client.put(f"{CENTRE}/bookings/{held}/notes", json={"body": note}, headers=centre.headers)
    assert r.status_code == 200, r.text
    r = await client.get(f"{CENTRE}/bookings/{held}/notes", headers=centre.headers)
    assert r.status_code == 200 and r.json()["body"] == note

    # Housing: the operator's applicant list and CSV export show the numbers masked.
    operator, project = await factory.published("housing_project")
    r = await apply(client, project, person)
    assert r.status_code == 201, r.text
    applications = f"{API}/provider/housing/projects/{project['id']}/applications"
    r = await client.get(applications, headers=operator.headers)
    assert r.status_code == 200
    r = await client.get(f"{applications}.csv", headers=operator.headers)
    assert r.status_code == 200
    csv = r.content.decode("utf-8-sig")
    assert phone[:3] + "****" + phone[-4:] in csv and id_number[:4] + "*" * 10 + id_number[-4:] in csv

    # Volunteering: a 16-year-old's guardian's phone, seen masked by the organiser and in its CSV.
    guardian_phone = phone_number()
    (minor,) = await bulk_youth(1, birth_date=date(date.today().year - 16, 1, 1))
    organiser, posting = await published_posting(client, "volunteer_project")
    shift = posting["shifts"][0]["id"]
    r = await client.post(f"{API}/volunteer/shifts/{shift}/signups", headers=minor.headers, json={
        "guardian": {"name": "隐私测试家长", "phone": guardian_phone, "consent": True}})
    assert r.status_code == 201, r.text
    for path in ("signups", "signups.csv"):
        r = await client.get(f"{API}/provider/volunteer/shifts/{shift}/{path}", headers=organiser.headers)
        assert r.status_code == 200 and guardian_phone[:3] + "****" + guardian_phone[-4:] in r.content.decode("utf-8-sig")

    # Openings: the résumé's contact, hidden from the employer until it invites the person to an interview,
    # then in full on that application's own page only (masked in its list and CSV).
    resume_phone, resume_email = phone_number(), f"hr{uuid.uuid4().hex[:8]}@example.cn"
    r = await client.put(f"{API}/me/opening-resume", headers=person.headers, json={
        "school": "云南大学", "major": "统计学", "education": "bachelor", "graduation_year": date.today().year - 1,
        "phone": resume_phone, "email": resume_email})
    assert r.status_code == 200, r.text
    employer, opening = await published_posting(client, "opening", majors=[], max_age=35)
    r = await client.post(f"{API}/openings/{opening['id']}/applications", json={}, headers=person.headers)
    assert r.status_code == 201, r.text
    application = r.json()["id"]
    listing = f"{API}/provider/openings/{opening['id']}/applications"
    before = len(client.answers)
    for url in (listing, f"{listing}.csv", f"{API}/provider/opening-applications/{application}"):
        assert (await client.get(url, headers=employer.headers)).status_code == 200
    r = await client.post(f"{API}/provider/opening-applications/{application}/interview", headers=employer.headers,
                          json={"at": (now() + timedelta(days=2)).isoformat(), "place": "呈贡区春融街1号"})
    assert r.status_code == 200 and r.json()["phone"] == resume_phone
    r = await client.get(f"{listing}.csv", headers=employer.headers)
    assert resume_phone[:3] + "****" + resume_phone[-4:] in r.content.decode("utf-8-sig")
    assert resume_phone not in r.content.decode("utf-8-sig")
    contact_pages = {f"POST {API}/provider/opening-applications/{application}/interview"}
    assert not [w for w, a in client.answers[before:-2] if resume_phone in a or resume_email in a]

    secrets = {"id_number": id_number, "refused_id_number": refused, "phone": phone, "intake": intake,
               "note": note, "follow_up": follow_up, "guardian_phone": guardian_phone, "resume_phone": resume_phone,
               "resume_email": resume_email}
    leaks = every_log_record.leaks(secrets)
    assert not leaks, "\n".join(map(str, leaks))
    for label in ("id_number", "refused_id_number", "phone", "guardian_phone"):
        echoed = [where for where, answer in client.answers if secrets[label] in answer]
        assert echoed == [], (label, echoed)
    for label in ("resume_phone", "resume_email"):
        echoed = {where for where, answer in client.answers if secrets[label] in answer}
        assert echoed <= contact_pages, (label, echoed)
    # The check above looked at something: SQLAlchemy did log the statements, without their parameters.
    engine_lines = [s for s in every_log_record.seen if s.logger.startswith("sqlalchemy.engine")]
    assert engine_lines and any(HIDDEN in s.message for s in engine_lines)


def _uvicorn_like(app: FastAPI) -> Any:
    """What uvicorn does with an exception that comes out of the application after the 500 went out."""

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)

    return serve


async def test_database_errors_log_the_statement_without_its_parameters(app, every_log_record):
    id_number = make_id_number(adult_birth(30), "male")
    phone = phone_number()
    note = f"咨询记录-{uuid.uuid4().hex[:10]}"
    params = {"phone": phone, "id_number": id_number, "note": note}
    bare = FastAPI()
    install_error_handlers(bare)
    bare.add_middleware(RequestContextMiddleware, max_body=4096)

    @bare.get("/database-error")
    async def database_error() -> None:
        # A statement the database refuses with a programming error, carrying the values as parameters.
        async with get_engine().connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT no_such_column FROM users WHERE phone_masked = :phone "
                                        "OR id_number_masked = :id_number OR nickname = :note"), params)
            else:
                await conn.exec_driver_sql("SELECT ?", (phone, id_number, note))

    @bare.get("/unhandled-error")
    async def unhandled_error() -> None:
        # A value the column type cannot take fails before the database sees it (a StatementError).
        phone_column = bindparam("phone", type_=Encrypted("users.phone"))
        stmt = text("SELECT :phone, :id_number, :note").bindparams(phone_column)
        async with get_engine().connect() as conn:
            await conn.execute(stmt, {**params, "phone": int(phone)})

    transport = httpx.ASGITransport(app=_uvicorn_like(bare), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        answers = [await c.get("/database-error"), await c.get("/unhandled-error")]
    assert [a.status_code for a in answers] == [500, 500]
    assert all(a.json()["code"] == "INTERNAL_ERROR" for a in answers)
    for a in answers:
        assert not any(v in a.text for v in params.values())

    seen = every_log_record.seen
    logged = {s.message.splitlines()[0] for s in seen if s.logger in ("youth", "uvicorn.error")}
    assert {"database error", "unhandled error", "Exception in ASGI application"} <= logged
    leaks = every_log_record.leaks(params)
    assert not leaks, "\n".join(map(str, leaks))
    # The error texts do name the statement; its parameters are what is hidden.
    for first_line in ("database error", "unhandled error"):
        record = next(s for s in seen if s.message == first_line)
        assert HIDDEN in record.everything and "SELECT" in record.everything


async def test_every_engine_hides_parameters(settings):
    from app.wechat.tokens import DbTokenStore

    for url in ("sqlite+aiosqlite:///:memory:", "postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"):
        engine = make_engine(settings, url)
        assert engine.sync_engine.hide_parameters, url
        await engine.dispose()
    assert get_engine().sync_engine.hide_parameters
    store = DbTokenStore(name=f"privacy-{uuid.uuid4().hex[:6]}", margin_seconds=60)
    await store._session().close()  # the store's own engine (NullPool) is made on first use
    try:
        assert store._own_engine is not None and store._own_engine.sync_engine.hide_parameters
    finally:
        await store.aclose()

"""One set of test factories for every service: people (with unique valid ID numbers), organisations
of each kind, staff, and "a published posting of kind K".

Two ways in, both with real access tokens:
- the way people arrive in production (``Factory``: WeChat login through the stand-in, provider
  sign-up and staff verification, the staff CLI's service, password logins) — for tests of those paths;
- straight into the database (``bulk_youth``, ``account``, ``organisation``) — for tests that need
  many people or organisations, where a password hash or a WeChat round trip per person would cost
  seconds.

``published(client, kind)`` creates a posting of a registered kind through its provider endpoint and
takes it through review; each service adds a builder to ``POSTINGS`` (its request body and create
endpoint) when it registers a posting kind.
"""

from __future__ import annotations

import itertools
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

API = "/api/v1"
_RUN = uuid.uuid4().hex[:8]
_seq = itertools.count(1)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{_RUN}{next(_seq)}"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- identity numbers -----------------------------------------------------------------------------------

# Sequence digits come from a counter that starts at a random point, spread over many Kunming area codes
# and birth-date shifts: a run makes thousands of ID numbers and none may repeat (the numbers are unique
# across accounts), also against a database kept from an earlier run.
_id_seq = itertools.count(random.randrange(10**6))
_AREAS = ("530102", "530103", "530111", "530112", "530113", "530114", "530115", "530124", "530125",
          "530126", "530127", "530128", "530129", "530181")


def make_id_number(birth: date, gender: str = "female", area: str | None = None) -> str:
    """A valid resident ID number of someone born on ``birth``, unique within the run."""
    from app.validators import id_check_char

    n = next(_id_seq)
    seq = (n % 500) * 2 + (1 if gender == "male" else 0)
    area = area or _AREAS[(n // 500) % len(_AREAS)]
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def make_credit_code() -> str:
    from app.validators import credit_code_check_char

    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "9153" + "".join(random.choice("0123456789") for _ in range(4)) + "".join(
        random.choice(chars) for _ in range(9))
    return first17 + credit_code_check_char(first17)


def adult_birth(age: int = 25) -> date:
    """A birth date of someone exactly ``age`` today (varied, so ID numbers rarely collide)."""
    today = date.today()
    try:
        last_birthday = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        last_birthday = today.replace(year=today.year - age, day=28)
    return last_birthday - timedelta(days=random.randrange(1, 300))


# --- actors ---------------------------------------------------------------------------------------------


@dataclass
class Actor:
    user_id: int
    role: str
    headers: dict[str, str]
    access_token: str
    refresh_token: str | None = None
    org_id: int | None = None
    username: str | None = None
    password: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


def _bearer(user_id: int, role: str, **extra: Any) -> Actor:
    from app.security import create_access_token

    token = create_access_token(user_id=user_id, role=role)[0]
    return Actor(user_id, role, {"Authorization": f"Bearer {token}"}, token, **extra)


def full_profile(name: str, *, age: int = 25, gender: str = "female") -> dict[str, Any]:
    """A complete real-name profile as ``PATCH /me`` takes it (adult, single, working in Kunming)."""
    return {
        "nickname": name[:32], "real_name": "测试青年", "id_number": make_id_number(adult_birth(age), gender),
        "district": "五华区", "education": "bachelor", "graduation_year": date.today().year - 1,
        "employment_status": "employed", "marital_status": "single", "owns_home_in_kunming": False,
        "works_in_kunming": True,
    }


async def bulk_youth(n: int, *, genders: list[str] | None = None, age: int = 25, **profile: Any) -> list[Actor]:
    """``n`` young people with complete real-name profiles, straight in the database (a lottery or a
    rush needs hundreds). ``genders`` gives each person's gender in turn (default all female)."""
    from app.db import session_scope
    from models.accounts import User

    genders = genders or ["female"] * n
    birth = date(date.today().year - age, 3, 15)
    async with session_scope() as session:
        users = []
        for i in range(n):
            data = dict(role="youth", nickname=f"y{i}", real_name=f"青年{i}", id_number_hash=uuid.uuid4().hex,
                        id_number_masked="5301**********0000", birth_date=birth, gender=genders[i % len(genders)],
                        marital_status="single", graduation_year=date.today().year - 1,
                        owns_home_in_kunming=False, works_in_kunming=True, district="五华区")
            data.update(profile)
            users.append(User(**data))
        session.add_all(users)
        await session.flush()
        ids = [u.id for u in users]
    return [_bearer(uid, "youth") for uid in ids]


async def account(role: str, *, org_id: int | None = None, org_role: str = "owner") -> Actor:
    """An account made straight in the database (staff, or a member of organisation ``org_id``)."""
    from app.db import session_scope
    from models.accounts import User
    from models.orgs import OrgMember

    async with session_scope() as session:
        user = User(role=role, username=unique("acct"), nickname="测试账号")
        session.add(user)
        await session.flush()
        if org_id is not None:
            session.add(OrgMember(org_id=org_id, user_id=user.id, role=org_role))
        uid = user.id
    return _bearer(uid, role, org_id=org_id)


async def organisation(kind: str, *, status: str = "verified", name: str | None = None) -> Actor:
    """The owner of an organisation of ``kind`` (verified by default), straight in the database."""
    from app.db import session_scope
    from models.base import utcnow
    from models.orgs import Organisation

    async with session_scope() as session:
        org = Organisation(name=name or f"测试机构{unique('')}", kind=kind, credit_code=make_credit_code(),
                           contact_name="张老师", contact_phone="0871-12345678", status=status,
                           reviewed_at=utcnow() if status != "pending" else None)
        session.add(org)
        await session.flush()
        org_id = org.id
    return await account("provider", org_id=org_id)


class Factory:
    """People and organisations the way they arrive in production (see the module docstring)."""

    _staff_cache: dict[str, tuple[float, Actor]] = {}

    def __init__(self, client: Any) -> None:
        self.client = client

    async def youth(self, name: str | None = None, *, profile: dict[str, Any] | bool | None = None,
                    age: int = 25, gender: str = "female") -> Actor:
        """A young person logged in through the WeChat stand-in. ``profile=True`` fills a complete
        real-name profile (adult, single, Kunming); a dict is merged over that."""
        name = name or unique("y")
        r = await self.client.post("/api/v1/auth/wechat/login", json={"code": f"dev:{name}:{uuid.uuid4().hex[:6]}"})
        assert r.status_code == 200, r.text
        body = r.json()
        actor = Actor(body["user"]["id"], "youth", {"Authorization": f"Bearer {body['access_token']}"},
                      body["access_token"], body["refresh_token"])
        if profile:
            data = full_profile(name, age=age, gender=gender)
            if isinstance(profile, dict):
                data.update(profile)
            # The real-name identity has its own route; the rest is PATCH /me.
            identity = {k: data.pop(k) for k in ("real_name", "id_number") if k in data}
            if identity:
                r = await self.client.put("/api/v1/me/identity", json=identity, headers=actor.headers)
                assert r.status_code == 200 and r.json()["claim"] is None, r.text
            r = await self.client.patch("/api/v1/me", json=data, headers=actor.headers)
            assert r.status_code == 200, r.text
            actor.profile = r.json()
        return actor

    async def reviewer(self) -> Actor:
        """A moderator shared by the tests that only need someone to approve things (saves hashing)."""
        cached = Factory._staff_cache.get("moderator")
        if cached is None or time.monotonic() - cached[0] > 600:
            cached = (time.monotonic(), await account("moderator"))
            Factory._staff_cache["moderator"] = cached
        return cached[1]

    async def staff(self, role: str = "moderator") -> Actor:
        """A staff member created by the CLI's service, logged in with the password."""
        from app.db import session_scope
        from app.services import auth

        username, password = unique("staff"), "staff-password-123"
        async with session_scope() as session:
            await auth.create_staff(session, username=username, password=password, role=role)
        return await self.login(username, password, role)

    async def login(self, username: str, password: str, role: str) -> Actor:
        r = await self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        return Actor(body["user"]["id"], role, {"Authorization": f"Bearer {body['access_token']}"},
                     body["access_token"], body["refresh_token"], org_id=body["user"].get("org_id"),
                     username=username, password=password)

    async def provider(self, kind: str, *, verified: bool = True, name: str | None = None) -> Actor:
        """An organisation of ``kind`` signed up through the API, its owner logged in; verified by staff."""
        username, password = unique("org"), "provider-password-123"
        r = await self.client.post("/api/v1/provider/signup", json={
            "name": name or f"测试机构{unique('')}", "kind": kind, "credit_code": make_credit_code(),
            "contact_name": "张老师", "contact_phone": "0871-12345678", "owner_username": username,
            "owner_password": password,
        })
        assert r.status_code == 201, r.text
        org_id = r.json()["id"]
        if verified:
            staff = await self.reviewer()
            r = await self.client.post(f"/api/v1/staff/orgs/{org_id}/verify", headers=staff.headers)
            assert r.status_code == 200, r.text
        actor = await self.login(username, password, "provider")
        assert actor.org_id == org_id
        return actor

    async def approve(self, kind: str, posting_id: int, provider: Actor) -> None:
        await approve(self.client, kind, posting_id, provider)

    async def published(self, kind: str, provider: Actor | None = None, **over: Any) -> tuple[Actor, dict[str, Any]]:
        return await published(self.client, kind, provider, **over)


# --- postings -------------------------------------------------------------------------------------------


async def approve(client: Any, kind: str, posting_id: int, provider: Actor) -> None:
    """Submit a posting for review as its provider and approve it as staff."""
    r = await client.post(f"{API}/provider/postings/{kind}/{posting_id}/submit", headers=provider.headers)
    assert r.status_code == 200, r.text
    staff = await Factory(client).reviewer()
    r = await client.post(f"{API}/staff/reviews/{kind}/{posting_id}/approve", headers=staff.headers)
    assert r.status_code == 200, r.text


@dataclass(frozen=True)
class PostingBuilder:
    org_kind: str
    create_path: str
    body: Callable[..., dict[str, Any]]


POSTINGS: dict[str, PostingBuilder] = {}


async def draft(client: Any, kind: str, provider: Actor | None = None, **over: Any) -> tuple[Actor, dict[str, Any]]:
    """A draft posting of ``kind`` created through its provider endpoint (``over`` changes the body)."""
    b = POSTINGS[kind]
    provider = provider or await organisation(b.org_kind)
    r = await client.post(f"{API}{b.create_path}", json=b.body(**over), headers=provider.headers)
    assert r.status_code == 201, r.text
    return provider, r.json()


async def published(client: Any, kind: str, provider: Actor | None = None, **over: Any
                    ) -> tuple[Actor, dict[str, Any]]:
    """A posting of ``kind`` taken through review and published; returns (provider, posting as created)."""
    provider, posting = await draft(client, kind, provider, **over)
    await approve(client, kind, posting["id"], provider)
    return provider, posting


def builder(kind: str, org_kind: str, create_path: str) -> Callable[[Callable[..., dict[str, Any]]],
                                                                      Callable[..., dict[str, Any]]]:
    def register(body: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        POSTINGS[kind] = PostingBuilder(org_kind, create_path, body)
        return body

    return register


CENTRE = (25.04, 102.71)  # Kunming's centre


def housing_unit(layout: str = "studio", rent: int = 120000, available: int = 2, total: int = 10, **over: Any
                 ) -> dict[str, Any]:
    data = {"layout": layout, "name": f"{layout}户型", "area_sqm": 30.0, "rent_fen": rent, "deposit_fen": rent,
            "total_units": total, "available_units": available}
    data.update(over)
    return data


@builder("housing_project", "housing_operator", "/provider/housing/projects")
def housing_project_body(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": f"春城青居测试公寓{unique('p')}", "district": "五华区", "address": "昆明市五华区人民中路1号",
        "lat": CENTRE[0], "lng": CENTRE[1], "metro_station": "小西门站", "description": "拎包入住，近地铁。",
        "amenities": ["空调", "洗衣机"], "photo_urls": ["https://img.example.cn/a.jpg"], "allocation": "first_come",
        "unit_types": [housing_unit()],
    }
    data.update(over)
    return data


@builder("event", "event_organizer", "/provider/events")
def event_body(*, start: datetime | None = None, hours: int = 3, opens: datetime | None = None,
               closes: datetime | None = None, capacity: int = 4, quotas: tuple[int, int] | None = (2, 2),
               **over: Any) -> dict[str, Any]:
    start = start or now() + timedelta(days=3)
    data: dict[str, Any] = {
        "title": "周末单身青年交友活动", "description": "破冰游戏、分组交流和互选。", "venue_name": "翠湖公园水月轩",
        "venue_address": "昆明市五华区翠湖南路67号", "district": "五华区", "latitude": 25.048, "longitude": 102.704,
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
        "signup_opens_at": (opens or now() - timedelta(hours=1)).isoformat(),
        "signup_closes_at": (closes or start - timedelta(hours=2)).isoformat(),
        "capacity": capacity, "quotas": {"male": quotas[0], "female": quotas[1]} if quotas else None,
    }
    data.update(over)
    return data


@builder("counsellor", "counselling_center", "/provider/counselling/counsellors")
def counsellor_body(**over: Any) -> dict[str, Any]:
    data = {
        "display_name": "周老师", "gender": "female", "qualifications": ["国家二级心理咨询师"],
        "specialties": ["emotions", "study_stress"], "modes": ["in_person", "video"], "languages": ["普通话"],
        "introduction": "擅长情绪调节与学业压力。",
    }
    data.update(over)
    return data



def volunteer_shift(*, start: datetime | None = None, hours: float = 3, capacity: int = 5, **over: Any
                    ) -> dict[str, Any]:
    start = start or now() + timedelta(days=3)
    data: dict[str, Any] = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
                            "capacity": capacity}
    data.update(over)
    return data


@builder("volunteer_project", "volunteer_org", "/provider/volunteer/projects")
def volunteer_project_body(*, shifts: list[dict[str, Any]] | None = None, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "滇池卫士·海埂湿地清洁", "category": "dianchi", "description": "沿湖岸拾捡垃圾、劝导游客文明观鸥。",
        "requirements": "请穿防滑鞋，靠近水边时注意安全。", "skills": ["体力好"], "district": "西山区",
        "place": "海埂大坝", "address": "昆明市西山区海埂路", "lat": 24.9637, "lng": 102.6644,
        "contact_name": "王老师", "contact_phone": "0871-63100000", "shifts": shifts or [volunteer_shift()],
    }
    data.update(over)
    return data


@builder("opening", "employer", "/provider/openings")
def opening_body(*, opening_kind: str = "internship", deadline: datetime | None = None, places: int = 3, **over: Any
                 ) -> dict[str, Any]:
    """An internship post (an employer's), or with ``opening_kind="incubator"`` an incubator place (pass
    an ``incubator`` organisation as the provider)."""
    data: dict[str, Any] = {
        "kind": opening_kind, "district": "呈贡区", "places": places, "contact_name": "李经理",
        "contact_phone": "0871-65000000", "deadline": (deadline or now() + timedelta(days=14)).isoformat(),
    }
    if opening_kind == "internship":
        data.update(title="数据分析见习生", description="协助整理业务数据、制作周报，导师一对一带教。",
                    address="昆明市呈贡区春融街1号", lat=24.8801, lng=102.8216, stipend_fen=250000, duration_months=6,
                    starts_on=(now() + timedelta(days=30)).date().isoformat(), min_education="college",
                    majors=["统计", "计算机"], min_age=16, max_age=24, graduated_within_years=2)
    else:
        data.update(title="大学城创业孵化入驻", description="提供免费工位、创业导师和融资对接。", free_office_months=12,
                    mentoring=True, funding_help=True, stages=["idea", "prototype"], sectors=["digital", "education"])
    data.update(over)
    return data
# --- the staff console ----------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a console page put in its forms."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def console_login(client: Any, actor: Actor, *, follow: bool = True) -> Any:
    """Log ``actor`` (with a password) in to the console on ``client`` (a client of its own: the session
    is a cookie in that client's jar); returns the login answer."""
    page = await client.get("/console/login")
    r = await client.post("/console/login", data={"username": actor.username, "password": actor.password,
                                                  "csrf_token": csrf_of(page.text)})
    if follow and r.status_code == 303:
        return await client.get(r.headers["location"])
    return r

"""Demo data: a small, believable Kunming data set. The platform part lives here; each service adds
its own in ``app/demo/<service>.py`` with ``async def seed(session, ctx)``, run in name order."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto
from app.validators import credit_code_check_char, id_check_char, mask_id_number
from models.accounts import User
from models.base import utcnow
from models.orgs import Organisation, OrgMember

DEMO_PASSWORD = "demo-password-2026"


@dataclass
class DemoContext:
    admin: User
    moderator: User
    orgs: dict[str, Organisation] = field(default_factory=dict)  # by kind
    owners: dict[str, User] = field(default_factory=dict)  # by org kind
    youth: list[User] = field(default_factory=list)


_ORGS = [
    ("housing_operator", "昆明市青年人才公寓运营有限公司", "91530100MA6K3Y2B1"),
    ("event_organizer", "共青团昆明市委青年联谊服务中心", "91530102MA6N8Q4C2"),
    ("counselling_center", "昆明市青少年心理健康服务中心", "12530100MB1A2C3D3"),
    ("employer", "云南春城数字科技有限公司", "91530112MA6P1R7E4"),
    ("incubator", "呈贡大学城青年创业孵化园", "91530114MA6T5W9F5"),
    ("volunteer_org", "昆明市青年志愿者协会", "51530100MJ0X1Y2G6"),
]

_YOUTH = [
    # nickname, real name, birth, gender digit, district, education, graduation year, employment
    ("小李", "李明", date(1999, 5, 12), 3, "五华区", "bachelor", 2021, "employed"),
    ("阿雯", "王雯", date(2001, 9, 3), 2, "盘龙区", "master", 2025, "employed"),
    ("小赵", "赵磊", date(1996, 1, 20), 5, "官渡区", "college", 2017, "self_employed"),
    ("彤彤", "张彤", date(2003, 11, 30), 4, "呈贡区", "bachelor", 2025, "job_seeking"),
    ("阿杰", "杨杰", date(1994, 7, 8), 7, "西山区", "bachelor", 2016, "employed"),
    ("小雨", "刘雨", date(2000, 3, 21), 6, "五华区", "bachelor", 2022, "employed"),
]


def demo_id_number(birth: date, seq_digit: int, area: str = "530102") -> str:
    first17 = f"{area}{birth:%Y%m%d}01{seq_digit}"
    return first17 + id_check_char(first17)


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(func.count()).select_from(User))).scalar_one() == 0


async def seed_demo(session: AsyncSession) -> DemoContext:
    pw = crypto.hash_password(DEMO_PASSWORD)
    admin = User(role="admin", username="admin", password_hash=pw, nickname="系统管理员")
    moderator = User(role="moderator", username="moderator", password_hash=pw, nickname="团委审核员")
    session.add_all([admin, moderator])
    await session.flush()
    ctx = DemoContext(admin=admin, moderator=moderator)
    for kind, name, first17 in _ORGS:
        org = Organisation(name=name, kind=kind, credit_code=first17 + credit_code_check_char(first17),
                           contact_name="王老师", contact_phone="0871-63100000", address="昆明市五华区",
                           status="verified", reviewed_by=moderator.id, reviewed_at=utcnow())
        owner = User(role="provider", username=f"{kind.split('_')[0]}_owner", password_hash=pw, nickname=name[:16])
        session.add_all([org, owner])
        await session.flush()
        session.add(OrgMember(org_id=org.id, user_id=owner.id, role="owner"))
        ctx.orgs[kind], ctx.owners[kind] = org, owner
    for i, (nick, real, birth, g, district, edu, grad, emp) in enumerate(_YOUTH):
        number = demo_id_number(birth, g)
        user = User(role="youth", openid=_demo_openid(f"demo{i + 1}"), nickname=nick, real_name=real,
                    id_number=number, id_number_hash=crypto.lookup_hash(number, "id_number"),
                    id_number_masked=mask_id_number(number), birth_date=birth,
                    gender="male" if g % 2 else "female", district=district, education=edu, graduation_year=grad,
                    employment_status=emp, marital_status="single", owns_home_in_kunming=False,
                    works_in_kunming=True)
        session.add(user)
        ctx.youth.append(user)
    await session.flush()
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        module = importlib.import_module(f"{__name__}.{mod}")
        await module.seed(session, ctx)
        await session.flush()
    return ctx


def _demo_openid(name: str) -> str:
    """The openid the WeChat stand-in gives ``dev:<name>``, so `dev:demo1` logs in as 小李."""
    from app.wechat.standin import openid_for

    return openid_for(name)

"""Demo events: upcoming matchmaking and social events around Kunming, with a few sign-ups."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo import DemoContext
from app.deps import Principal
from app.services import events
from app.validators import SHANGHAI
from models.base import utcnow
from models.events import Event, EventQuota

# title, description, venue, address, district, (lat, lon), days ahead, local start hour, hours, quotas, ages
_EVENTS = [
    ("滇池畔单身青年徒步交友", "沿海埂大坝观海鸥、看西山，分组徒步约6公里，途中设破冰游戏和自我介绍环节，"
     "结束后在湖畔草坪进行互选。请穿运动鞋，主办方提供饮用水和午餐。",
     "海埂大坝游客中心", "昆明市西山区海埂路海埂大坝入口", "西山区", (24.9637, 102.6644), 9, 9, 6, (20, 20), (22, 35)),
    ("翠湖读书会·单身青年专场", "每人带一本最近读过的书，围坐分享读书感受。主持人引导轮换座位，"
     "每位嘉宾都有机会与他人面对面交流。活动后进行互选，互选成功才交换联系方式。",
     "翠湖公园水月轩", "昆明市五华区翠湖南路67号", "五华区", (25.0479, 102.7039), 13, 14, 3, (15, 15), (20, 32)),
    ("呈贡大学城桌游联谊夜", "面向在呈贡工作、学习的单身青年，狼人杀、剧本杀和合作类桌游分桌进行，"
     "工作人员全程组织，不需要会玩。",
     "呈贡大学城青年之家", "昆明市呈贡区大学城雨花路1号", "呈贡区", (24.8357, 102.8463), 16, 19, 3, None, (20, 30)),
]


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    org = ctx.orgs["event_organizer"]
    now = utcnow()
    created: list[Event] = []
    for (title, description, venue, address, district, (lat, lon), days, hour, hours, quotas,
         (min_age, max_age)) in _EVENTS:
        day = (now + timedelta(days=days)).astimezone(SHANGHAI).date()
        starts = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
        capacity = sum(quotas) if quotas else 24
        ev = Event(
            org_id=org.id, title=title, description=description, venue_name=venue, venue_address=address,
            district=district, latitude=lat, longitude=lon, starts_at=starts, ends_at=starts + timedelta(hours=hours),
            signup_opens_at=now - timedelta(days=2), signup_closes_at=starts - timedelta(days=1), capacity=capacity,
            quota_male=quotas[0] if quotas else None, quota_female=quotas[1] if quotas else None,
            min_age=min_age, max_age=max_age, status="published", submitted_at=now, published_at=now,
            reviewed_by=ctx.moderator.id, reviewed_at=now,
        )
        session.add(ev)
        await session.flush()
        keys = {"male": quotas[0], "female": quotas[1]} if quotas else {"all": capacity}
        session.add_all(EventQuota(event_id=ev.id, quota_key=k, capacity=c) for k, c in keys.items())
        created.append(ev)
    await session.flush()
    # A few of the demo youth have already signed up, through the same rules as everyone else.
    for person in ctx.youth[:4]:
        await events.sign_up(session, actor=Principal(person.id, "youth"), event_id=created[0].id)
    for person in ctx.youth[2:5]:
        await events.sign_up(session, actor=Principal(person.id, "youth"), event_id=created[1].id)

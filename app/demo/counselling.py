"""Demo counselling: the city's youth mental-health centre with four published counsellors, weekly
slots over the next two weeks (from next Monday), its opening hours and duty list (陈老师 first, then
the owner), and two bookings made through the usual rules."""

from __future__ import annotations

from datetime import time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto
from app.demo import DEMO_PASSWORD, DemoContext
from app.deps import Principal
from app.schemas.counselling import BookingIn, CentreSettingsUpdate, IntakeIn, SlotPatternIn
from app.services import counselling
from app.validators import today_shanghai
from models.accounts import User
from models.base import utcnow
from models.counselling import Counsellor
from models.orgs import OrgMember

# name, gender, qualifications, specialties, modes, languages, introduction, weekdays, day start, day end
_COUNSELLORS = [
    ("陈老师", "female", ["国家二级心理咨询师", "中国心理学会注册心理师"], ["emotions", "study_stress", "family"],
     ["in_person", "video"], ["普通话", "云南话"],
     "从事青少年心理咨询十年，擅长情绪困扰、考试焦虑和亲子沟通，咨询风格温和、耐心。", (2, 4), time(14), time(18)),
    ("李老师", "male", ["应用心理学硕士", "国家二级心理咨询师"], ["career", "relationships", "emotions"],
     ["in_person", "video", "phone"], ["普通话", "英语"],
     "关注职场适应、求职压力与人际关系，曾为多所高校毕业生提供团体辅导。", (1, 3, 5), time(9), time(12)),
    ("杨老师", "female", ["婚姻家庭咨询师", "心理健康教育工作者"], ["love_marriage", "family", "relationships"],
     ["in_person", "phone"], ["普通话", "彝语"],
     "擅长恋爱关系、婚前困惑与原生家庭议题，也接待少数民族青年来访者。", (6,), time(9, 30), time(16, 30)),
    ("赵老师", "male", ["精神科执业医师", "认知行为治疗（CBT）培训"], ["emotions", "study_stress"],
     ["video", "phone"], ["普通话"],
     "精神科医生背景，擅长抑郁、焦虑情绪的评估与认知行为干预，必要时协助转介医院。", (2, 5), time(19), time(21)),
]


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    org = ctx.orgs["counselling_center"]
    owner = ctx.owners["counselling_center"]
    centre = Principal(owner.id, "provider", org.id, "owner", "counselling_center", "verified")
    # 陈老师 signs in with her own account to see her day, read her clients' intakes and write notes;
    # she is first on the duty list, so she is told of every risk answer and reads every intake.
    chen = User(role="provider", username="counsellor_chen", password_hash=crypto.hash_password(DEMO_PASSWORD),
                nickname="陈老师")
    session.add(chen)
    await session.flush()
    session.add(OrgMember(org_id=org.id, user_id=chen.id, role="editor"))
    await session.flush()
    # Evening and Saturday sessions: the centre is open then too (risk flags are counted in these hours).
    await counselling.update_centre(session, actor=centre, data=CentreSettingsUpdate(
        opening_hours=["09:00-21:30"] * 5 + ["09:00-17:00", None], duty_user_ids=[chen.id, owner.id]))

    now = utcnow()
    today = today_shanghai()
    next_monday = today + timedelta(days=7 - today.weekday())
    created = []
    for i, (name, gender, quals, specs, modes, langs, intro, days, start, end) in enumerate(_COUNSELLORS):
        obj = Counsellor(
            org_id=org.id, display_name=name, gender=gender, qualifications=quals, specialties=specs, modes=modes,
            languages=langs, introduction=intro, tags=counselling.tags_for(specs, modes),
            user_id=chen.id if i == 0 else None, status="published", submitted_at=now, published_at=now,
            reviewed_by=ctx.moderator.id, reviewed_at=now,
        )
        session.add(obj)
        await session.flush()
        await counselling.create_slot_pattern(session, actor=centre, counsellor_id=obj.id, data=SlotPatternIn(
            weekdays=list(days), day_start=start, day_end=end, session_minutes=50, break_minutes=10, weeks=2,
            start_date=next_monday))
        created.append(obj)

    # Two demo youth have booked, one of them under a nickname.
    slots = await counselling.free_slots(session, counsellor_id=created[0].id, first=None, last=None, cursor=None,
                                         limit=1)
    await counselling.book(session, actor=Principal(ctx.youth[1].id, "youth"), data=BookingIn(
        slot_id=slots.items[0].id, mode="in_person", nickname="小雯子",
        intake=IntakeIn(topic="study_stress", description="研究生毕业论文进度落后，最近经常失眠，想学会调整节奏。",
                        self_harm_thoughts=False)))
    slots = await counselling.free_slots(session, counsellor_id=created[1].id, first=None, last=None, cursor=None,
                                         limit=1)
    await counselling.book(session, actor=Principal(ctx.youth[3].id, "youth"), data=BookingIn(
        slot_id=slots.items[0].id, mode="video",
        intake=IntakeIn(topic="career", description="刚毕业还在找工作，面试屡次失败，有些沮丧。", self_harm_thoughts=False)))

"""Demo openings: two internship posts of 云南春城数字科技 and an incubator place of 呈贡大学城青年创业孵化园,
with applications in several states (submitted, viewed, interview, offered, accepted, rejected,
withdrawn), all made through the service so that their histories and messages are real."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.demo import DemoContext
from app.deps import Principal
from app.schemas.openings import ApplyIn, InterviewIn, OfferIn, ResumeEdits, VentureIn
from app.services import openings
from app.services.openings.posts import education_rank, majors_text
from models.openings import Opening

_INTERNSHIPS = [
    dict(title="数据分析见习生", description="协助整理销售与运营数据、制作周报和可视化看板。导师一对一带教，见习期满表现优秀可留用。",
         district="呈贡区", address="昆明市呈贡区春融街188号云南数字经济产业园A座", lat=24.8801, lng=102.8216, places=3,
         stipend_fen=260000, duration_months=6, min_education="college", majors=["统计", "计算机", "数学"], min_age=16,
         max_age=24, graduated_within_years=2),
    dict(title="新媒体运营见习", description="负责公司公众号和视频号的日常内容策划、拍摄与数据复盘。", district="五华区",
         address="昆明市五华区人民中路17号", lat=25.0423, lng=102.7066, places=2, stipend_fen=220000, duration_months=3,
         min_education="college", majors=[], min_age=16, max_age=35, graduated_within_years=None),
]
_INCUBATOR = dict(
    title="大学城青年创业孵化入驻（第3期）",
    description="面向在校生和毕业5年内青年的早期项目：免费工位12个月、创业导师每月辅导、对接创业担保贷款和天使投资。",
    district="呈贡区", address="昆明市呈贡区大学城雨花片区", places=5, free_office_months=12, mentoring=True,
    funding_help=True, offer_notes="入驻前需参加一次路演答辩", stages=["idea", "prototype", "early_revenue"],
    sectors=["digital", "agriculture", "culture_tourism", "education"], min_age=18, max_age=35)


def _resume(person_index: int, **over: object) -> ApplyIn:
    schools = ["云南大学", "昆明理工大学", "云南财经大学", "云南师范大学", "昆明学院", "云南民族大学"]
    majors = ["计算机科学与技术", "应用统计学", "市场营销", "数学与应用数学", "新闻学", "电子商务"]
    data = dict(school=schools[person_index], major=majors[person_index], skills=["Excel", "PPT"],
                self_intro="做事踏实，乐于学习。", phone=f"1380871{person_index:04d}")
    data.update(over)
    return ApplyIn(resume=ResumeEdits(**data))


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    now = clock.now()
    employer, incubator = ctx.orgs["employer"], ctx.orgs["incubator"]
    posts = []
    for data in [*_INTERNSHIPS, _INCUBATOR]:
        org = employer if data is not _INCUBATOR else incubator
        kind = "internship" if data is not _INCUBATOR else "incubator"
        o = Opening(**data, kind=kind, org_id=org.id, status="published", submitted_at=now, published_at=now,
                    reviewed_by=ctx.moderator.id, reviewed_at=now, deadline=now + timedelta(days=21),
                    contact_name="周经理", contact_phone="0871-65001234",
                    starts_on=(now + timedelta(days=35)).date() if kind == "internship" else None,
                    education_rank=education_rank(data.get("min_education")),  # type: ignore[arg-type]
                    majors_text=majors_text(data.get("majors") or []))  # type: ignore[arg-type]
        session.add(o)
        posts.append(o)
    await session.flush()
    data_post, media_post, place = posts

    def youth(i: int) -> Principal:
        return Principal(ctx.youth[i].id, "youth")

    hr = Principal(ctx.owners["employer"].id, "provider", employer.id, "owner", "employer", "verified")

    # 阿雯 (a 2025 master's graduate): invited to an interview; 彤彤 (2025): offered and accepted.
    wen = await openings.apply(session, actor=youth(1), opening_id=data_post.id, data=_resume(1))
    await openings.interview(session, actor=hr, application_id=wen.id, data=InterviewIn(
        at=now + timedelta(days=3, hours=2), place="春融街188号A座5楼会议室", note="请携带学生证和简历"))
    tong = await openings.apply(session, actor=youth(3), opening_id=data_post.id, data=_resume(3))
    await openings.offer(session, actor=hr, application_id=tong.id, data=OfferIn(note="欢迎加入数据组"))
    await openings.accept(session, actor=youth(3), application_id=tong.id)

    # 新媒体运营: 小赵 rejected with a reason, 小雨 waiting, 阿杰 viewed, 小李 withdrew.
    zhao = await openings.apply(session, actor=youth(2), opening_id=media_post.id, data=_resume(2))
    await openings.reject(session, actor=hr, application_id=zhao.id, reason_code="other",
                          reason="本期需要有短视频剪辑经验的同学，欢迎关注下期岗位")
    await openings.apply(session, actor=youth(5), opening_id=media_post.id, data=_resume(5))
    jie = await openings.apply(session, actor=youth(4), opening_id=media_post.id, data=_resume(4))
    await openings.open_application(session, actor=hr, application_id=jie.id)
    li = await openings.apply(session, actor=youth(0), opening_id=media_post.id, data=_resume(0))
    await openings.withdraw(session, actor=youth(0), application_id=li.id, reason="已找到全职工作")

    # The incubator: 小李's venture, offered a place (answer due in a week).
    park = Principal(ctx.owners["incubator"].id, "provider", incubator.id, "owner", "incubator", "verified")
    venture = await openings.apply(session, actor=youth(0), opening_id=place.id, data=ApplyIn(
        resume=ResumeEdits(phone="13808710000"),
        venture=VentureIn(team_size=3, stage="prototype", sector="agriculture",
                          plan_summary="帮助呈贡花农直播卖鲜切花的小程序，已在斗南花市试点两个月。")))
    await openings.offer(session, actor=park, application_id=venture.id, data=OfferIn(note="请于答复后一周内办理入驻"))

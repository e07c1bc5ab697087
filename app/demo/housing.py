"""Demo data for 春城青居: projects in real Kunming districts, in every review state, with a
first-come project that has offers out and a lottery that has been frozen, seeded and drawn."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import Principal
from app.schemas.housing import ProjectIn
from app.services import housing
from models.base import utcnow
from models.housing import HousingProject

_PHOTO = "https://img.example.cn/chunchengqingju/{}.jpg"

# name, district, address, lat, lng, metro, allocation, status, unit types, extra rules
_PROJECTS: list[dict[str, Any]] = [
    dict(name="春城青居·吴家营青年公寓", district="呈贡区", address="昆明市呈贡区吴家营街道春融西路", lat=24.8405,
         lng=102.8172, metro_station="吴家营站", allocation="lottery", status="published",
         description="毗邻呈贡大学城，步行可达地铁1号线吴家营站。拎包入住，水电按民用价格收取。",
         amenities=["独立卫浴", "空调", "洗衣机", "公共厨房", "健身房", "24小时安保"],
         units=[("studio", "A户型 开间", 28.5, 95000, 95000, 60, 2), ("one_room", "B户型 一室一厅", 42.0, 135000, 135000, 40, 2)],
         rules=dict(graduated_within_years=5)),
    dict(name="春城青居·小西门人才公寓", district="五华区", address="昆明市五华区人民中路", lat=25.0427, lng=102.7003,
         metro_station="小西门站", allocation="first_come", status="published",
         description="位于老城区核心，周边商业、医院、学校齐全，适合在市区工作的青年。",
         amenities=["独立卫浴", "空调", "冰箱", "宽带", "电梯"],
         units=[("studio", "开间", 25.0, 120000, 120000, 30, 3), ("one_room", "一室一厅", 38.0, 160000, 160000, 20, 2)],
         rules=dict(require_work_in_kunming=True)),
    dict(name="春城青居·世纪城青年社区", district="官渡区", address="昆明市官渡区世纪城路", lat=24.9925, lng=102.7557,
         metro_station="世纪城站", allocation="first_come", status="published",
         description="成熟社区配套，临近地铁1号线世纪城站，两室户型适合合租。",
         amenities=["空调", "洗衣机", "阳台", "社区食堂"],
         units=[("one_room", "一室一厅", 45.0, 150000, 150000, 50, 10), ("two_rooms", "两室一厅", 68.0, 230000, 230000, 20, 5)],
         rules={}),
    dict(name="春城青居·太平新城人才公寓", district="安宁市", address="安宁市太平新城街道", lat=24.9380, lng=102.5590,
         metro_station=None, allocation="first_come", status="published",
         description="产业园区配套人才公寓，班车直达园区，租金实惠。",
         amenities=["空调", "热水器", "班车", "篮球场"],
         units=[("studio", "单间", 22.0, 68000, 68000, 80, 30)], rules={}),
    dict(name="春城青居·滇池路青年公寓", district="西山区", address="昆明市西山区滇池路", lat=24.9853, lng=102.6762,
         metro_station=None, allocation="lottery", status="pending_review",
         description="临近滇池，环境安静，2026年底交付。",
         amenities=["空调", "洗衣机", "自习室"],
         units=[("studio", "开间", 30.0, 110000, 110000, 40, 40)], rules={}),
    dict(name="春城青居·北京路青年公寓（筹备中）", district="盘龙区", address="昆明市盘龙区北京路", lat=25.0621,
         lng=102.7223, metro_station=None, allocation="first_come", status="draft",
         description="筹备中的项目，信息完善后提交审核。", amenities=["空调"],
         units=[("one_room", "一室", 35.0, 140000, 140000, 24, 24)], rules={}),
]


async def seed(session: AsyncSession, ctx: Any) -> None:
    org = ctx.orgs["housing_operator"]
    owner = ctx.owners["housing_operator"]
    operator = Principal(owner.id, "provider", org.id, "owner", "housing_operator", "verified")
    staff = Principal(ctx.moderator.id, ctx.moderator.role)
    youth = [Principal(u.id, "youth") for u in ctx.youth]
    now = utcnow()
    created: list[int] = []
    for i, p in enumerate(_PROJECTS):
        data = ProjectIn(
            name=p["name"], district=p["district"], address=p["address"], lat=p["lat"], lng=p["lng"],
            metro_station=p["metro_station"], description=p["description"], amenities=p["amenities"],
            photo_urls=[_PHOTO.format(f"{i + 1}-{k}") for k in (1, 2)], allocation=p["allocation"],
            unit_types=[dict(layout=u[0], name=u[1], area_sqm=u[2], rent_fen=u[3], deposit_fen=u[4], total_units=u[5],
                             available_units=u[6]) for u in p["units"]],
            **p["rules"],
        )
        view = await housing.create_project(session, actor=operator, data=data)
        project = await session.get(HousingProject, view.id)
        # Reviewed as staff would have done it (the demo loader does not call WeChat's content check).
        if p["status"] != "draft":
            project.status = p["status"]
            project.submitted_at = now - timedelta(days=10 - i)
        if p["status"] == "published":
            project.published_at = now - timedelta(days=9 - i)
            project.reviewed_at, project.reviewed_by = project.published_at, ctx.moderator.id
        created.append(project.id)
    await session.flush()

    lottery_id, fcfs_id = created[0], created[1]
    units = {u.layout: u.id for u in (await housing.provider_project(session, actor=operator, project_id=lottery_id)
                                      ).unit_types}
    # The lottery: four applications for two studios, all eligible, frozen, seeded and drawn (the
    # project takes graduates of the last five years, which leaves out two of the demo people).
    lottery_apps = []
    for person in (youth[0], youth[1], youth[3], youth[5]):
        app = await housing.apply(session, actor=person, project_id=lottery_id, unit_type_id=units["studio"])
        lottery_apps.append(app.id)
    for app_id in lottery_apps:
        await housing.decide(session, actor=operator, application_id=app_id, decision="eligible", reason=None)
    await housing.freeze(session, actor=operator, project_id=lottery_id)
    await housing.set_seed(session, actor=staff, project_id=lottery_id, seed="2026316-5-2-8",
                           source="中国福利彩票3D 第2026316期开奖号码（开奖前公告）")
    await housing.draw(session, actor=staff, project_id=lottery_id)

    # First come: one application reviewed and offered a studio, one waiting for review.
    fcfs_units = {u.layout: u.id for u in (await housing.provider_project(session, actor=operator,
                                                                          project_id=fcfs_id)).unit_types}
    first = await housing.apply(session, actor=youth[2], project_id=fcfs_id, unit_type_id=fcfs_units["studio"])
    await housing.decide(session, actor=operator, application_id=first.id, decision="eligible", reason=None)
    await housing.apply(session, actor=youth[4], project_id=fcfs_id, unit_type_id=fcfs_units["one_room"])
    await housing.set_favourite(session, actor=youth[3], project_id=created[2], on=True)

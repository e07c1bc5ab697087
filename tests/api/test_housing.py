"""春城青居 (housing): publishing through review, search, eligibility, application limits, first-come
and lottery allocation (verifiable, exact, with expiry passing on), re-draws, reports, the CSV export,
audit — and no over-allocation under concurrent decisions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.factories import (
    API,
    CENTRE,
    Actor,
    bulk_youth,
    draft,
    make_id_number,
    unique,
)
from tests.factories import housing_project_body as project_body
from tests.factories import housing_unit as unit

PROJECT = "housing_project"


async def create_project(client: Any, provider: Any, **over: Any) -> dict[str, Any]:
    return (await draft(client, PROJECT, provider, **over))[1]


async def apply(client: Any, project: dict[str, Any], person: Any, unit_index: int = 0, **headers: str) -> Any:
    return await client.post(f"{API}/housing/projects/{project['id']}/applications",
                             json={"unit_type_id": project["unit_types"][unit_index]["id"]},
                             headers={**person.headers, **headers})


async def decide(client: Any, provider: Any, application_id: int, decision: str = "eligible",
                 reason: str | None = None) -> Any:
    body: dict[str, Any] = {"decision": decision}
    if reason:
        body["reason"] = reason
    return await client.post(f"{API}/provider/housing/applications/{application_id}/decision", json=body,
                             headers=provider.headers)


async def mine(client: Any, person: Any, application_id: int) -> dict[str, Any]:
    r = await client.get(f"{API}/me/housing-applications/{application_id}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def search(client: Any, **params: Any) -> dict[str, Any]:
    r = await client.get(f"{API}/housing/projects", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def audit_actions(client: Any, staff: Any, **params: Any) -> list[str]:
    r = await client.get(f"{API}/staff/audit-log", params={"limit": 100, **params}, headers=staff.headers)
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


def recompute(seed: str, entries: list[str]) -> list[str]:
    """The published algorithm, written out independently of the service."""
    return sorted(entries, key=lambda n: (hmac.new(seed.encode(), n.encode(), hashlib.sha256).hexdigest(), n))


async def lottery_with(client: Any, factory: Any, applicants: int, units: int, **over: Any
                       ) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, Actor]]:
    """A published lottery project with ``applicants`` eligible applications, frozen. Returns the
    provider, the project, the frozen lottery and the applicants by application number."""
    provider, project = await factory.published(PROJECT, allocation="lottery",
                                        unit_types=[unit(available=units, total=units + 5)], **over)
    people = await bulk_youth(applicants)
    by_number = {}
    for p in people:
        r = await apply(client, project, p)
        assert r.status_code == 201, r.text
        by_number[r.json()["number"]] = p
        assert (await decide(client, provider, r.json()["id"])).status_code == 200
    r = await client.post(f"{API}/provider/housing/projects/{project['id']}/lottery/freeze", headers=provider.headers)
    assert r.status_code == 200, r.text
    return provider, project, r.json(), by_number


async def seed_and_draw(client: Any, staff: Any, project_id: int, seed: str) -> dict[str, Any]:
    r = await client.post(f"{API}/staff/housing/projects/{project_id}/lottery/seed",
                          json={"seed": seed, "source": "福彩3D 第2026320期开奖号码（开奖前公告）"}, headers=staff.headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/staff/housing/projects/{project_id}/lottery/draw", headers=staff.headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- publishing ---------------------------------------------------------------------------------------


async def test_a_verified_operator_publishes_through_review_and_a_rejection_shows_the_reason(client, factory):
    unverified = await factory.provider("housing_operator", verified=False)
    draft = await create_project(client, unverified)
    r = await client.post(f"{API}/provider/postings/housing_project/{draft['id']}/submit", headers=unverified.headers)
    assert r.status_code == 403 and r.json()["code"] == "ORG_NOT_VERIFIED"

    provider = await factory.provider("housing_operator")
    project = await create_project(client, provider)
    assert project["status"] == "draft" and project["min_rent_fen"] == 120000
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404
    r = await client.post(f"{API}/provider/postings/housing_project/{project['id']}/submit", headers=provider.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    staff = await factory.staff()
    r = await client.post(f"{API}/staff/reviews/housing_project/{project['id']}/reject",
                          json={"reason": "缺少房屋产权或租赁备案证明"}, headers=staff.headers)
    assert r.status_code == 200
    mine_ = (await client.get(f"{API}/provider/housing/projects/{project['id']}", headers=provider.headers)).json()
    assert mine_["status"] == "rejected" and mine_["review_reason"] == "缺少房屋产权或租赁备案证明"
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404

    await factory.approve("housing_project", project["id"], provider)
    detail = (await client.get(f"{API}/housing/projects/{project['id']}")).json()
    assert detail["status"] == "published" and detail["accepting_applications"] is True
    assert "年龄 18–35 周岁" in detail["eligibility"]["rules"]
    assert [p["id"] for p in (await search(client, q=project["name"]))["items"]] == [project["id"]]


async def test_only_housing_operators_create_projects_and_others_get_404(client, factory):
    organiser = await factory.provider("event_organizer")
    r = await client.post(f"{API}/provider/housing/projects", json=project_body(), headers=organiser.headers)
    assert r.status_code == 403
    youth = await factory.youth()
    assert (await client.post(f"{API}/provider/housing/projects", json=project_body(),
                              headers=youth.headers)).status_code == 403
    _, project = await factory.published(PROJECT)
    other = await factory.provider("housing_operator")
    for method, path, body in (
        ("GET", f"/provider/housing/projects/{project['id']}", None),
        ("PATCH", f"/provider/housing/projects/{project['id']}", {"name": "别人的项目"}),
        ("GET", f"/provider/housing/projects/{project['id']}/applications", None),
        ("GET", f"/provider/housing/projects/{project['id']}/applications.csv", None),
        ("POST", f"/provider/housing/projects/{project['id']}/unit-types", unit()),
    ):
        r = await client.request(method, API + path, json=body, headers=other.headers)
        assert r.status_code == 404, (path, r.text)


async def test_projects_are_validated(client, factory):
    provider = await factory.provider("housing_operator")
    bad = [
        ({"district": "朝阳区"}, "district"),
        ({"lat": 39.9}, "lat"),
        ({"unit_types": []}, "unit_types"),
        ({"unit_types": [unit(available=11, total=10)]}, "unit_types.0"),
        ({"min_age": 30, "max_age": 20}, "body"),
        ({"photo_urls": ["http://insecure.example.cn/a.jpg"]}, "photo_urls.0"),
        ({"allocation": "auction"}, "allocation"),
    ]
    for over, where in bad:
        r = await client.post(f"{API}/provider/housing/projects", json=project_body(**over), headers=provider.headers)
        assert r.status_code == 422, (over, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR" and where in r.json()["fields"], (over, r.json())


async def test_editing_public_text_of_a_live_project_sends_it_back_to_review(client, factory):
    provider, project = await factory.published(PROJECT)
    r = await client.patch(f"{API}/provider/housing/projects/{project['id']}", json={"require_work_in_kunming": True},
                           headers=provider.headers)
    assert r.json()["status"] == "published"
    r = await client.patch(f"{API}/provider/housing/projects/{project['id']}", json={"description": "新增健身房。"},
                           headers=provider.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404
    r = await client.patch(f"{API}/provider/housing/projects/{project['id']}", json={"name": None},
                           headers=provider.headers)
    assert r.status_code == 422 and "name" in r.json()["fields"]


# --- search ---------------------------------------------------------------------------------------------


async def test_youth_find_projects_by_district_rent_layout_and_distance(client, factory):
    tag = unique("s")
    provider = await factory.provider("housing_operator")
    _, centre = await factory.published(PROJECT, provider, name=f"市中心公寓{tag}", district="五华区",
                                lat=25.042, lng=102.700, unit_types=[unit("studio", 120000)])
    _, guandu = await factory.published(PROJECT, provider, name=f"世纪城公寓{tag}", district="官渡区",
                                lat=24.993, lng=102.756,
                                unit_types=[unit("one_room", 180000), unit("two_rooms", 300000)])
    _, chenggong = await factory.published(PROJECT, provider, name=f"大学城公寓{tag}", district="呈贡区",
                                   lat=24.840, lng=102.817, unit_types=[unit("two_rooms", 250000)])

    def ids(page: dict[str, Any]) -> list[int]:
        return [p["id"] for p in page["items"]]

    both = await search(client, q=tag, district=["官渡区", "呈贡区"], sort="rent")
    assert ids(both) == [guandu["id"], chenggong["id"]]
    # one unit type must match the whole range: 官渡's 1800 and 3000 both miss 2000–2800
    assert ids(await search(client, q=tag, rent_min=200000, rent_max=280000)) == [chenggong["id"]]
    assert set(ids(await search(client, q=tag, rent_max=150000))) == {centre["id"]}
    assert set(ids(await search(client, q=tag, layout=["two_rooms"]))) == {guandu["id"], chenggong["id"]}
    assert ids(await search(client, q=tag, layout=["two_rooms"], rent_max=260000)) == [chenggong["id"]]

    near = await search(client, q=tag, near=f"{CENTRE[0]},{CENTRE[1]}", radius_km=10)
    assert ids(near) == [centre["id"], guandu["id"]]  # 呈贡 is ~25 km away
    distances = [p["distance_km"] for p in near["items"]]
    assert distances == sorted(distances) and 0 < distances[0] < 2 < distances[1] < 10
    everything = await search(client, q=tag, near=f"{CENTRE[0]},{CENTRE[1]}", radius_km=50, sort="rent")
    assert ids(everything) == [centre["id"], guandu["id"], chenggong["id"]]
    assert all(p["distance_km"] is not None for p in everything["items"])
    assert [u["layout"] for u in everything["items"][1]["unit_types"]] == ["one_room", "two_rooms"]


async def test_search_pages_with_a_cursor_in_every_sort(client, factory):
    tag = unique("c")
    provider = await factory.provider("housing_operator")
    made = []
    for i in range(5):
        _, p = await factory.published(PROJECT, provider, name=f"翻页公寓{tag}-{i}", lat=25.04 + i * 0.01,
                               unit_types=[unit(rent=100000 + (i % 3) * 10000)])
        made.append(p["id"])
    for sort, extra in (("newest", {}), ("rent", {}), ("rent_desc", {}), ("distance", {"near": "25.04,102.71"})):
        seen, cursor = [], None
        for _ in range(10):
            params = {"q": tag, "limit": 2, "sort": sort, **extra}
            if cursor:
                params["cursor"] = cursor
            page = await search(client, **params)
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)), sort
    newest = await search(client, q=tag, sort="newest")
    assert [p["id"] for p in newest["items"]] == made[::-1]


async def test_a_search_runs_the_same_number_of_queries_whatever_the_page_size(client, factory):
    from sqlalchemy import event

    from app.db import get_engine

    tag = unique("n")
    provider = await factory.provider("housing_operator")
    for i in range(6):
        await factory.published(PROJECT, provider, name=f"计数公寓{tag}-{i}",
                        unit_types=[unit("studio"), unit("one_room", 150000), unit("two_rooms", 220000)])
    person = (await bulk_youth(1))[0]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        used = {}
        for limit in (2, 6):
            for params in ({"q": tag}, {"q": tag, "near": "25.04,102.71", "layout": ["studio"]}):
                statements.clear()
                r = await client.get(f"{API}/housing/projects", params={**params, "limit": limit},
                                     headers=person.headers)
                assert len(r.json()["items"]) == limit
                used[(limit, "near" in params)] = sum("housing" in s or "organisations" in s for s in statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert used[(2, False)] == used[(6, False)] and used[(2, True)] == used[(6, True)]
    # page keys, page rows, unit types, organisation names, favourites — and the login's own look-up
    assert used[(6, False)] <= 6


async def test_sorting_by_rent_with_a_layout_sorts_by_the_rent_of_that_layout(client, factory):
    tag = unique("l")
    provider = await factory.provider("housing_operator")
    # the cheapest unit of `mixed` is a studio; its two-room flat is the dearer one
    _, mixed = await factory.published(PROJECT, provider, name=f"混合户型{tag}",
                                       unit_types=[unit("studio", 90000), unit("two_rooms", 300000)])
    _, flats = await factory.published(PROJECT, provider, name=f"两室公寓{tag}", unit_types=[unit("two_rooms", 250000)])
    _, dear = await factory.published(PROJECT, provider, name=f"高价公寓{tag}", unit_types=[unit("two_rooms", 320000)])

    def ids(page: dict[str, Any]) -> list[int]:
        return [p["id"] for p in page["items"]]

    cheapest_first = [flats["id"], mixed["id"], dear["id"]]
    assert ids(await search(client, q=tag, layout=["two_rooms"], sort="rent")) == cheapest_first
    assert ids(await search(client, q=tag, layout=["two_rooms"], sort="rent_desc")) == cheapest_first[::-1]
    # with a rent range too, the matching unit type is the one in range
    assert ids(await search(client, q=tag, layout=["studio", "two_rooms"], rent_min=200000, rent_max=310000,
                            sort="rent")) == [flats["id"], mixed["id"]]
    # and the cursor pages through the same order
    seen, cursor = [], None
    while True:
        page = await search(client, q=tag, layout=["two_rooms"], sort="rent", limit=1, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == cheapest_first
    # without a layout the project's cheapest unit still decides
    assert ids(await search(client, q=tag, sort="rent")) == [mixed["id"], flats["id"], dear["id"]]


async def test_search_refuses_bad_parameters(client):
    for params, where in (({"sort": "distance"}, "near"), ({"near": "abc"}, "near"),
                          ({"district": ["朝阳区"]}, "district.0"), ({"rent_min": 5, "rent_max": 1}, "rent_min"),
                          ({"radius_km": 500, "near": "25,102"}, "radius_km"), ({"cursor": "!!"}, None)):
        r = await client.get(f"{API}/housing/projects", params=params)
        assert r.status_code in (400, 422), (params, r.text)
        if where:
            assert where in r.json()["fields"], (params, r.json())


async def test_available_only_hides_projects_with_no_unit_left(client, factory):
    tag = unique("a")
    provider, full = await factory.published(PROJECT, name=f"满房公寓{tag}", unit_types=[unit(available=1)])
    _, free = await factory.published(PROJECT, provider, name=f"有房公寓{tag}", unit_types=[unit(available=3)])
    person = (await bulk_youth(1))[0]
    app = (await apply(client, full, person)).json()
    await decide(client, provider, app["id"])
    assert [p["id"] for p in (await search(client, q=tag, available_only="true"))["items"]] == [free["id"]]
    assert len((await search(client, q=tag))["items"]) == 2


async def test_favourites(client, factory):
    _, project = await factory.published(PROJECT)
    person = await factory.youth()
    r = await client.put(f"{API}/housing/projects/{project['id']}/favourite", headers=person.headers)
    assert r.status_code == 200 and r.json()["favourited"] is True
    await client.put(f"{API}/housing/projects/{project['id']}/favourite", headers=person.headers)  # idempotent
    favs = (await client.get(f"{API}/me/housing-favourites", headers=person.headers)).json()["items"]
    assert [p["id"] for p in favs] == [project["id"]] and favs[0]["favourited"] is True
    page = (await client.get(f"{API}/housing/projects", params={"q": project["name"]}, headers=person.headers)).json()
    assert page["items"][0]["favourited"] is True
    await client.delete(f"{API}/housing/projects/{project['id']}/favourite", headers=person.headers)
    assert (await client.get(f"{API}/me/housing-favourites", headers=person.headers)).json()["items"] == []
    assert (await client.put(f"{API}/housing/projects/999999999/favourite",
                             headers=person.headers)).status_code == 404


# --- applying --------------------------------------------------------------------------------------------


async def test_each_unmet_eligibility_rule_is_named(client, factory):
    _, project = await factory.published(PROJECT, graduated_within_years=3, require_work_in_kunming=True)
    old = date.today().year - 12
    person = await factory.youth(age=40, profile={"owns_home_in_kunming": True, "works_in_kunming": False,
                                                  "graduation_year": old})
    r = await apply(client, project, person)
    assert r.status_code == 422 and r.json()["code"] == "HOUSING_NOT_ELIGIBLE"
    fields = r.json()["fields"]
    assert set(fields) == {"age", "owns_home_in_kunming", "graduation_year", "works_in_kunming"}
    assert "40" in fields["age"] and str(old) in fields["graduation_year"]
    check = (await client.get(f"{API}/housing/projects/{project['id']}/eligibility", headers=person.headers)).json()
    assert check["eligible"] is False and set(check["unmet"]) == set(fields)

    anonymous = await factory.youth()  # logged in, no real-name profile
    r = await apply(client, project, anonymous)
    assert r.status_code == 403 and r.json()["code"] == "HOUSING_REAL_NAME_REQUIRED"
    ok = await factory.youth(profile=True)
    assert (await client.get(f"{API}/housing/projects/{project['id']}/eligibility",
                             headers=ok.headers)).json() == {"eligible": True, "real_name_verified": True, "unmet": {}}
    assert (await apply(client, project, ok)).status_code == 201


async def test_duplicate_and_fourth_applications_are_refused_with_clear_errors(client, factory):
    provider = await factory.provider("housing_operator")
    projects = [(await factory.published(PROJECT, provider))[1] for _ in range(4)]
    person = await factory.youth(profile=True)
    first = await apply(client, projects[0], person)
    assert first.status_code == 201 and first.json()["status"] == "submitted"
    assert first.json()["number"].startswith(f"HP{projects[0]['id']}-")
    again = await apply(client, projects[0], person)
    assert again.status_code == 409 and again.json()["code"] == "HOUSING_DUPLICATE_APPLICATION"
    assert first.json()["number"] in again.json()["message"]
    assert (await apply(client, projects[1], person)).status_code == 201
    assert (await apply(client, projects[2], person)).status_code == 201
    fourth = await apply(client, projects[3], person)
    assert fourth.status_code == 409 and fourth.json()["code"] == "HOUSING_APPLICATION_LIMIT"
    assert "3" in fourth.json()["message"]

    r = await client.post(f"{API}/me/housing-applications/{first.json()['id']}/withdraw", json={"reason": "已找到住处"},
                          headers=person.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert [h["to_status"] for h in r.json()["history"]] == ["submitted", "withdrawn"]
    assert r.json()["history"][-1]["reason"] == "已找到住处"
    assert (await apply(client, projects[3], person)).status_code == 201
    page = (await client.get(f"{API}/me/housing-applications", params={"active_only": "true"},
                             headers=person.headers)).json()
    assert len(page["items"]) == 3


async def test_an_idempotency_key_replays_the_same_application(client, factory):
    _, project = await factory.published(PROJECT)
    person = (await bulk_youth(1))[0]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r1 = await apply(client, project, person, **key)
    r2 = await apply(client, project, person, **key)
    assert r1.status_code == r2.status_code == 201 and r1.json()["id"] == r2.json()["id"]
    assert r2.headers.get("idempotent-replay") == "true"


async def test_applying_is_rate_limited_per_person(client):
    from app.kit.ratelimit import BUCKETS

    person = (await bulk_youth(1))[0]
    # twice the limit plus one: whichever way the minute windows fall, one of them overflows
    results = [await client.post(f"{API}/housing/projects/999999999/applications", json={"unit_type_id": 1},
                                 headers=person.headers) for _ in range(2 * BUCKETS["housing_apply"].rule().limit + 1)]
    limited = [r for r in results if r.status_code == 429]
    assert limited and limited[0].json()["code"] == "RATE_LIMITED" and limited[0].headers["retry-after"]
    assert {r.status_code for r in results} == {404, 429}


async def test_applying_to_a_unit_type_of_another_project_is_refused(client, factory):
    provider, project = await factory.published(PROJECT)
    _, other = await factory.published(PROJECT, provider)
    person = (await bulk_youth(1))[0]
    r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                          json={"unit_type_id": other["unit_types"][0]["id"]}, headers=person.headers)
    assert r.status_code == 422 and "unit_type_id" in r.json()["fields"]
    r = await client.post(f"{API}/housing/projects/999999999/applications", json={"unit_type_id": 1},
                          headers=person.headers)
    assert r.status_code == 404


async def test_closed_intake_refuses_applications(client, factory):
    provider, project = await factory.published(PROJECT)
    r = await client.post(f"{API}/provider/housing/projects/{project['id']}/close-applications",
                          headers=provider.headers)
    assert r.status_code == 200 and r.json()["intake_closed_at"]
    person = (await bulk_youth(1))[0]
    r = await apply(client, project, person)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATIONS_CLOSED"
    await client.post(f"{API}/provider/housing/projects/{project['id']}/reopen-applications", headers=provider.headers)
    assert (await apply(client, project, person)).status_code == 201


# --- first come ----------------------------------------------------------------------------------------


async def test_first_come_offers_while_units_remain_and_waiting_people_follow_submission_order(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(available=2)])
    people = await bulk_youth(4)
    apps = [(await apply(client, project, p)).json() for p in people]
    for a in (apps[0], apps[1], apps[3], apps[2]):  # the last two are reviewed out of order
        assert (await decide(client, provider, a["id"])).status_code == 200
    states = [(await mine(client, p, a["id"])) for p, a in zip(people, apps, strict=True)]
    assert [s["status"] for s in states] == ["offered", "offered", "eligible", "eligible"]
    assert [s["waiting_position"] for s in states] == [None, None, 1, 2]
    assert states[0]["offer_expires_at"] and states[0]["history"][-1]["reason"]
    detail = (await client.get(f"{API}/housing/projects/{project['id']}")).json()
    assert detail["units_remaining"] == 0 and detail["unit_types"][0]["remaining_units"] == 0

    r = await client.post(f"{API}/me/housing-applications/{apps[0]['id']}/decline", json={"reason": "离单位太远"},
                          headers=people[0].headers)
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert (await mine(client, people[2], apps[2]["id"]))["status"] == "offered"  # submitted before apps[3]
    assert (await mine(client, people[3], apps[3]["id"]))["waiting_position"] == 1
    r = await client.post(f"{API}/me/housing-applications/{apps[1]['id']}/accept", headers=people[1].headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert [h["to_status"] for h in r.json()["history"]] == ["submitted", "eligible", "offered", "accepted"]
    r = await client.post(f"{API}/me/housing-applications/{apps[1]['id']}/withdraw", headers=people[1].headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATION_STATE"
    r = await client.post(f"{API}/me/housing-applications/{apps[3]['id']}/accept", headers=people[3].headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATION_STATE"


async def test_ineligible_needs_a_reason_and_the_applicant_sees_it(client, factory):
    provider, project = await factory.published(PROJECT)
    person = (await bulk_youth(1))[0]
    app = (await apply(client, project, person)).json()
    r = await decide(client, provider, app["id"], "ineligible")
    assert r.status_code == 422
    r = await decide(client, provider, app["id"], "ineligible", "申报的工作单位不在昆明")
    assert r.status_code == 200 and r.json()["status"] == "ineligible"
    assert (await decide(client, provider, app["id"], "eligible")).status_code == 409
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "ineligible" and seen["status_reason"] == "申报的工作单位不在昆明"
    notes = (await client.get(f"{API}/me/notifications", headers=person.headers)).json()["items"]
    assert any(n["kind"] == "housing.ineligible" and "不在昆明" in n["body"] for n in notes)


async def test_unit_type_edits_keep_the_search_figures_and_protect_what_people_applied_for(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(rent=150000, available=1)])
    pid, uid = project["id"], project["unit_types"][0]["id"]
    r = await client.post(f"{API}/provider/housing/projects/{pid}/unit-types", json=unit("one_room", 90000),
                          headers=provider.headers)
    assert r.status_code == 201 and r.json()["min_rent_fen"] == 90000 and r.json()["max_rent_fen"] == 150000
    assert (await search(client, q=project["name"]))["items"][0]["min_rent_fen"] == 90000
    people = await bulk_youth(2)
    apps = [(await apply(client, project, p)).json() for p in people]
    for a in apps:
        await decide(client, provider, a["id"])
    r = await client.patch(f"{API}/provider/housing/projects/{pid}/unit-types/{uid}", json={"rent_fen": 160000},
                           headers=provider.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_UNIT_TYPE_IN_USE"
    r = await client.patch(f"{API}/provider/housing/projects/{pid}/unit-types/{uid}", json={"available_units": 0},
                           headers=provider.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_UNITS_BELOW_TAKEN"
    # one more unit goes straight to the person waiting
    r = await client.patch(f"{API}/provider/housing/projects/{pid}/unit-types/{uid}", json={"available_units": 2},
                           headers=provider.headers)
    assert r.status_code == 200
    assert (await mine(client, people[1], apps[1]["id"]))["status"] == "offered"
    r = await client.delete(f"{API}/provider/housing/projects/{pid}/unit-types/{uid}", headers=provider.headers)
    assert r.status_code == 409


async def withdraw_offer(client: Any, provider: Any, application_id: int, reason: str | None) -> Any:
    return await client.post(f"{API}/provider/housing/applications/{application_id}/withdraw-offer",
                             json={} if reason is None else {"reason": reason}, headers=provider.headers)


async def correct(client: Any, provider: Any, application_id: int, decision: str, reason: str | None) -> Any:
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    return await client.post(f"{API}/provider/housing/applications/{application_id}/correct-decision", json=body,
                             headers=provider.headers)


async def test_a_provider_withdraws_an_offer_with_a_reason_and_the_unit_passes_on(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(available=1)])
    people = await bulk_youth(2)
    apps = [(await apply(client, project, p)).json() for p in people]
    for a in apps:
        await decide(client, provider, a["id"])
    assert (await mine(client, people[0], apps[0]["id"]))["status"] == "offered"

    assert (await withdraw_offer(client, provider, apps[0]["id"], None)).status_code == 422
    other = await factory.provider("housing_operator")
    assert (await withdraw_offer(client, other, apps[0]["id"], "核实信息")).status_code == 404
    r = await withdraw_offer(client, provider, apps[0]["id"], "经核实该套房源需维修，暂不能交付")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked" and r.json()["status_reason"] == "经核实该套房源需维修，暂不能交付"
    seen = await mine(client, people[0], apps[0]["id"])
    assert seen["status"] == "revoked" and seen["status_label"] == "房源已撤销"
    assert [(h["to_status"], h["actor_role"]) for h in seen["history"]] == [
        ("submitted", "youth"), ("eligible", "provider"), ("offered", "system"), ("revoked", "provider")]
    assert seen["history"][-1]["reason"] == "经核实该套房源需维修，暂不能交付"
    # the unit goes to the next in line, as on a decline
    assert (await mine(client, people[1], apps[1]["id"]))["status"] == "offered"
    assert await allocation_state(project["id"]) == (1, 1, 0)
    notes = (await client.get(f"{API}/me/notifications", headers=people[0].headers)).json()["items"]
    assert any(n["kind"] == "housing.offer_withdrawn" and "需维修" in n["body"] for n in notes)
    r = await withdraw_offer(client, provider, apps[0]["id"], "再撤一次")
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATION_STATE"
    staff = await factory.reviewer()
    assert "housing_application.withdraw_offer" in await audit_actions(client, staff, target_id=apps[0]["id"])


async def test_a_provider_corrects_a_decision_and_a_freed_unit_passes_on(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(available=1)])
    people = await bulk_youth(3)
    apps = [(await apply(client, project, p)).json() for p in people]
    await decide(client, provider, apps[0]["id"])  # offered the one unit
    await decide(client, provider, apps[1]["id"], "ineligible", "申报的工作单位不在昆明")
    await decide(client, provider, apps[2]["id"])  # waiting

    # eligible and offered → ineligible: the offer goes and the unit passes to the next in line
    assert (await correct(client, provider, apps[0]["id"], "ineligible", None)).status_code == 422
    r = await correct(client, provider, apps[0]["id"], "ineligible", "核实发现在昆明有自有住房")
    assert r.status_code == 200 and r.json()["status"] == "ineligible", r.text
    assert (await mine(client, people[2], apps[2]["id"]))["status"] == "offered"
    seen = await mine(client, people[0], apps[0]["id"])
    assert seen["status_reason"] == "核实发现在昆明有自有住房"
    assert [h["to_status"] for h in seen["history"]] == ["submitted", "eligible", "offered", "ineligible"]
    # ineligible → eligible: back in line in its original place (it applied before the one now offered)
    r = await correct(client, provider, apps[1]["id"], "eligible", "工作单位已核实在昆明")
    assert r.status_code == 200 and r.json()["status"] == "eligible"
    assert (await mine(client, people[1], apps[1]["id"]))["waiting_position"] == 1
    notes = (await client.get(f"{API}/me/notifications", headers=people[1].headers)).json()["items"]
    assert any(n["kind"] == "housing.decision_corrected" and "已核实在昆明" in n["body"] for n in notes)
    assert await allocation_state(project["id"]) == (1, 1, 0)

    r = await correct(client, provider, apps[1]["id"], "eligible", "再确认一次")
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATION_STATE"
    assert (await client.post(f"{API}/me/housing-applications/{apps[2]['id']}/accept",
                              headers=people[2].headers)).status_code == 200
    r = await correct(client, provider, apps[2]["id"], "ineligible", "已确认入住后不能更改")
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATION_STATE"
    staff = await factory.reviewer()
    assert "housing_application.correct" in await audit_actions(client, staff, target_id=apps[0]["id"])


async def test_on_a_drawn_lottery_a_decision_stays_but_a_withdrawn_offer_goes_to_the_next_drawn(client, factory):
    provider, project, _, by_number = await lottery_with(client, factory, applicants=3, units=1)
    order = (await seed_and_draw(client, await factory.reviewer(), project["id"], "withdraw-seed"))["order"]
    first, second = by_number[order[0]], by_number[order[1]]
    first_app = (await client.get(f"{API}/me/housing-applications", headers=first.headers)).json()["items"][0]
    r = await correct(client, provider, first_app["id"], "ineligible", "核实发现在昆明有自有住房")
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_LIST_FROZEN"
    assert (await withdraw_offer(client, provider, first_app["id"], "核实发现在昆明有自有住房")).status_code == 200
    second_app = (await client.get(f"{API}/me/housing-applications", headers=second.headers)).json()["items"][0]
    assert second_app["status"] == "offered"
    results = (await client.get(f"{API}/housing/projects/{project['id']}/lottery")).json()["results"]
    assert [x["outcome"] for x in results] == ["revoked", "offered", "eligible"]


# --- the lottery ------------------------------------------------------------------------------------------


async def test_a_lottery_is_verifiable_and_offers_exactly_the_available_units(client, factory):
    provider, project, frozen, by_number = await lottery_with(client, factory, applicants=7, units=3)
    pid = project["id"]
    entries = sorted(by_number)
    assert frozen["entries"] == entries and frozen["status"] == "frozen"
    assert frozen["list_sha256"] == hashlib.sha256("\n".join(entries).encode()).hexdigest()
    late = (await bulk_youth(1))[0]
    r = await apply(client, project, late)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_APPLICATIONS_CLOSED"

    staff = await factory.reviewer()
    r = await client.post(f"{API}/staff/housing/projects/{pid}/lottery/draw", headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_LOTTERY_STATE"  # no seed announced yet
    drawn = await seed_and_draw(client, staff, pid, "2026320-4-7-1")
    assert drawn["order"] == recompute("2026320-4-7-1", entries)
    public = (await client.get(f"{API}/housing/projects/{pid}/lottery")).json()
    assert public["order"] == drawn["order"] and public["seed"] == "2026320-4-7-1" and public["algorithm"]
    offered = [r["number"] for r in public["results"] if r["outcome"] == "offered"]
    assert offered == drawn["order"][:3]  # exactly the available units, to the first in draw order
    assert [r["outcome"] for r in public["results"][3:]] == ["eligible"] * 4
    outcomes = {r["number"]: (r["outcome"], r["outcome_label"]) for r in public["results"]}
    for number, person in by_number.items():
        state = (await client.get(f"{API}/me/housing-applications", headers=person.headers)).json()["items"][0]
        assert state["status"] == ("offered" if number in offered else "eligible")
        # the lottery page and the application name a state the same way
        assert outcomes[number] == (state["status"], state["status_label"])
        assert state["draw_position"] == drawn["order"].index(number) + 1
    # pseudonymous: application numbers only, never who applied
    assert set(public["results"][0]) == {"position", "number", "unit_type_id", "outcome", "outcome_label"}
    text = json.dumps(public, ensure_ascii=False)
    assert "青年" not in text and "user" not in text and "name" not in text

    from app.services.housing import verify_lottery
    assert verify_lottery(public) == []
    tampered = dict(public, order=list(reversed(public["order"])))
    assert verify_lottery(tampered)
    r = await client.post(f"{API}/staff/housing/projects/{pid}/lottery/seed", json={"seed": "other", "source": "另一期开奖号码"},
                          headers=staff.headers)
    assert r.status_code == 409  # the announced seed cannot be swapped afterwards
    r = await client.post(f"{API}/staff/housing/projects/{pid}/lottery/seed", json={"seed": "x", "source": "试试"},
                          headers=provider.headers)
    assert r.status_code == 403

    actions = await audit_actions(client, staff, target_kind="housing_project", target_id=pid)
    for action in ("housing_project.create", "housing_project.submit", "housing_project.approve",
                   "housing_lottery.freeze", "housing_lottery.seed", "housing_lottery.draw"):
        assert action in actions, action
    decisions = await audit_actions(client, staff, action="housing_application.decide", actor_id=provider.user_id)
    assert len(decisions) == 7


async def test_the_lottery_page_counts_units_per_unit_type(client, factory):
    provider, project = await factory.published(PROJECT, allocation="lottery", unit_types=[
        unit("studio", 95000, available=2, total=6), unit("one_room", 135000, available=2, total=4)])
    studio, one_room = (u["id"] for u in project["unit_types"])
    for p in await bulk_youth(4):  # everyone wants a studio, as in the demo's lottery
        a = (await apply(client, project, p)).json()
        await decide(client, provider, a["id"])
    await client.post(f"{API}/provider/housing/projects/{project['id']}/lottery/freeze", headers=provider.headers)
    drawn = await seed_and_draw(client, await factory.reviewer(), project["id"], "units-seed")
    assert drawn["units_available"] == 4  # both unit types together
    by_type = {u["unit_type_id"]: u for u in drawn["unit_types"]}

    def counts(u: dict[str, Any]) -> tuple[int, int, int]:
        return u["available_units"], u["remaining_units"], u["entries"]

    assert counts(by_type[studio]) == (2, 0, 4) and counts(by_type[one_room]) == (2, 2, 0)
    offered = [x for x in drawn["results"] if x["outcome"] == "offered"]
    assert len(offered) == by_type[studio]["available_units"] and {x["unit_type_id"] for x in offered} == {studio}


async def test_the_list_cannot_be_frozen_with_undecided_applications_or_changed_after(client, factory):
    provider, project = await factory.published(PROJECT, allocation="lottery")
    people = await bulk_youth(2)
    apps = [(await apply(client, project, p)).json() for p in people]
    freeze = f"{API}/provider/housing/projects/{project['id']}/lottery/freeze"
    r = await client.post(freeze, headers=provider.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_UNDECIDED_APPLICATIONS" and "2" in r.json()["message"]
    await decide(client, provider, apps[0]["id"])
    await decide(client, provider, apps[1]["id"], "ineligible", "在昆明有自有住房")
    r = await client.post(freeze, headers=provider.headers)
    assert r.status_code == 200 and r.json()["entries"] == [apps[0]["number"]]
    assert (await client.post(freeze, headers=provider.headers)).status_code == 409
    first_come = (await factory.published(PROJECT, provider))[1]
    r = await client.post(f"{API}/provider/housing/projects/{first_come['id']}/lottery/freeze", headers=provider.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_NOT_LOTTERY"
    assert (await client.get(f"{API}/housing/projects/{first_come['id']}/lottery")).status_code == 404


async def application_row(application_id: int) -> Any:
    from app.db import session_scope
    from models.housing import HousingApplication

    async with session_scope() as session:
        return await session.get(HousingApplication, application_id)


async def run_sweeper() -> int:
    from app.kit import sweeper

    return await sweeper.run_job(sweeper.JOBS["housing.expire_offers"])


async def test_an_offer_past_its_time_shows_as_lapsed_and_the_sweeper_passes_it_on(client, factory, travel):
    from tests.factories import now

    provider, project, _, by_number = await lottery_with(client, factory, applicants=3, units=1)
    staff = await factory.reviewer()
    order = (await seed_and_draw(client, staff, project["id"], "expiry-seed"))["order"]
    first, second, third = (by_number[n] for n in order)
    first_app = (await client.get(f"{API}/me/housing-applications", headers=first.headers)).json()["items"][0]
    assert first_app["status"] == "offered"

    # 73 hours later, before the sweeper has run: every read shows the lapse, and none stores it
    later = travel(now() + timedelta(hours=73))
    seen = await mine(client, first, first_app["id"])
    assert seen["status"] == "expired" and seen["status_label"] == "确认超时" and "顺延" in seen["status_reason"]
    assert [h["to_status"] for h in seen["history"]][-2:] == ["offered", "expired"]
    listed = (await client.get(f"{API}/me/housing-applications", headers=first.headers)).json()["items"]
    assert listed[0]["status"] == "expired"
    active = (await client.get(f"{API}/me/housing-applications", params={"active_only": "true"},
                               headers=first.headers)).json()["items"]
    assert active == []
    lottery = (await client.get(f"{API}/housing/projects/{project['id']}/lottery")).json()
    assert [x["outcome"] for x in lottery["results"]] == ["expired", "eligible", "eligible"]
    mine_ = (await client.get(f"{API}/housing/projects/{project['id']}", headers=first.headers)).json()
    assert mine_["my_application"]["status"] == "expired"
    provider_page = f"{API}/provider/housing/projects/{project['id']}/applications"
    lapsed = (await client.get(provider_page, params={"status": "expired"}, headers=provider.headers)).json()
    assert [a["id"] for a in lapsed["items"]] == [first_app["id"]]
    assert (await client.get(provider_page, params={"status": "offered"}, headers=provider.headers)).json()["items"] == []
    counts = (await client.get(f"{API}/provider/housing/projects/{project['id']}",
                               headers=provider.headers)).json()["application_counts"]
    assert counts == {"expired": 1, "eligible": 2}
    csv = (await client.get(f"{provider_page}.csv", headers=provider.headers)).content.decode("utf-8-sig")
    assert "确认超时" in csv and "待确认入住" not in csv
    assert (await application_row(first_app["id"])).status == "offered"  # nothing was written
    second_app = (await client.get(f"{API}/me/housing-applications", headers=second.headers)).json()["items"][0]
    assert second_app["status"] == "eligible"

    # the sweeper stores the lapse and passes the unit on, once however often it runs
    assert await run_sweeper() >= 1
    await run_sweeper()
    assert (await application_row(first_app["id"])).status == "expired"
    assert (await application_row(second_app["id"])).status == "offered"
    r = await client.post(f"{API}/me/housing-applications/{first_app['id']}/accept", headers=first.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_OFFER_EXPIRED"

    # the sweeper is late for the second offer: answering it stores the lapse first and moves it on
    travel(later + timedelta(hours=73))
    r = await client.post(f"{API}/me/housing-applications/{second_app['id']}/accept", headers=second.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_OFFER_EXPIRED"
    assert (await application_row(second_app["id"])).status == "expired"
    third_app = (await client.get(f"{API}/me/housing-applications", headers=third.headers)).json()["items"][0]
    assert third_app["status"] == "offered"
    r = await client.post(f"{API}/me/housing-applications/{third_app['id']}/accept", headers=third.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    results = (await client.get(f"{API}/housing/projects/{project['id']}/lottery")).json()["results"]
    assert [x["outcome"] for x in results] == ["expired", "expired", "accepted"]
    kinds = [n["kind"] for n in (await client.get(f"{API}/me/notifications", headers=first.headers)).json()["items"]]
    assert kinds.count("housing.offer_expired") == 1 and "housing.offered" in kinds
    notes = (await client.get(f"{API}/me/notifications", headers=third.headers)).json()["items"]
    assert any(n["kind"] == "housing.lottery_waiting" and "第 3 位" in n["body"] for n in notes)


@pytest.mark.postgres
async def test_two_sweepers_at_once_lapse_each_offer_once(client, factory):
    from app.db import session_scope
    from app.services.housing import expire_offers
    from models.base import utcnow
    from models.housing import HousingApplication, HousingApplicationEvent

    waiting = []
    offered = []
    for _ in range(6):
        provider, project = await factory.published(PROJECT, unit_types=[unit(available=1)])
        people = await bulk_youth(2)
        apps = [(await apply(client, project, p)).json() for p in people]
        for a in apps:
            assert (await decide(client, provider, a["id"])).status_code == 200
        offered.append(apps[0]["id"])
        waiting.append(apps[1]["id"])
    async with session_scope() as session:
        await session.execute(update(HousingApplication).where(HousingApplication.id.in_(offered))
                              .values(offer_expires_at=utcnow() - timedelta(minutes=1)))

    async def sweep_once() -> int:
        async with session_scope() as session:  # straight to the job: no per-job advisory lock between them
            return await expire_offers(session, utcnow())

    await asyncio.gather(sweep_once(), sweep_once())
    async with session_scope() as session:
        events = (await session.execute(select(HousingApplicationEvent.application_id, HousingApplicationEvent.to_status)
                                        .where(HousingApplicationEvent.application_id.in_(offered + waiting)))).all()
    lapses = [a for a, to in events if to == "expired"]
    offers = [a for a, to in events if to == "offered"]
    assert sorted(lapses) == sorted(offered)
    assert sorted(offers) == sorted(offered + waiting)  # the first offer, then exactly one to the next
    for app_id in waiting:
        assert (await application_row(app_id)).status == "offered"


async def test_a_redraw_needs_a_reason_and_a_new_seed_and_is_impossible_after_an_acceptance(client, factory):
    _, project, _, by_number = await lottery_with(client, factory, applicants=4, units=2)
    pid = project["id"]
    staff = await factory.reviewer()
    first = await seed_and_draw(client, staff, pid, "seed-one")
    redraw = f"{API}/staff/housing/projects/{pid}/lottery/redraw"
    r = await client.post(redraw, json={"seed": "seed-two", "source": "福彩3D 第2026321期"}, headers=staff.headers)
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = await client.post(redraw, json={"seed": "seed-one", "source": "同一期", "reason": "公告期号有误"},
                          headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_SEED_REUSED"
    r = await client.post(redraw, json={"seed": "seed-two", "source": "福彩3D 第2026321期", "reason": "公告期号有误"},
                          headers=staff.headers)
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["round"] == 2 and second["order"] == recompute("seed-two", sorted(by_number))
    assert second["previous_draws"][0]["order"] == first["order"]
    assert second["previous_draws"][0]["seed"] == "seed-one"
    from app.services.housing import verify_lottery
    assert verify_lottery(second) == []
    offered = [x["number"] for x in second["results"] if x["outcome"] == "offered"]
    assert offered == second["order"][:2]
    log = (await client.get(f"{API}/staff/audit-log", params={"action": "housing_lottery.redraw", "target_id": pid},
                            headers=staff.headers)).json()["items"]
    assert len(log) == 1 and log[0]["reason"] == "公告期号有误"

    winner = by_number[offered[0]]
    app = (await client.get(f"{API}/me/housing-applications", headers=winner.headers)).json()["items"][0]
    assert (await client.post(f"{API}/me/housing-applications/{app['id']}/accept",
                              headers=winner.headers)).status_code == 200
    r = await client.post(redraw, json={"seed": "seed-three", "source": "第2026322期", "reason": "再次更正"},
                          headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "HOUSING_REDRAW_AFTER_ACCEPT"


async def test_verify_lottery_command_recomputes_from_a_file_and_from_the_database(client, factory, tmp_path):
    import subprocess
    import sys

    import typer

    from app import cli_housing
    from tests.conftest import ROOT

    _, project, _, _ = await lottery_with(client, factory, applicants=3, units=1)
    await seed_and_draw(client, await factory.reviewer(), project["id"], "cli-seed")
    public = (await client.get(f"{API}/housing/projects/{project['id']}/lottery")).json()
    good, bad = tmp_path / "lottery.json", tmp_path / "bad.json"
    good.write_text(json.dumps(public), encoding="utf-8")
    bad.write_text(json.dumps(dict(public, order=public["order"][::-1])), encoding="utf-8")
    cli_housing.verify_lottery(file=good)  # returns normally: valid
    with pytest.raises(typer.Exit) as failed:
        cli_housing.verify_lottery(file=bad)
    assert failed.value.exit_code == 1
    # from the database, as the command runs in production (its own process and engine)
    code = "import typer; from app.cli_housing import verify_lottery; typer.run(verify_lottery)"
    res = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", code, "--project-id", str(project["id"])],
                                  cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "OK" in res.stdout and public["list_sha256"] in res.stdout, res.stdout + res.stderr


# --- reports, privacy, audit -------------------------------------------------------------------------------


async def test_the_csv_export_masks_id_and_phone_numbers_and_is_audited(client, factory):
    from app import crypto
    from app.db import session_scope
    from models.accounts import User

    provider, project = await factory.published(PROJECT)
    id_number = make_id_number(date(date.today().year - 24, 6, 1), "male")
    person = await factory.youth(profile={"id_number": id_number}, gender="male")
    async with session_scope() as session:  # a bound phone number, as WeChat's phone binding leaves it
        await session.execute(update(User).where(User.id == person.user_id).values(
            phone="13987654321", phone_hash=crypto.lookup_hash("13987654321", "phone"), phone_masked="139****4321"))
    app = (await apply(client, project, person)).json()
    page = (await client.get(f"{API}/provider/housing/projects/{project['id']}/applications",
                             headers=provider.headers)).json()
    applicant = page["items"][0]["applicant"]
    assert applicant["id_number_masked"] != id_number and applicant["phone_masked"] == "139****4321"
    assert "id_number" not in applicant and "phone" not in applicant

    r = await client.get(f"{API}/provider/housing/projects/{project['id']}/applications.csv", headers=provider.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert app["number"] in text and "139****4321" in text and id_number[:4] in text
    assert id_number not in text and "13987654321" not in text
    staff = await factory.reviewer()
    log = (await client.get(f"{API}/staff/audit-log", params={"target_kind": "housing_project",
                                                              "target_id": project["id"]},
                            headers=staff.headers)).json()["items"]
    exports = [e for e in log if e["action"] == "housing_application.export"]
    reads = [e for e in log if e["action"] == "housing_application.list"]
    assert exports and reads and exports[0]["actor_id"] == provider.user_id
    assert id_number not in json.dumps(log) and "13987654321" not in json.dumps(log)


async def test_a_formula_in_a_name_is_defused_in_the_csv(client, factory):
    provider, project = await factory.published(PROJECT)
    person = (await bulk_youth(1, real_name="=HYPERLINK(\"x\")"))[0]
    await apply(client, project, person)
    r = await client.get(f"{API}/provider/housing/projects/{project['id']}/applications.csv", headers=provider.headers)
    assert "'=HYPERLINK" in r.content.decode("utf-8-sig")


async def test_applicants_are_seen_only_by_the_projects_organisation(client, factory):
    _, project = await factory.published(PROJECT)
    person = (await bulk_youth(1))[0]
    app = (await apply(client, project, person)).json()
    other = await factory.provider("housing_operator")
    assert (await decide(client, other, app["id"])).status_code == 404
    stranger = (await bulk_youth(1))[0]
    assert (await client.get(f"{API}/me/housing-applications/{app['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.post(f"{API}/me/housing-applications/{app['id']}/withdraw",
                              headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{API}/provider/housing/projects/{project['id']}/applications",
                             headers=person.headers)).status_code == 403
    assert (await client.get(f"{API}/provider/housing/projects/{project['id']}/applications")).status_code == 401


# --- no over-allocation --------------------------------------------------------------------------------


async def allocation_state(project_id: int) -> tuple[int, int, int]:
    """(offered or accepted applications, taken units, the project's remaining units) from the database."""
    from app.db import session_scope
    from models.housing import HousingApplication as App
    from models.housing import HousingProject, HousingUnitType

    async with session_scope() as session:
        offered = (await session.execute(select(func.count()).select_from(App).where(
            App.project_id == project_id, App.status.in_(("offered", "accepted"))))).scalar()
        taken = (await session.execute(select(func.sum(HousingUnitType.taken_units)).where(
            HousingUnitType.project_id == project_id))).scalar()
        remaining = (await session.get(HousingProject, project_id)).units_remaining
    return offered, taken, remaining


async def test_many_decisions_at_once_never_offer_more_than_the_units(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(available=3)])
    people = await bulk_youth(8)
    apps = [(await apply(client, project, p)).json() for p in people]
    results = await asyncio.gather(*(decide(client, provider, a["id"]) for a in apps))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    assert await allocation_state(project["id"]) == (3, 3, 0)


@pytest.mark.postgres
async def test_concurrent_decisions_and_answers_on_postgres_never_over_allocate(client, factory):
    provider, project = await factory.published(PROJECT, unit_types=[unit(available=5, total=20)])
    people = await bulk_youth(40)
    apps = [(await apply(client, project, p)).json() for p in people]
    results = await asyncio.gather(*(decide(client, provider, a["id"]) for a in apps))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    assert await allocation_state(project["id"]) == (5, 5, 0)
    # offers are declined and accepted at once while the provider adds units: still exact
    offered = [(p, a) for p, a in zip(people, apps, strict=True)
               if (await mine(client, p, a["id"]))["status"] == "offered"]
    calls = [client.post(f"{API}/me/housing-applications/{a['id']}/{'decline' if i % 2 else 'accept'}",
                         headers=p.headers) for i, (p, a) in enumerate(offered)]
    calls.append(client.patch(f"{API}/provider/housing/projects/{project['id']}/unit-types/"
                              f"{project['unit_types'][0]['id']}", json={"available_units": 7}, headers=provider.headers))
    answers = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200]
    assert await allocation_state(project["id"]) == (7, 7, 0)


@pytest.mark.postgres
async def test_concurrent_applications_keep_one_per_project_and_three_in_all(client, factory):
    provider = await factory.provider("housing_operator")
    projects = [(await factory.published(PROJECT, provider))[1] for _ in range(4)]
    person = (await bulk_youth(1))[0]
    calls = [apply(client, p, person) for p in projects for _ in range(2)]  # 8: under the rate limit
    results = await asyncio.gather(*calls)
    created = [r for r in results if r.status_code == 201]
    assert len(created) == 3
    assert {r.json()["code"] for r in results if r.status_code != 201} <= {
        "HOUSING_DUPLICATE_APPLICATION", "HOUSING_APPLICATION_LIMIT"}
    assert len({r.json()["project_id"] for r in created}) == 3


async def test_the_offer_expiry_is_a_documented_setting(client, factory, monkeypatch):
    from app.services.housing.settings import HousingSettings, housing_settings
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in HousingSettings.model_fields:
        assert f"`YOUTH_{name.upper()}`" in readme, name
    assert HousingSettings.model_fields["housing_offer_expiry_hours"].default == 72
    monkeypatch.setenv("YOUTH_HOUSING_OFFER_EXPIRY_HOURS", "24")
    assert HousingSettings().housing_offer_expiry_hours == 24

    monkeypatch.setattr(housing_settings(), "housing_offer_expiry_hours", 24)
    provider, project = await factory.published(PROJECT)
    person = (await bulk_youth(1))[0]
    app = (await apply(client, project, person)).json()
    await decide(client, provider, app["id"])
    seen = await mine(client, person, app["id"])
    answer_by = datetime.fromisoformat(seen["offer_expires_at"]) - datetime.fromisoformat(seen["offered_at"])
    assert answer_by == timedelta(hours=24) and "24 小时" in seen["history"][-1]["reason"]


async def test_an_anonymous_first_page_is_kept_a_moment_and_nothing_personal_is(client, factory, monkeypatch):
    from app.kit import cache
    from app.services.housing.search import FIRST_PAGES
    from app.services.housing.settings import housing_settings

    monkeypatch.setattr(housing_settings(), "housing_search_cache_seconds", 2.0)
    at = [1000.0]
    monkeypatch.setattr(cache, "_now", lambda: at[0])
    FIRST_PAGES.clear()
    tag = unique("c")
    provider, first = await factory.published(PROJECT, name=f"缓存公寓{tag}-1")
    person = (await bulk_youth(1))[0]
    assert [p["id"] for p in (await search(client, q=tag, limit=1))["items"]] == [first["id"]]
    _, second = await factory.published(PROJECT, provider, name=f"缓存公寓{tag}-2")
    # Within the two seconds the same anonymous first page is the kept one...
    at[0] += 1.5
    kept = await search(client, q=tag, limit=1)
    assert [p["id"] for p in kept["items"]] == [first["id"]]
    # ...but a logged-in person, another page size, and the next page all read afresh.
    mine = await client.get(f"{API}/housing/projects", params={"q": tag, "limit": 1}, headers=person.headers)
    assert [p["id"] for p in mine.json()["items"]] == [second["id"]] and mine.json()["items"][0]["favourited"] is False
    assert [p["id"] for p in (await search(client, q=tag, limit=2))["items"]] == [second["id"], first["id"]]
    assert kept["next_cursor"] is None
    at[0] += 1.0
    assert [p["id"] for p in (await search(client, q=tag, limit=1))["items"]] == [second["id"]]
    FIRST_PAGES.clear()


async def test_a_search_page_is_exactly_the_documented_card(client, factory):
    from app.kit.pagination import Page
    from app.schemas.housing import ProjectCard

    tag = unique("j")
    provider = await factory.provider("housing_operator")
    for i in range(3):
        await factory.published(PROJECT, provider, name=f"卡片公寓{tag}-{i}",
                                unit_types=[unit("studio"), unit("two_rooms", 220000)])
    person = (await bulk_youth(1))[0]
    for headers in ({}, person.headers):
        r = await client.get(f"{API}/housing/projects", params={"q": tag, "near": "25.04,102.71", "radius_km": 50},
                             headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        # Built as plain rows, checked against the schema: the same JSON a Page[ProjectCard] gives.
        assert Page[ProjectCard].model_validate(body).model_dump(mode="json") == body
        assert len(body["items"]) == 3 and all(len(c["unit_types"]) == 2 for c in body["items"])
        assert {c["favourited"] for c in body["items"]} == ({None} if not headers else {False})
        assert all(c["distance_km"] is not None and c["org_name"] for c in body["items"])

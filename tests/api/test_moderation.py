"""Moderation: reports weighed by the reporter's standing (no take-down weapon), urgent review, hiding
for the reasons that must not wait, one decision per reported target, the review screen, and the
decisions told to the organisation's owners."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from tests.factories import API, bulk_youth, draft, published

REVIEWS = f"{API}/staff/reviews"


def report_body(project: dict[str, Any], reason: str = "false_info") -> dict[str, Any]:
    return {"target_kind": "housing_project", "target_id": project["id"], "reason_code": reason}


async def seasoned(n: int) -> list[Any]:
    """Real-name verified young people whose accounts are 40 days old: reporters with standing."""
    from models.base import utcnow

    return await bulk_youth(n, created_at=utcnow() - timedelta(days=40))


async def report_all(client: Any, people: list[Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for person in people:
        r = await client.post(f"{API}/reports", json=body, headers=person.headers)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


async def queue(client: Any, staff: Any, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(REVIEWS, params={"kind": "housing_project", "limit": 100, **params}, headers=staff.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def notes_of(user_id: int, kind: str) -> list[Any]:
    from app.db import session_scope
    from models.notifications import Notification

    async with session_scope() as s:
        return list((await s.execute(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id))).scalars())


async def test_five_fresh_accounts_no_longer_hide_a_posting(client, factory):
    _, project = await published(client, "housing_project")
    fresh_verified = await bulk_youth(5)  # real-name verified, but made a moment ago
    fresh_wechat = [await factory.youth() for _ in range(5)]  # not even verified
    await report_all(client, fresh_verified, report_body(project, "fraud"))
    await report_all(client, fresh_wechat, report_body(project, "illegal"))
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 200
    search = await client.get(f"{API}/housing/projects", params={"q": project["name"]})
    assert [p["id"] for p in search.json()["items"]] == [project["id"]]
    staff = await factory.reviewer()
    assert project["id"] not in [i["id"] for i in await queue(client, staff, status="urgent")]
    # staff still see every report, marked as not counting
    listed = (await client.get(f"{API}/staff/reports", params={"target_kind": "housing_project",
                                                               "target_id": project["id"], "limit": 100},
                               headers=staff.headers)).json()["items"]
    assert len(listed) == 10 and not any(r["counted"] for r in listed)


async def test_reporters_with_standing_queue_a_posting_as_urgent_and_it_stays_online(client, factory):
    _, project = await published(client, "housing_project")
    owner, waiting = await draft(client, "housing_project")
    staff = await factory.reviewer()
    # Submitted after the project was published: an urgent posting goes before it whatever its age.
    r = await client.post(f"{API}/provider/postings/housing_project/{waiting['id']}/submit", headers=owner.headers)
    assert r.status_code == 200, r.text
    people = await seasoned(2)
    await report_all(client, people[:1], report_body(project))
    # the same person again is the same report
    r = await client.post(f"{API}/reports", json=report_body(project, "fraud"), headers=people[0].headers)
    assert r.status_code == 201 and r.json()["reason_code"] == "false_info"
    assert project["id"] not in [i["id"] for i in await queue(client, staff)]
    await report_all(client, people[1:], report_body(project))
    items = await queue(client, staff)  # the default view: what needs review
    ids = [i["id"] for i in items]
    assert project["id"] in ids and waiting["id"] in ids and ids.index(project["id"]) < ids.index(waiting["id"])
    urgent = next(i for i in items if i["id"] == project["id"])
    assert urgent["urgent"] and urgent["standing_reports"] == 2 and urgent["status"] == "published"
    assert not urgent["hidden_by_reports"]
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 200
    detail = (await client.get(f"{REVIEWS}/housing_project/{project['id']}", headers=staff.headers)).json()
    assert detail["urgent"] and detail["standing_reports"] == 2


async def test_only_reasons_that_must_not_wait_hide_and_only_from_reporters_with_standing(client, factory):
    _, spammy = await published(client, "housing_project")
    _, fraud = await published(client, "housing_project")
    people = await seasoned(3)
    await report_all(client, people, report_body(spammy, "spam"))
    assert (await client.get(f"{API}/housing/projects/{spammy['id']}")).status_code == 200
    await report_all(client, people[:2], report_body(fraud, "fraud"))
    await report_all(client, await bulk_youth(3), report_body(fraud, "fraud"))  # fresh: still no weight
    assert (await client.get(f"{API}/housing/projects/{fraud['id']}")).status_code == 200
    await report_all(client, people[2:], report_body(fraud, "fraud"))
    assert (await client.get(f"{API}/housing/projects/{fraud['id']}")).status_code == 404
    search = await client.get(f"{API}/housing/projects", params={"q": fraud["name"]})
    assert search.json()["items"] == []
    staff = await factory.reviewer()
    hidden = [i["id"] for i in await queue(client, staff, status="hidden")]
    assert fraud["id"] in hidden and spammy["id"] not in hidden


async def test_a_fresh_verified_applicant_has_standing_and_a_provider_never_does(client, factory):
    _, project = await published(client, "housing_project")
    applicants = await bulk_youth(2)
    for person in applicants:
        r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                              json={"unit_type_id": project["unit_types"][0]["id"]}, headers=person.headers)
        assert r.status_code == 201, r.text
    competitor = await factory.provider("housing_operator")
    await report_all(client, [competitor], report_body(project))
    await report_all(client, applicants[:1], report_body(project))
    staff = await factory.reviewer()
    assert project["id"] not in [i["id"] for i in await queue(client, staff, status="urgent")]
    await report_all(client, applicants[1:], report_body(project))
    assert project["id"] in [i["id"] for i in await queue(client, staff, status="urgent")]


async def test_a_report_says_whether_the_kind_or_the_target_is_unknown(client, factory):
    youth = await factory.youth()
    r = await client.post(f"{API}/reports", json={"target_kind": "spaceship", "target_id": 1, "reason_code": "spam"},
                          headers=youth.headers)
    assert r.status_code == 422 and r.json()["code"] == "REPORT_TARGET_KIND_UNKNOWN"
    assert "target_kind" in r.json()["fields"]
    r = await client.post(f"{API}/reports", json={"target_kind": "housing_project", "target_id": 2**31 - 1,
                                                   "reason_code": "spam"}, headers=youth.headers)
    assert r.status_code == 404 and r.json()["code"] == "REPORT_TARGET_NOT_FOUND"
    _, pending = await draft(client, "housing_project")
    r = await client.post(f"{API}/reports", json=report_body(pending), headers=youth.headers)
    assert r.status_code == 404 and r.json()["code"] == "REPORT_TARGET_NOT_FOUND"
    assert r.json()["message"] != (await client.post(f"{API}/reports", json={
        "target_kind": "spaceship", "target_id": 1, "reason_code": "spam"}, headers=youth.headers)).json()["message"]


async def test_one_decision_answers_every_report_on_the_target_and_others_get_the_same_answer(client, factory):
    _, project = await published(client, "housing_project")
    people = await seasoned(3)
    reports = await report_all(client, people, report_body(project, "porn"))
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404
    first, second = await factory.staff(), await factory.staff()
    r = await client.post(f"{API}/staff/reports/{reports[0]['id']}/resolve",
                          json={"action": "dismiss", "reason": "经核实图片为普通室内照片"}, headers=first.headers)
    assert r.status_code == 200, r.text
    decision = r.json()
    assert decision["status"] == "dismissed" and decision["resolved_by"] == first.user_id
    assert decision["settled_report_ids"] == sorted(rep["id"] for rep in reports)
    # the posting is back, its case cleared
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 200
    assert project["id"] not in [i["id"] for i in await queue(client, first, status="urgent")]
    # a colleague who meant to dismiss another of them gets the decision, not an error
    r = await client.post(f"{API}/staff/reports/{reports[1]['id']}/resolve",
                          json={"action": "dismiss", "reason": "无违规"}, headers=second.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed" and r.json()["settled_report_ids"] == []
    assert r.json()["resolved_by"] == first.user_id
    # a different decision on a settled report is a real conflict, and says what was decided
    r = await client.post(f"{API}/staff/reports/{reports[2]['id']}/resolve",
                          json={"action": "take_down", "reason": "违规"}, headers=second.headers)
    assert r.status_code == 409 and r.json()["code"] == "REPORT_ALREADY_RESOLVED" and "驳回" in r.json()["message"]
    # new reports open a new case
    again = await report_all(client, await seasoned(2), report_body(project, "fraud"))
    assert project["id"] in [i["id"] for i in await queue(client, first, status="urgent")]
    r = await client.post(f"{API}/staff/reports/{again[1]['id']}/resolve",
                          json={"action": "take_down", "reason": "虚假房源"}, headers=second.headers)
    assert r.status_code == 200 and r.json()["resolution"] == "taken_down"
    assert r.json()["settled_report_ids"] == sorted(rep["id"] for rep in again)
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404


async def test_a_take_down_from_the_review_screen_settles_the_open_reports(client, factory):
    _, project = await published(client, "housing_project")
    reports = await report_all(client, await seasoned(2), report_body(project))
    staff = await factory.reviewer()
    r = await client.post(f"{REVIEWS}/housing_project/{project['id']}/take-down", json={"reason": "信息虚假"},
                          headers=staff.headers)
    assert r.status_code == 200 and r.json()["status"] == "taken_down" and not r.json()["urgent"]
    listed = (await client.get(f"{API}/staff/reports", params={"status": "actioned", "target_kind": "housing_project",
                                                               "target_id": project["id"]},
                               headers=staff.headers)).json()["items"]
    assert sorted(x["id"] for x in listed) == sorted(x["id"] for x in reports)


async def test_decisions_on_postings_tell_the_owners_why(client, factory):
    staff = await factory.reviewer()
    owner, rejected = await draft(client, "housing_project")
    await client.post(f"{API}/provider/postings/housing_project/{rejected['id']}/submit", headers=owner.headers)
    r = await client.post(f"{REVIEWS}/housing_project/{rejected['id']}/reject", json={"reason": "缺少产权证明"},
                          headers=staff.headers)
    assert r.status_code == 200
    _, project = await published(client, "housing_project", owner)
    await client.post(f"{REVIEWS}/housing_project/{project['id']}/take-down", json={"reason": "房源已不存在"},
                      headers=staff.headers)
    [rej] = await notes_of(owner.user_id, "posting.rejected")
    assert rej.title == "住房项目未通过审核" and "缺少产权证明" in rej.body and rejected["name"] in rej.body
    assert rej.data["posting_id"] == rejected["id"]
    [ok] = [n for n in await notes_of(owner.user_id, "posting.approved") if n.data["posting_id"] == project["id"]]
    assert project["name"] in ok.body
    [down] = await notes_of(owner.user_id, "posting.taken_down")
    assert "房源已不存在" in down.body


async def test_the_review_screen_shows_the_posting_as_young_people_will(client, factory, monkeypatch):
    from app.kit import postings

    class Shown(BaseModel):
        heading: str

    async def public_view(session: Any, project: Any) -> Shown:
        return Shown(heading=f"公开页：{project.name}")

    _, project = await draft(client, "housing_project")
    staff = await factory.reviewer()
    plain = (await client.get(f"{REVIEWS}/housing_project/{project['id']}", headers=staff.headers)).json()
    assert plain["public_view"] is None and plain["content"]["name"] == project["name"]
    kind = postings.REGISTRY["housing_project"]
    monkeypatch.setitem(postings.REGISTRY, "housing_project", dataclasses.replace(kind, public_view=public_view))
    shown = (await client.get(f"{REVIEWS}/housing_project/{project['id']}", headers=staff.headers)).json()
    assert shown["public_view"] == {"heading": f"公开页：{project['name']}"}


async def test_the_review_queue_refuses_a_cursor_whose_values_were_swapped(client, factory):
    """A real cursor with its posting kind swapped for a number once reached a str/int comparison (500)."""
    import base64
    import json

    owner = None
    for _ in range(2):
        owner, posting = await draft(client, "housing_project", owner)
        await client.post(f"{API}/provider/postings/housing_project/{posting['id']}/submit", headers=owner.headers)
    staff = await factory.reviewer()
    page = (await client.get(REVIEWS, params={"limit": 1}, headers=staff.headers)).json()
    payload = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=" * (-len(page["next_cursor"]) % 4)))
    for i, bad in ((0, "x"), (1, 5), (2, 5), (2, None), (3, 1.5)):
        values = list(payload["v"])
        values[i] = bad
        raw = json.dumps({"o": payload["o"], "v": values}).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        r = await client.get(REVIEWS, params={"cursor": cursor}, headers=staff.headers)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR", (i, bad, r.text)
    assert (await client.get(REVIEWS, params={"cursor": page["next_cursor"]}, headers=staff.headers)).status_code == 200


async def test_the_review_queue_filters_by_organisation(client, factory):
    owner, mine = await published(client, "housing_project")
    _, other = await published(client, "housing_project")
    staff = await factory.reviewer()
    ids = [i["id"] for i in await queue(client, staff, status="published", org_id=owner.org_id)]
    assert ids == [mine["id"]] and other["id"] not in ids


@pytest.mark.postgres
async def test_concurrent_reports_never_skip_a_threshold_on_postgres(client):
    _, project = await published(client, "housing_project")
    people = await seasoned(6)
    answers = await asyncio.gather(*(client.post(f"{API}/reports", json=report_body(project, "illegal"),
                                                 headers=p.headers) for p in people))
    assert [a.status_code for a in answers] == [201] * 6
    from app.db import session_scope
    from models.moderation import ReportCase

    async with session_scope() as s:
        case = await s.get(ReportCase, ("housing_project", project["id"]))
        assert (case.standing, case.hiding) == (6, 6) and case.urgent_since is not None
    assert (await client.get(f"{API}/housing/projects/{project['id']}")).status_code == 404


@pytest.mark.parametrize(("kind", "public_path"), [
    ("housing_project", "/housing/projects/{id}"), ("event", "/events/{id}"),
    ("counsellor", "/counselling/counsellors/{id}"), ("opening", "/openings/{id}")])
async def test_org_name_is_the_same_in_every_answer_about_a_posting(client, factory, kind, public_path):
    from tests.factories import organisation

    name = f"同名检查机构{kind}"
    provider, posting = await draft(client, kind, await organisation(POSTING_ORG_KINDS[kind], name=name))
    staff = await factory.reviewer()
    submitted = await client.post(f"{API}/provider/postings/{kind}/{posting['id']}/submit", headers=provider.headers)
    assert submitted.status_code == 200, submitted.text
    queued = [i for i in (await client.get(REVIEWS, params={"kind": kind, "org_id": provider.org_id},
                                           headers=staff.headers)).json()["items"] if i["id"] == posting["id"]]
    detail = await client.get(f"{REVIEWS}/{kind}/{posting['id']}", headers=staff.headers)
    approved = await client.post(f"{REVIEWS}/{kind}/{posting['id']}/approve", headers=staff.headers)
    public = await client.get(API + public_path.format(id=posting["id"]))
    closed = await client.post(f"{API}/provider/postings/{kind}/{posting['id']}/close", headers=provider.headers)
    answers = [submitted, detail, approved, public, closed]
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200]
    assert [q["org_name"] for q in queued] + [r.json()["org_name"] for r in answers] == [name] * 6


POSTING_ORG_KINDS = {"housing_project": "housing_operator", "event": "event_organizer",
                     "counsellor": "counselling_center", "opening": "employer"}

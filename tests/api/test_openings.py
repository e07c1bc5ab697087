"""Openings (就业见习 / 创业孵化) as their people meet them: employers and incubators post through review,
young people find openings and apply with their résumé or venture, follow every status change with its
reason, accept or decline offers; places are never over-filled; the sweeper closes openings at their
deadline and lapses unanswered offers."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from app.db import session_scope
from app.kit import sweeper
from tests.api.test_events import patient_pool  # noqa: F401  (the rush waits for a connection, never a 503)
from tests.factories import Actor, bulk_youth, draft, now, opening_body, organisation, published

API = "/api/v1"
YEAR = date.today().year
RESUME = {"school": "云南大学", "major": "统计学", "education": "bachelor", "graduation_year": YEAR - 1,
          "skills": ["Excel", "Python"], "self_intro": "做事认真。", "phone": "13812345678"}
VENTURE = {"team_size": 3, "stage": "prototype", "sector": "digital", "plan_summary": "面向昆明中小商户的数字化收银小程序。"}


async def internship(client: Any, provider: Actor | None = None, **over: Any) -> tuple[Actor, dict[str, Any]]:
    return await published(client, "opening", provider, **over)


async def incubator(client: Any, provider: Actor | None = None, **over: Any) -> tuple[Actor, dict[str, Any]]:
    return await published(client, "opening", provider or await organisation("incubator"), opening_kind="incubator",
                           **over)


async def people(n: int = 1, **profile: Any) -> list[Actor]:
    return await bulk_youth(n, **profile)


async def apply(client: Any, person: Actor, opening_id: int, body: dict[str, Any] | None = None,
                key: str | None = None) -> Any:
    headers = {**person.headers, **({"Idempotency-Key": key} if key else {})}
    if body is None:
        body = {"resume": RESUME}
    return await client.post(f"{API}/openings/{opening_id}/applications", json=body, headers=headers)


async def applied(client: Any, person: Actor, opening_id: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await apply(client, person, opening_id, body)
    assert r.status_code == 201, r.text
    return r.json()


async def act(client: Any, who: Actor, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
    r = await client.post(f"{API}{path}", json=body, headers=who.headers)
    assert r.status_code == expect, r.text
    return r.json()


async def mine(client: Any, person: Actor, app_id: int) -> dict[str, Any]:
    r = await client.get(f"{API}/me/opening-applications/{app_id}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def kinds_told(client: Any, person: Actor) -> list[str]:
    r = await client.get(f"{API}/me/notifications", headers=person.headers)
    assert r.status_code == 200, r.text
    return [n["kind"] for n in r.json()["items"]]


def interview_body(days: int = 2) -> dict[str, Any]:
    return {"at": (now() + timedelta(days=days)).isoformat(), "place": "呈贡区春融街1号5楼会议室", "note": "请带简历"}


# --- posting and review ---------------------------------------------------------------------------------


async def test_both_kinds_are_public_only_after_review(client, factory):
    employer, post = await draft(client, "opening")
    assert post["status"] == "draft" and post["kind"] == "internship" and post["taken"] == 0
    assert (await client.get(f"{API}/openings/{post['id']}")).status_code == 404
    await factory.approve("opening", post["id"], employer)
    detail = (await client.get(f"{API}/openings/{post['id']}")).json()
    assert detail["state"] == "open" and detail["places_left"] == 3 and detail["stipend_fen"] == 250000
    assert detail["contact_phone"] is None  # for invited applicants only
    _, place = await incubator(client)
    detail = (await client.get(f"{API}/openings/{place['id']}")).json()
    assert detail["kind"] == "incubator" and detail["free_office_months"] == 12 and detail["stages"] == ["idea",
                                                                                                          "prototype"]


async def test_who_may_post_what(client, factory):
    volunteers = await organisation("volunteer_org")
    r = await client.post(f"{API}/provider/openings", json=opening_body(), headers=volunteers.headers)
    assert r.status_code == 403
    employer = await organisation("employer")
    r = await client.post(f"{API}/provider/openings", json=opening_body(opening_kind="incubator"), headers=employer.headers)
    assert r.status_code == 403 and r.json()["code"] == "OPENING_WRONG_ORG_KIND"
    r = await client.post(f"{API}/provider/openings", json=opening_body(deadline=now() - timedelta(hours=1)),
                          headers=employer.headers)
    assert r.status_code == 422 and "deadline" in r.json()["fields"]
    r = await client.post(f"{API}/provider/openings", json=opening_body(min_age=30, max_age=20),
                          headers=employer.headers)
    assert r.status_code == 422
    _, post = await draft(client, "opening", employer)
    other = await organisation("employer")
    assert (await client.get(f"{API}/provider/openings/{post['id']}", headers=other.headers)).status_code == 404
    r = await client.patch(f"{API}/provider/openings/{post['id']}", json={"places": 9}, headers=other.headers)
    assert r.status_code == 404


async def test_editing_public_text_goes_back_to_review_and_kinds_keep_their_fields(client):
    employer, post = await internship(client)
    r = await client.patch(f"{API}/provider/openings/{post['id']}", json={"title": "数据分析见习生（新）"},
                           headers=employer.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    r = await client.patch(f"{API}/provider/openings/{post['id']}", json={"free_office_months": 3},
                           headers=employer.headers)
    assert r.status_code == 422 and "free_office_months" in r.json()["fields"]


# --- finding openings -----------------------------------------------------------------------------------


async def test_listing_filters_by_kind_district_education_major_stipend_keyword_and_distance(client):
    tag = f"筛选{now().timestamp():.0f}"
    _, a = await internship(client, title=f"{tag}统计", stipend_fen=300000, min_education="bachelor",
                            majors=["统计"])
    _, b = await internship(client, title=f"{tag}前台", district="五华区", stipend_fen=180000, min_education=None,
                            majors=[], lat=25.04, lng=102.71, address="昆明市五华区")
    _, c = await incubator(client, title=f"{tag}孵化")

    async def ids(**params: Any) -> list[int]:
        out, cursor = [], None
        while True:
            r = await client.get(f"{API}/openings", params={"q": tag, "limit": 1, **params,
                                                            **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            out += [i["id"] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return out

    assert await ids() == [b["id"], a["id"]]  # internships by default, newest first
    assert await ids(kind="incubator") == [c["id"]]
    assert await ids(district="五华区") == [b["id"]]
    assert await ids(education="college") == [b["id"]]  # a college graduate does not meet a bachelor's post
    assert await ids(education="master") == [b["id"], a["id"]]
    assert await ids(major="计算机") == [b["id"]]
    assert await ids(major="统计") == [b["id"], a["id"]]
    assert await ids(stipend_min=200000) == [a["id"]]
    assert await ids(stipend_max=200000) == [b["id"]]
    assert await ids(sort="stipend") == [a["id"], b["id"]]
    assert await ids(lat=25.04, lng=102.71, radius_km=5) == [b["id"]]
    assert await ids(lat=24.88, lng=102.82, radius_km=50) == [a["id"], b["id"]]  # nearest first
    r = await client.get(f"{API}/openings", params={"sort": "distance"})
    assert r.status_code == 422
    r = await client.get(f"{API}/openings", params={"q": tag, "cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 400 or r.status_code == 422


# --- applying -------------------------------------------------------------------------------------------


async def test_apply_with_the_profile_resume_edited_for_this_application(client):
    _, post = await internship(client)
    (person,) = await people()
    r = await client.put(f"{API}/me/opening-resume", json=RESUME, headers=person.headers)
    assert r.status_code == 200 and r.json()["phone_masked"] == "138****5678" and "phone" not in r.json()
    app = await applied(client, person, post["id"], {"resume": {"major": "应用统计", "skills": ["SQL"]}})
    assert app["status"] == "submitted" and app["major"] == "应用统计" and app["school"] == "云南大学"
    assert app["skills"] == ["SQL"] and app["phone_masked"] == "138****5678" and app["can_withdraw"] is True
    assert [h["to_status"] for h in app["history"]] == ["submitted"]
    assert "opening.submitted" in await kinds_told(client, person)
    # the résumé kept in the profile did not change
    assert (await client.get(f"{API}/me/opening-resume", headers=person.headers)).json()["major"] == "统计学"


async def test_an_incomplete_resume_or_venture_names_what_is_missing(client):
    _, post = await internship(client)
    _, place = await incubator(client)
    (person,) = await people()
    r = await apply(client, person, post["id"], {"resume": {"school": "云南大学"}})
    assert r.status_code == 422 and r.json()["code"] == "OPENING_RESUME_INCOMPLETE"
    assert {"phone", "resume.major", "resume.education"} <= set(r.json()["fields"])
    r = await apply(client, person, place["id"], {"resume": {"phone": "13812345678"}})
    assert r.status_code == 422 and "venture" in r.json()["fields"]
    app = await applied(client, person, place["id"], {"resume": {"phone": "13812345678"}, "venture": VENTURE})
    assert app["kind"] == "incubator" and app["stage"] == "prototype" and app["team_size"] == 3


async def test_eligibility_names_each_unmet_rule(client):
    _, post = await internship(client, min_education="bachelor", majors=["计算机"])
    (old,) = await people(age=30)
    r = await apply(client, old, post["id"], {"resume": dict(RESUME, education="college", graduation_year=YEAR - 8)})
    assert r.status_code == 403 and r.json()["code"] == "OPENING_NOT_ELIGIBLE"
    fields = r.json()["fields"]
    assert set(fields) == {"age", "education", "major"}
    assert "16至24周岁" in fields["age"] and "离校2年内" in fields["age"] and "本科" in fields["education"]
    assert all(v in r.json()["message"] for v in fields.values())
    # a graduate of last year is eligible whatever the age (the 见习 programmes' two-year rule)
    (graduate,) = await people(age=27)
    await applied(client, graduate, post["id"], {"resume": dict(RESUME, major="计算机科学")})
    (minor,) = await people(age=15)
    r = await apply(client, minor, post["id"], {"resume": dict(RESUME, major="计算机")})
    assert r.status_code == 403 and set(r.json()["fields"]) == {"age"}
    _, place = await incubator(client, stages=["idea"], sectors=["agriculture"])
    (founder,) = await people()
    r = await apply(client, founder, place["id"], {"resume": {"phone": "13812345678"}, "venture": VENTURE})
    assert r.status_code == 403 and set(r.json()["fields"]) == {"venture.stage", "venture.sector"}
    (nameless,) = await people(birth_date=None)
    r = await apply(client, nameless, post["id"])
    assert r.status_code == 403 and r.json()["code"] == "OPENING_PROFILE_REQUIRED"


async def test_one_application_per_person_and_the_idempotency_key_replays_it(client):
    _, post = await internship(client)
    (person,) = await people()
    first = await apply(client, person, post["id"], key="k-1")
    again = await apply(client, person, post["id"], key="k-1")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    r = await apply(client, person, post["id"])
    assert r.status_code == 409 and r.json()["code"] == "OPENING_ALREADY_APPLIED"
    assert r.json()["fields"]["application_id"] == str(first.json()["id"])


async def test_after_the_deadline_applying_is_refused_and_the_sweeper_closes_the_opening(client, travel):
    title = f"截止测试{now().timestamp():.0f}"
    employer, post = await internship(client, deadline=now() + timedelta(days=1), title=title)
    (person, late) = await people(2)
    await applied(client, person, post["id"])
    assert [i["id"] for i in (await client.get(f"{API}/openings", params={"q": title})).json()["items"]] == [post["id"]]
    after = now() + timedelta(days=1, minutes=1)
    travel(after)
    r = await apply(client, late, post["id"])
    assert r.status_code == 409 and r.json()["code"] == "OPENING_DEADLINE_PASSED" and "截止" in r.json()["message"]
    detail = (await client.get(f"{API}/openings/{post['id']}")).json()
    assert detail["state"] == "closed"  # computed before the sweeper stores it
    assert (await client.get(f"{API}/openings", params={"q": title})).json()["items"] == []
    done = await sweeper.sweep(["openings.close_at_deadline"], now=after)
    assert done["openings.close_at_deadline"] >= 1
    assert (await sweeper.sweep(["openings.close_at_deadline"], now=after))["openings.close_at_deadline"] == 0
    own = (await client.get(f"{API}/provider/openings/{post['id']}", headers=employer.headers)).json()
    assert own["status"] == "closed"
    assert "opening.closed_at_deadline" in await kinds_told(client, employer)
    # the applicant still sees the opening and the application, and the organisation still works on it
    assert (await client.get(f"{API}/openings/{post['id']}", headers=person.headers)).status_code == 200


# --- the pipeline ---------------------------------------------------------------------------------------


async def test_the_pipeline_from_submitted_to_accepted_with_history_and_a_message_each_step(client):
    employer, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    page = (await client.get(f"{API}/provider/openings/{post['id']}/applications", headers=employer.headers)).json()
    (row,) = page["items"]
    assert row["status"] == "submitted" and row["phone"] is None and row["phone_masked"] is None
    assert "id_number" not in row and row["age"] == 25

    read = (await client.get(f"{API}/provider/opening-applications/{app['id']}", headers=employer.headers)).json()
    assert read["status"] == "submitted"  # a read changes nothing
    opened = await act(client, employer, f"/provider/opening-applications/{app['id']}/open")
    assert opened["status"] == "viewed" and opened["phone"] is None
    again = await act(client, employer, f"/provider/opening-applications/{app['id']}/open")
    assert [h["to_status"] for h in again["history"]] == ["submitted", "viewed"]  # opened twice: one change

    invited = await act(client, employer, f"/provider/opening-applications/{app['id']}/interview", interview_body())
    assert invited["status"] == "interview" and invited["phone"] == "13812345678"  # now they may call
    assert (await client.get(f"{API}/openings/{post['id']}", headers=person.headers)).json()["contact_phone"]
    offered = await act(client, employer, f"/provider/opening-applications/{app['id']}/offer",
                        {"answer_by": (now() + timedelta(days=3)).isoformat(), "note": "欢迎加入"})
    assert offered["status"] == "offered"
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "offered" and seen["can_withdraw"] is False and seen["answer_by"]
    accepted = await act(client, person, f"/me/opening-applications/{app['id']}/accept")
    assert accepted["status"] == "accepted"
    history = accepted["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "submitted"), ("submitted", "viewed"), ("viewed", "interview"), ("interview", "offered"),
        ("offered", "accepted")]
    assert [h["actor_role"] for h in history] == ["youth", "provider", "provider", "provider", "youth"]
    assert history[2]["detail"]["place"] == "呈贡区春融街1号5楼会议室"
    told = await kinds_told(client, person)
    assert {"opening.submitted", "opening.viewed", "opening.interview", "opening.offered",
            "opening.accepted"} <= set(told)
    own = (await client.get(f"{API}/provider/openings/{post['id']}", headers=employer.headers)).json()
    assert own["taken"] == 1 and own["counts"] == {"accepted": 1}
    assert "opening.answered" in await kinds_told(client, employer)
    listing = (await client.get(f"{API}/me/opening-applications", headers=person.headers)).json()["items"]
    assert listing[0]["id"] == app["id"] and len(listing[0]["history"]) == 5


async def test_a_rejection_carries_its_reason_and_later_moves_are_refused(client):
    employer, post = await internship(client)
    (person, other) = await people(2)
    app = await applied(client, person, post["id"])
    r = await client.post(f"{API}/provider/opening-applications/{app['id']}/reject", json={"reason_code": "other"},
                          headers=employer.headers)
    assert r.status_code == 422 and r.json()["code"] == "OPENING_REASON_TEXT_REQUIRED"
    await act(client, employer, f"/provider/opening-applications/{app['id']}/reject",
              {"reason_code": "major_mismatch", "reason": "本岗位需要统计相关专业"})
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "rejected" and seen["reason_label"] == "专业要求不符"
    assert seen["reason"] == "本岗位需要统计相关专业" and seen["can_withdraw"] is False
    assert seen["history"][-1]["reason_code"] == "major_mismatch"
    # Frappe HR's bug: an offer to a rejected applicant
    r = await client.post(f"{API}/provider/opening-applications/{app['id']}/offer", json={}, headers=employer.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_TRANSITION_NOT_ALLOWED" and "未通过" in r.json()["message"]
    for path in ("interview", "reject"):
        body = interview_body() if path == "interview" else {"reason_code": "not_qualified"}
        r = await client.post(f"{API}/provider/opening-applications/{app['id']}/{path}", json=body,
                              headers=employer.headers)
        assert r.status_code == 409, path
    r = await client.post(f"{API}/me/opening-applications/{app['id']}/withdraw", headers=person.headers)
    assert r.status_code == 409
    # accepting without an offer is not a move either
    second = await applied(client, other, post["id"])
    r = await client.post(f"{API}/me/opening-applications/{second['id']}/accept", headers=other.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_TRANSITION_NOT_ALLOWED"
    assert "opening.rejected" in await kinds_told(client, person)


async def test_withdrawing_works_before_an_offer_and_is_refused_after(client):
    employer, post = await internship(client)
    (person, offered_person) = await people(2)
    app = await applied(client, person, post["id"])
    await act(client, employer, f"/provider/opening-applications/{app['id']}/interview", interview_body())
    gone = await act(client, person, f"/me/opening-applications/{app['id']}/withdraw", {"reason": "已找到工作"})
    assert gone["status"] == "withdrawn" and gone["history"][-1]["reason"] == "已找到工作"
    again = await applied(client, person, post["id"])  # a withdrawn application does not block a new one
    assert again["id"] != app["id"]
    other = await applied(client, offered_person, post["id"])
    await act(client, employer, f"/provider/opening-applications/{other['id']}/offer", {})
    r = await client.post(f"{API}/me/opening-applications/{other['id']}/withdraw", headers=offered_person.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_TRANSITION_NOT_ALLOWED"
    declined = await act(client, offered_person, f"/me/opening-applications/{other['id']}/decline")
    assert declined["status"] == "declined"
    assert "opening.withdrawn" in await kinds_told(client, person)


async def test_an_unanswered_offer_lapses_at_its_answer_by_time(client, travel):
    employer, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    answer_by = now() + timedelta(days=2)
    await act(client, employer, f"/provider/opening-applications/{app['id']}/offer", {"answer_by": answer_by.isoformat()})
    r = await client.post(f"{API}/provider/opening-applications/{app['id']}/offer",
                          json={"answer_by": (now() + timedelta(hours=1)).isoformat()}, headers=employer.headers)
    assert r.status_code == 409  # already offered
    later = answer_by + timedelta(minutes=1)
    travel(later)
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "lapsed" and seen["history"][-1]["to_status"] == "lapsed"  # before the sweeper
    r = await client.post(f"{API}/me/opening-applications/{app['id']}/accept", headers=person.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_OFFER_LAPSED"
    assert (await sweeper.sweep(["openings.lapse_offers"], now=later))["openings.lapse_offers"] >= 1
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "lapsed" and [h["to_status"] for h in seen["history"]].count("lapsed") == 1
    assert "opening.lapsed" in await kinds_told(client, person)


async def test_answer_by_limits(client):
    employer, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    for when in (now() + timedelta(hours=2), now() + timedelta(days=40)):
        r = await client.post(f"{API}/provider/opening-applications/{app['id']}/offer",
                              json={"answer_by": when.isoformat()}, headers=employer.headers)
        assert r.status_code == 422 and "answer_by" in r.json()["fields"]
    r = await client.post(f"{API}/provider/opening-applications/{app['id']}/interview",
                          json={"at": (now() + timedelta(days=1)).isoformat()}, headers=employer.headers)
    assert r.status_code == 422


# --- places ---------------------------------------------------------------------------------------------


async def test_places_are_never_over_filled_and_the_rest_are_rejected_in_one_go(client):
    employer, post = await internship(client, places=2)
    crowd = await people(4)
    apps = [await applied(client, p, post["id"]) for p in crowd]
    for a in apps[:3]:
        await act(client, employer, f"/provider/opening-applications/{a['id']}/offer", {})
    await act(client, crowd[0], f"/me/opening-applications/{apps[0]['id']}/accept")
    await act(client, crowd[1], f"/me/opening-applications/{apps[1]['id']}/accept")
    r = await client.post(f"{API}/me/opening-applications/{apps[2]['id']}/accept", headers=crowd[2].headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_PLACES_FILLED"
    assert (await mine(client, crowd[2], apps[2]["id"]))["status"] == "offered"  # nothing half-written
    r = await client.post(f"{API}/provider/opening-applications/{apps[3]['id']}/offer", json={},
                          headers=employer.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_PLACES_FILLED"
    r = await client.patch(f"{API}/provider/openings/{post['id']}", json={"places": 1}, headers=employer.headers)
    assert r.status_code == 409 and r.json()["code"] == "OPENING_PLACES_BELOW_TAKEN"
    done = await act(client, employer, f"/provider/openings/{post['id']}/reject-rest", {"reason_code": "places_filled"})
    assert done == {"rejected": 2}
    for person, a in zip(crowd[2:], apps[2:], strict=True):
        seen = await mine(client, person, a["id"])
        assert seen["status"] == "rejected" and seen["reason_label"] == "名额已满"
    r = await apply(client, (await people())[0], post["id"])
    assert r.status_code == 409 and r.json()["code"] == "OPENING_PLACES_FILLED"
    detail = (await client.get(f"{API}/openings/{post['id']}")).json()
    assert detail["state"] == "full" and detail["places_left"] == 0


async def test_taking_down_an_opening_rejects_the_applications_still_open(client, factory):
    _, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    staff = await factory.reviewer()
    r = await client.post(f"{API}/staff/reviews/opening/{post['id']}/take-down", json={"reason": "虚假招聘信息"},
                          headers=staff.headers)
    assert r.status_code == 200, r.text
    seen = await mine(client, person, app["id"])
    assert seen["status"] == "rejected" and seen["reason_label"] == "岗位已下架" and seen["reason"] == "虚假招聘信息"


# --- the provider's side --------------------------------------------------------------------------------


async def test_a_provider_sees_only_its_own_applications_and_filters_them(client):
    employer, post = await internship(client)
    stranger = await organisation("employer")
    (a, b) = await people(2)
    app = await applied(client, a, post["id"])
    await applied(client, b, post["id"], {"resume": dict(RESUME, major="计算机", education="college")})
    for path in (f"/provider/opening-applications/{app['id']}",):
        assert (await client.get(f"{API}{path}", headers=stranger.headers)).status_code == 404
    r = await client.post(f"{API}/provider/opening-applications/{app['id']}/reject",
                          json={"reason_code": "not_qualified"}, headers=stranger.headers)
    assert r.status_code == 404
    assert (await client.get(f"{API}/provider/openings/{post['id']}/applications",
                             headers=stranger.headers)).status_code == 404

    async def statuses(**params: Any) -> list[str]:
        r = await client.get(f"{API}/provider/openings/{post['id']}/applications", params=params,
                             headers=employer.headers)
        assert r.status_code == 200, r.text
        return [i["major"] for i in r.json()["items"]]

    assert await statuses() == ["统计学", "计算机"]
    assert await statuses(education="college") == ["计算机"]
    assert await statuses(major="统计") == ["统计学"]
    assert await statuses(status="viewed") == []


async def test_the_csv_export_masks_the_contact_and_shows_it_only_after_an_interview(client):
    employer, post = await internship(client)
    (a, b) = await people(2)
    first = await applied(client, a, post["id"])
    await applied(client, b, post["id"], {"resume": dict(RESUME, phone="13900001111", self_intro="=HYPERLINK(1)")})
    await act(client, employer, f"/provider/opening-applications/{first['id']}/interview", interview_body())
    r = await client.get(f"{API}/provider/openings/{post['id']}/applications.csv", headers=employer.headers)
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "申请编号" and len(rows) == 3
    assert rows[1][14] == "138****5678" and rows[2][14] == ""
    assert "13812345678" not in r.text and "13900001111" not in r.text
    async with session_scope() as s:
        n = (await s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'opening.export' AND target_id = :t"),
                             {"t": str(post["id"])})).scalar_one()
    assert n == 1


async def test_staff_see_provider_response_times(client, factory, travel):
    employer, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    travel(now() + timedelta(hours=5))
    await act(client, employer, f"/provider/opening-applications/{app['id']}/reject", {"reason_code": "not_qualified"})
    staff = await factory.reviewer()
    found, cursor = None, None
    while found is None:
        r = await client.get(f"{API}/staff/openings/response-times", params={"limit": 100, **({"cursor": cursor}
                                                                                             if cursor else {})},
                             headers=staff.headers)
        assert r.status_code == 200, r.text
        found = next((i for i in r.json()["items"] if i["org_id"] == employer.org_id), None)
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert found is not None and found["decided"] == 1 and found["undecided"] == 0
    assert 4.9 <= found["avg_response_hours"] <= 5.1


async def test_the_history_is_append_only(client):
    _, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    with pytest.raises(Exception, match="append-only"):
        async with session_scope() as s:
            await s.execute(text("UPDATE opening_application_events SET to_status = 'accepted' "
                                 "WHERE application_id = :a"), {"a": app["id"]})


# --- concurrency ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("patient_pool")
async def test_fifty_concurrent_accepts_for_three_places_leave_exactly_three(client):
    employer, post = await internship(client, places=3)
    crowd = await people(50)
    apps = await asyncio.gather(*(applied(client, p, post["id"]) for p in crowd))
    for a in apps:
        await act(client, employer, f"/provider/opening-applications/{a['id']}/offer", {})
    answers = await asyncio.gather(*(client.post(f"{API}/me/opening-applications/{a['id']}/accept", headers=p.headers)
                                     for p, a in zip(crowd, apps, strict=True)))
    assert sorted({r.status_code for r in answers}) == [200, 409]
    assert sum(r.status_code == 200 for r in answers) == 3
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"OPENING_PLACES_FILLED"}
    async with session_scope() as s:
        from models.openings import Opening, OpeningApplication

        taken = (await s.execute(select(Opening.taken).where(Opening.id == post["id"]))).scalar_one()
        accepted = (await s.execute(select(OpeningApplication.id).where(
            OpeningApplication.opening_id == post["id"], OpeningApplication.status == "accepted"))).scalars().all()
    assert taken == 3 and len(accepted) == 3


@pytest.mark.usefixtures("patient_pool")
async def test_twin_applications_at_the_same_moment_leave_one(client):
    _, post = await internship(client, places=50)
    crowd = await people(10)
    for person in crowd:
        first, second = await asyncio.gather(apply(client, person, post["id"]), apply(client, person, post["id"]))
        assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert loser.json()["code"] == "OPENING_ALREADY_APPLIED"


async def test_the_settings_are_documented_and_the_default_answer_by_follows_them(client, monkeypatch):
    from app.services.openings.settings import OpeningsSettings, settings
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in OpeningsSettings.model_fields:
        assert f"`YOUTH_{name.upper()}`" in readme, name
    monkeypatch.setattr(settings(), "openings_offer_default_days", 2)
    employer, post = await internship(client)
    (person,) = await people()
    app = await applied(client, person, post["id"])
    offered = await act(client, employer, f"/provider/opening-applications/{app['id']}/offer", {})
    assert datetime.fromisoformat(offered["answer_by"]) - now() <= timedelta(days=2, minutes=1)
    assert datetime.fromisoformat(offered["answer_by"]) - now() >= timedelta(days=2) - timedelta(minutes=1)


@pytest.mark.postgres
@pytest.mark.usefixtures("patient_pool")
async def test_accepts_racing_a_bulk_rejection_and_a_take_down_never_deadlock_or_over_fill(client, factory):
    employer, post = await internship(client, places=3)
    crowd = await people(12)
    apps = [await applied(client, p, post["id"]) for p in crowd]
    for a in apps:
        await act(client, employer, f"/provider/opening-applications/{a['id']}/offer", {})
    staff = await factory.reviewer()
    accepts = [client.post(f"{API}/me/opening-applications/{a['id']}/accept", headers=p.headers)
               for p, a in zip(crowd, apps, strict=True)]
    bulk = client.post(f"{API}/provider/openings/{post['id']}/reject-rest", json={"reason_code": "places_filled"},
                       headers=employer.headers)
    down = client.post(f"{API}/staff/reviews/opening/{post['id']}/take-down", json={"reason": "核查中"},
                       headers=staff.headers)
    answers = await asyncio.gather(*accepts[:6], bulk, down, *accepts[6:])
    assert all(r.status_code < 500 for r in answers), [r.text for r in answers if r.status_code >= 500]
    codes = {r.json().get("code") for r in answers if r.status_code >= 400}
    assert codes <= {"OPENING_PLACES_FILLED", "OPENING_TRANSITION_NOT_ALLOWED", "POSTING_STATE_INVALID"}, codes
    async with session_scope() as s:
        from models.openings import Opening, OpeningApplication

        taken = (await s.execute(select(Opening.taken).where(Opening.id == post["id"]))).scalar_one()
        statuses = (await s.execute(select(OpeningApplication.status).where(
            OpeningApplication.opening_id == post["id"]))).scalars().all()
    assert taken == statuses.count("accepted") <= 3
    assert set(statuses) <= {"accepted", "rejected"}

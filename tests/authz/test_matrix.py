"""The authorisation matrix, generated from the route table: every operation × every kind of caller,
with the expected answer. A route without an entry fails; so does an entry without a route.

Callers: anonymous, a young person (who owns the young person's resources), another young person, a
provider of the owning organisation, a provider of another organisation of the same kind, a moderator,
an admin. "ok" means the caller may use the route: any answer but 401, 403, 404 (and never a 5xx);
a number is the exact status expected. Requests carry valid bodies, so an allowed caller really acts:
callers run in the order below (refused ones first) and destructive routes run last.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.authz.world import World, build

ROLES = ("anon", "other_youth", "other_org", "moderator", "admin", "owner", "youth")

OK = "ok"
ALL_OK = dict.fromkeys(ROLES, OK)
ANY_USER = dict(ALL_OK, anon=401)
YOUTH = dict(anon=401, youth=OK, other_youth=OK, owner=403, other_org=403, moderator=403, admin=403)
YOUTH_OWN = dict(YOUTH, other_youth=404)
PROVIDER = dict(anon=401, youth=403, other_youth=403, owner=OK, other_org=OK, moderator=403, admin=403)
PROVIDER_OWN = dict(PROVIDER, other_org=404)
STAFF = dict(anon=401, youth=403, other_youth=403, owner=403, other_org=403, moderator=OK, admin=OK)
# Only the person themself; to everyone else the resource does not exist.
PERSON_ONLY = dict(dict.fromkeys(ROLES, 404), anon=401, youth=OK)
# Only the owning organisation (counselling intake and notes: not even staff).
ORG_ONLY = dict(dict.fromkeys(ROLES, 404), anon=401, owner=OK)
NOT_CHECKED_IN = dict(YOUTH_OWN, youth="EVENT_CHOICE_NOT_ELIGIBLE", other_youth="EVENT_CHOICE_NOT_ELIGIBLE")


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def _free_id() -> str:
    from tests.factories import adult_birth, make_id_number

    return make_id_number(adult_birth(27))


def PAST(w: World) -> dict[str, Any]:
    return {"booking_id": w.ids["past_booking_id"]}


def FLAGGED(w: World) -> dict[str, Any]:
    return {"booking_id": w.ids["risk_booking_id"]}


def STRUCK(w: World) -> dict[str, Any]:
    return {"booking_id": w.ids["struck_booking_id"]}


def VPROJECT(w: World) -> dict[str, Any]:
    return {"project_id": w.ids["v_project_id"]}


def OAPP(w: World) -> dict[str, Any]:
    return {"application_id": w.ids["o_application_id"]}


OPENING_RESUME = {"resume": {"school": "云南大学", "major": "统计学", "phone": "13812345678"}}

def STATS(w: World) -> dict[str, Any]:
    return {"name": "youth"}


# Self check-in and out: nobody is at the shift now; the other young person may not have signed up yet.
NOT_THERE = ("VOLUNTEER_CHECK_IN_NOT_OPEN", "VOLUNTEER_NOT_SIGNED_UP", "VOLUNTEER_NOT_CHECKED_IN")


# (method, path): (service whose organisations are owner/other_org, expectations, body builder or None
#                  [, path parameters overriding the world's])
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    ("GET", "/healthz"): ("platform", ALL_OK, None),
    ("GET", "/readyz"): ("platform", ALL_OK, None),
    ("POST", "/api/v1/auth/wechat/login"): ("platform", ALL_OK, lambda w: {"code": "dev:matrix-unused-code"}),
    ("POST", "/api/v1/auth/login"): ("platform", dict.fromkeys(ROLES, ("BAD_CREDENTIALS", "LOGIN_LOCKED")), lambda w: {"username": "nobody-here", "password": "x"}),
    ("POST", "/api/v1/auth/refresh"): ("platform", dict.fromkeys(ROLES, "REFRESH_TOKEN_INVALID"), lambda w: {"refresh_token": "not-a-token"}),
    ("POST", "/api/v1/auth/logout"): ("platform", ANY_USER, lambda w: {"refresh_token": "not-a-token"}),
    ("GET", "/api/v1/me"): ("platform", ANY_USER, None),
    ("PATCH", "/api/v1/me"): ("platform", ANY_USER, lambda w: {"nickname": "小明"}),
    ("POST", "/api/v1/me/phone"): ("platform", ANY_USER, lambda w: {"code": "phone:13900000000"}),
    ("PUT", "/api/v1/me/identity"): ("platform", YOUTH, lambda w: {"real_name": "某人", "id_number": _free_id()}),
    ("POST", "/api/v1/me/identity/claims"): ("platform", YOUTH, lambda w: {
        "real_name": "某人", "id_number": _free_id(), "evidence": "可到窗口出示身份证"}),
    ("GET", "/api/v1/me/identity/claims"): ("platform", YOUTH, None),
    ("GET", "/api/v1/staff/identity-claims"): ("platform", STAFF, None),
    ("POST", "/api/v1/staff/identity-claims/{claim_id}/decision"): ("platform", STAFF,
                                                                    lambda w: {"approve": False, "reason": "无法核实"}),
    ("POST", "/api/v1/auth/password"): ("platform", dict(
        dict.fromkeys(ROLES, "WRONG_PASSWORD"), anon=401, youth="NO_PASSWORD", other_youth="NO_PASSWORD"),
        lambda w: {"current_password": "not-the-password", "new_password": "a-new-password-123"}),
    ("GET", "/api/v1/me/notifications"): ("platform", ANY_USER, None),
    ("POST", "/api/v1/me/notifications/read"): ("platform", ANY_USER, lambda w: {}),
    ("POST", "/api/v1/me/notifications/subscriptions"): ("platform", ANY_USER,
                                                         lambda w: {"template_ids": ["tmpl-event-dev"]}),
    ("GET", "/api/v1/me/timeline"): ("platform", YOUTH, None),
    ("GET", "/api/v1/me/notifications/preferences"): ("platform", ANY_USER, None),
    ("PUT", "/api/v1/me/notifications/preferences"): ("platform", ANY_USER, lambda w: {"muted": ["remind.event"]}),
    ("GET", "/api/v1/staff/notification-deliveries"): ("platform", STAFF, None),
    ("POST", "/api/v1/staff/notification-deliveries/{notification_id}/retry"): ("platform", STAFF, None),
    ("POST", "/api/v1/provider/signup"): ("platform", ALL_OK, lambda w: {"name": "x"}),
    ("GET", "/api/v1/provider/org"): ("platform", PROVIDER, None),
    ("GET", "/api/v1/provider/org/members"): ("platform", PROVIDER, None),
    ("POST", "/api/v1/provider/org/members"): ("platform", PROVIDER, lambda w: {"username": "x", "password": "y"}),
    ("GET", "/api/v1/staff/orgs"): ("platform", STAFF, None),
    ("GET", "/api/v1/staff/orgs/{org_id}"): ("platform", STAFF, None),
    ("POST", "/api/v1/staff/orgs/{org_id}/verify"): ("platform", STAFF, lambda w: {}),
    ("POST", "/api/v1/staff/orgs/{org_id}/suspend"): ("platform", STAFF, lambda w: {"reason": "经核查存在违规行为"}),
    ("POST", "/api/v1/staff/orgs/{org_id}/reinstate"): ("platform", STAFF, lambda w: {"reason": "整改完成，恢复使用"}),
    ("POST", "/api/v1/staff/orgs/{org_id}/reject"): ("platform", STAFF, lambda w: {"reason": "资料不全，请补充"}),
    # Owners remove their own members; another organisation's member does not exist for them.
    ("DELETE", "/api/v1/provider/org/members/{member_id}"): ("platform", PROVIDER_OWN, None),
    # moderation
    ("GET", "/api/v1/staff/reviews"): ("platform", STAFF, None),
    ("GET", "/api/v1/staff/reviews/{kind}/{posting_id}"): ("housing", STAFF, None),
    ("POST", "/api/v1/staff/reviews/{kind}/{posting_id}/approve"): ("housing", STAFF, lambda w: {}),
    ("POST", "/api/v1/staff/reviews/{kind}/{posting_id}/reject"): ("housing", STAFF,
                                                                    lambda w: {"reason": "信息不完整"}),
    ("POST", "/api/v1/staff/reviews/{kind}/{posting_id}/take-down"): ("housing", STAFF,
                                                                       lambda w: {"reason": "违规内容"}),
    ("POST", "/api/v1/reports"): ("events", ANY_USER, lambda w: {"target_kind": "event",
                                                                 "target_id": w.ids["event_id"],
                                                                 "reason_code": "spam"}),
    ("GET", "/api/v1/staff/reports"): ("platform", STAFF, None),
    ("POST", "/api/v1/staff/reports/{report_id}/resolve"): ("platform", STAFF,
                                                            lambda w: {"action": "dismiss", "reason": "经核实无问题"}),
    ("GET", "/api/v1/provider/postings"): ("platform", PROVIDER, None),
    ("POST", "/api/v1/provider/postings/{kind}/{posting_id}/submit"): ("housing", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/postings/{kind}/{posting_id}/close"): ("housing", PROVIDER_OWN, None),
    ("GET", "/api/v1/staff/audit-log"): ("platform", STAFF, None),
    # staff console: the dashboards' JSON and CSV (its pages are in tests/authz/test_console_routes.py)
    ("GET", "/api/v1/staff/stats/{name}"): ("platform", STAFF, None, STATS),
    ("GET", "/api/v1/staff/stats/{name}.csv"): ("platform", STAFF, None, STATS),
    # housing
    ("GET", "/api/v1/housing/projects"): ("housing", ALL_OK, None),
    ("GET", "/api/v1/housing/projects/{project_id}"): ("housing", ALL_OK, None),
    ("GET", "/api/v1/housing/projects/{project_id}/eligibility"): ("housing", YOUTH, None),
    # A first-come project has no lottery: the same answer for everyone.
    ("GET", "/api/v1/housing/projects/{project_id}/lottery"): ("housing", dict.fromkeys(ROLES, 404), None),
    ("POST", "/api/v1/housing/projects/{project_id}/applications"): (
        "housing", YOUTH, lambda w: {"unit_type_id": w.ids["unit_type_id"]}),
    ("PUT", "/api/v1/housing/projects/{project_id}/favourite"): ("housing", YOUTH, None),
    ("DELETE", "/api/v1/housing/projects/{project_id}/favourite"): ("housing", YOUTH, None),
    ("GET", "/api/v1/me/housing-favourites"): ("housing", YOUTH, None),
    ("GET", "/api/v1/me/housing-applications"): ("housing", YOUTH, None),
    ("GET", "/api/v1/me/housing-applications/{application_id}"): ("housing", YOUTH_OWN, None),
    ("POST", "/api/v1/me/housing-applications/{application_id}/accept"): ("housing", YOUTH_OWN, None),
    ("POST", "/api/v1/me/housing-applications/{application_id}/decline"): ("housing", YOUTH_OWN, None),
    ("POST", "/api/v1/me/housing-applications/{application_id}/withdraw"): ("housing", YOUTH_OWN, None),
    ("POST", "/api/v1/provider/housing/projects"): ("housing", PROVIDER, lambda w: {"name": "x"}),
    ("GET", "/api/v1/provider/housing/projects"): ("housing", PROVIDER, None),
    ("GET", "/api/v1/provider/housing/projects/{project_id}"): ("housing", PROVIDER_OWN, None),
    ("PATCH", "/api/v1/provider/housing/projects/{project_id}"): ("housing", PROVIDER_OWN,
                                                                  lambda w: {"metro_station": "小西门站"}),
    ("POST", "/api/v1/provider/housing/projects/{project_id}/unit-types"): (
        "housing", PROVIDER_OWN, lambda w: {"layout": "one_room", "area_sqm": 40, "rent_fen": 150000,
                                            "total_units": 2, "available_units": 1}),
    ("PATCH", "/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}"): (
        "housing", PROVIDER_OWN, lambda w: {"name": "开间"}),
    ("DELETE", "/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}"): (
        "housing", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/housing/projects/{project_id}/close-applications"): ("housing", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/housing/projects/{project_id}/reopen-applications"): ("housing", PROVIDER_OWN, None),
    ("GET", "/api/v1/provider/housing/projects/{project_id}/applications"): ("housing", PROVIDER_OWN, None),
    ("GET", "/api/v1/provider/housing/projects/{project_id}/applications.csv"): ("housing", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/housing/applications/{application_id}/decision"): (
        "housing", PROVIDER_OWN, lambda w: {"decision": "eligible"}),
    ("POST", "/api/v1/provider/housing/applications/{application_id}/correct-decision"): (
        "housing", PROVIDER_OWN, lambda w: {"decision": "ineligible", "reason": "核实发现在昆明有自有住房"}),
    ("POST", "/api/v1/provider/housing/applications/{application_id}/withdraw-offer"): (
        "housing", PROVIDER_OWN, lambda w: {"reason": "该套房源需维修，暂不能交付"}),
    ("POST", "/api/v1/provider/housing/projects/{project_id}/lottery/freeze"): ("housing", PROVIDER_OWN, None),
    ("POST", "/api/v1/staff/housing/projects/{project_id}/lottery/seed"): (
        "housing", STAFF, lambda w: {"seed": "2026-12-01 福彩3D 123", "source": "中国福利彩票"}),
    ("POST", "/api/v1/staff/housing/projects/{project_id}/lottery/draw"): ("housing", STAFF, None),
    ("POST", "/api/v1/staff/housing/projects/{project_id}/lottery/redraw"): (
        "housing", STAFF, lambda w: {"seed": "2026-12-02 福彩3D 456", "source": "中国福利彩票", "reason": "种子录入错误"}),
    # events
    ("GET", "/api/v1/events"): ("events", ALL_OK, None),
    ("GET", "/api/v1/events/{event_id}"): ("events", ALL_OK, None),
    ("POST", "/api/v1/events/{event_id}/registrations"): ("events", YOUTH, None),
    # "mine" names no one else's registration: the other young person simply has none (yet).
    ("GET", "/api/v1/events/{event_id}/registrations/mine"): (
        "events", dict(YOUTH, other_youth="EVENT_NOT_REGISTERED"), None),
    ("DELETE", "/api/v1/events/{event_id}/registrations/mine"): ("events", YOUTH, None),
    ("GET", "/api/v1/events/{event_id}/ticket"): ("events", dict(YOUTH_OWN, other_youth="EVENT_TICKET_UNAVAILABLE"),
                                                   None),
    # Mutual choice is for checked-in attendees only; nobody in this world has checked in.
    ("POST", "/api/v1/events/{event_id}/picks"): ("events", NOT_CHECKED_IN, lambda w: {"badges": [1], "contact": "wx"}),
    ("GET", "/api/v1/events/{event_id}/picks"): ("events", NOT_CHECKED_IN, None),
    ("GET", "/api/v1/events/{event_id}/matches"): ("events", NOT_CHECKED_IN, None),
    ("GET", "/api/v1/me/event-registrations"): ("events", YOUTH, None),
    ("GET", "/api/v1/me/event-restriction"): ("events", YOUTH, None),
    ("POST", "/api/v1/provider/events"): ("events", PROVIDER, lambda w: {"title": "x"}),
    ("GET", "/api/v1/provider/events/{event_id}"): ("events", PROVIDER_OWN, None),
    ("PATCH", "/api/v1/provider/events/{event_id}"): ("events", PROVIDER_OWN, lambda w: {"venue_name": "翠湖宾馆"}),
    ("PUT", "/api/v1/provider/events/{event_id}/capacity"): (
        "events", PROVIDER_OWN, lambda w: {"capacity": 12, "quotas": {"male": 6, "female": 6}}),
    ("POST", "/api/v1/provider/events/{event_id}/cancel"): ("events", PROVIDER_OWN,
                                                            lambda w: {"reason": "场地临时无法使用"}),
    ("GET", "/api/v1/provider/events/{event_id}/attendees"): ("events", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/events/{event_id}/check-ins"): ("events", PROVIDER_OWN,
                                                               lambda w: {"ticket": "forged.ticket.value"}),
    ("GET", "/api/v1/provider/events/{event_id}/choice-summary"): ("events", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/events/{event_id}/registrations/{registration_id}/waive-strike"): (
        "events", PROVIDER_OWN, lambda w: {"reason": "因病请假，已提前告知"}),
    # counselling
    ("GET", "/api/v1/counselling/counsellors"): ("counselling", ALL_OK, None),
    ("GET", "/api/v1/counselling/counsellors/{counsellor_id}"): ("counselling", ALL_OK, None),
    ("GET", "/api/v1/counselling/counsellors/{counsellor_id}/slots"): ("counselling", ALL_OK, None),
    ("POST", "/api/v1/counselling/bookings"): (
        "counselling", YOUTH, lambda w: {"slot_id": w.ids["free_slot"], "mode": "video", "intake": {
            "topic": "emotions", "description": "", "self_harm_thoughts": False}}),
    ("GET", "/api/v1/counselling/bookings"): ("counselling", YOUTH, None),
    ("GET", "/api/v1/counselling/bookings/{booking_id}"): ("counselling", PERSON_ONLY, None),
    ("DELETE", "/api/v1/counselling/bookings/{booking_id}"): ("counselling", PERSON_ONLY, None),
    ("POST", "/api/v1/counselling/bookings/{booking_id}/reschedule"): (
        "counselling", YOUTH_OWN, lambda w: {"slot_id": w.ids["slot_id"]}),
    ("POST", "/api/v1/provider/counselling/counsellors"): ("counselling", PROVIDER, lambda w: {"display_name": "x"}),
    ("GET", "/api/v1/provider/counselling/counsellors"): ("counselling", PROVIDER, None),
    ("GET", "/api/v1/provider/counselling/counsellors/{counsellor_id}"): ("counselling", PROVIDER_OWN, None),
    ("PATCH", "/api/v1/provider/counselling/counsellors/{counsellor_id}"): (
        "counselling", PROVIDER_OWN, lambda w: {"languages": ["普通话", "英语"]}),
    ("POST", "/api/v1/provider/counselling/counsellors/{counsellor_id}/slots"): (
        "counselling", PROVIDER_OWN, lambda w: {"starts_at": _later(9)}),
    ("GET", "/api/v1/provider/counselling/counsellors/{counsellor_id}/slots"): ("counselling", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/counselling/counsellors/{counsellor_id}/slots/pattern"): (
        "counselling", PROVIDER_OWN, lambda w: {"weekdays": [2], "day_start": "14:00", "day_end": "15:00",
                                                "weeks": 1}),
    ("DELETE", "/api/v1/provider/counselling/slots/{slot_id}"): ("counselling", PROVIDER_OWN, None),
    ("GET", "/api/v1/provider/counselling/bookings"): ("counselling", PROVIDER, None),
    ("GET", "/api/v1/provider/counselling/bookings/{booking_id}"): ("counselling", ORG_ONLY, None),
    ("POST", "/api/v1/provider/counselling/bookings/{booking_id}/cancel"): (
        "counselling", ORG_ONLY, lambda w: {"reason": "咨询师临时生病"}),
    # attendance and notes concern a session that has taken place
    ("POST", "/api/v1/provider/counselling/bookings/{booking_id}/attendance"): (
        "counselling", ORG_ONLY, lambda w: {"status": "attended"}, PAST),
    ("PUT", "/api/v1/provider/counselling/bookings/{booking_id}/notes"): (
        "counselling", ORG_ONLY, lambda w: {"body": "初次咨询，建立关系"}, PAST),
    ("GET", "/api/v1/provider/counselling/bookings/{booking_id}/notes"): ("counselling", ORG_ONLY, None, PAST),
    ("POST", "/api/v1/provider/counselling/bookings/{booking_id}/risk-followups"): (
        "counselling", ORG_ONLY, lambda w: {"action": "called_back", "note": "已电话联系来访者"}, FLAGGED),
    ("POST", "/api/v1/provider/counselling/bookings/{booking_id}/waive-strike"): (
        "counselling", ORG_ONLY, lambda w: {"reason": "来访者当天生病住院"}, STRUCK),
    ("GET", "/api/v1/provider/counselling/centre"): ("counselling", PROVIDER, None),
    ("PATCH", "/api/v1/provider/counselling/centre"): (
        "counselling", PROVIDER, lambda w: {"opening_hours": ["09:00-18:00"] * 6 + [None]}),
    ("GET", "/api/v1/provider/counselling/risk-queue"): ("counselling", PROVIDER, None),
    ("GET", "/api/v1/me/counselling-restriction"): ("counselling", YOUTH, None),
    ("GET", "/api/v1/staff/counselling/stats"): ("counselling", STAFF, None),
    # volunteering
    ("GET", "/api/v1/volunteer/projects"): ("volunteer", ALL_OK, None),
    ("GET", "/api/v1/volunteer/projects/{project_id}"): ("volunteer", ALL_OK, None, VPROJECT),
    ("POST", "/api/v1/volunteer/shifts/{shift_id}/signups"): ("volunteer", YOUTH, None),
    ("GET", "/api/v1/volunteer/shifts/{shift_id}/signups/mine"): (
        "volunteer", dict(YOUTH, other_youth="VOLUNTEER_NOT_SIGNED_UP"), None),
    ("DELETE", "/api/v1/volunteer/shifts/{shift_id}/signups/mine"): ("volunteer", YOUTH, None),
    ("GET", "/api/v1/volunteer/shifts/{shift_id}/ticket"): (
        "volunteer", dict(YOUTH, other_youth="VOLUNTEER_NOT_SIGNED_UP"), None),
    ("POST", "/api/v1/volunteer/shifts/{shift_id}/self-check-in"): (
        "volunteer", dict(YOUTH, youth=NOT_THERE, other_youth=NOT_THERE),
        lambda w: {"lat": 24.9637, "lng": 102.6644, "accuracy_m": 10}),
    ("POST", "/api/v1/volunteer/shifts/{shift_id}/self-check-out"): (
        "volunteer", dict(YOUTH, youth=NOT_THERE, other_youth=NOT_THERE),
        lambda w: {"lat": 24.9637, "lng": 102.6644, "accuracy_m": 10}),
    ("GET", "/api/v1/me/volunteer-signups"): ("volunteer", YOUTH, None),
    ("GET", "/api/v1/me/volunteer-hours"): ("volunteer", YOUTH, None),
    ("GET", "/api/v1/me/volunteer-hours/{hours_id}"): ("volunteer", YOUTH_OWN, None),
    ("POST", "/api/v1/me/volunteer-hours/{hours_id}/dispute"): (
        "volunteer", YOUTH_OWN, lambda w: {"reason": "实际服务时间更长"}),
    ("GET", "/api/v1/me/volunteer-record"): ("volunteer", YOUTH, None),
    ("POST", "/api/v1/me/volunteer-certificates"): (
        "volunteer", YOUTH, lambda w: {"scope": "period", "date_from": "2020-01-01", "date_to": "2030-12-31"}),
    ("GET", "/api/v1/me/volunteer-certificates"): ("volunteer", YOUTH, None),
    ("GET", "/api/v1/me/volunteer-certificates/{certificate_id}"): ("volunteer", YOUTH_OWN, None),
    ("GET", "/api/v1/me/volunteer-certificates/{certificate_id}/pdf"): ("volunteer", YOUTH_OWN, None),
    ("GET", "/api/v1/certificates/{code}"): ("volunteer", ALL_OK, None),
    ("POST", "/api/v1/provider/volunteer/projects"): ("volunteer", PROVIDER, lambda w: {"title": "x"}),
    ("GET", "/api/v1/provider/volunteer/projects/{project_id}"): ("volunteer", PROVIDER_OWN, None, VPROJECT),
    ("PATCH", "/api/v1/provider/volunteer/projects/{project_id}"): (
        "volunteer", PROVIDER_OWN, lambda w: {"contact_name": "李老师"}, VPROJECT),
    ("POST", "/api/v1/provider/volunteer/projects/{project_id}/shifts"): (
        "volunteer", PROVIDER_OWN, lambda w: {"starts_at": _later(12), "ends_at": _later(12)[:11] + "23:59:00+00:00",
                                              "capacity": 5}, VPROJECT),
    ("PATCH", "/api/v1/provider/volunteer/shifts/{shift_id}"): ("volunteer", PROVIDER_OWN, lambda w: {"capacity": 12}),
    ("POST", "/api/v1/provider/volunteer/shifts/{shift_id}/cancel"): (
        "volunteer", PROVIDER_OWN, lambda w: {"reason": "天气原因取消"}),
    ("GET", "/api/v1/provider/volunteer/shifts/{shift_id}/signups"): ("volunteer", PROVIDER_OWN, None),
    ("GET", "/api/v1/provider/volunteer/shifts/{shift_id}/signups.csv"): ("volunteer", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/volunteer/shifts/{shift_id}/check-ins"): (
        "volunteer", PROVIDER_OWN, lambda w: {"ticket": "forged.ticket.value"}),
    ("POST", "/api/v1/provider/volunteer/shifts/{shift_id}/check-outs"): (
        "volunteer", PROVIDER_OWN, lambda w: {"ticket": "forged.ticket.value"}),
    ("GET", "/api/v1/provider/volunteer/hours"): ("volunteer", PROVIDER, None),
    ("POST", "/api/v1/provider/volunteer/signups/{signup_id}/waive-strike"): (
        "volunteer", PROVIDER_OWN, lambda w: {"reason": "因病请假，已提前告知"}),
    ("POST", "/api/v1/provider/volunteer/hours/confirm"): (
        "volunteer", PROVIDER_OWN, lambda w: {"ids": [w.ids["hours_id"]]}),
    ("POST", "/api/v1/provider/volunteer/hours/adjust"): (
        "volunteer", PROVIDER_OWN, lambda w: {"items": [{"id": w.ids["hours_id"], "minutes": 90,
                                                         "reason": "核对签到表后调整"}]}),
    ("POST", "/api/v1/provider/volunteer/hours/{hours_id}/answer"): (
        "volunteer", PROVIDER_OWN, lambda w: {"reason": "已核实签到记录"}),
    ("GET", "/api/v1/staff/volunteer/late-organisations"): ("volunteer", STAFF, None),
    ("GET", "/api/v1/staff/volunteer/certificates"): ("volunteer", STAFF, None),
    ("GET", "/api/v1/staff/volunteer/certificates/{certificate_id}"): ("volunteer", STAFF, None),
    ("POST", "/api/v1/staff/volunteer/certificates/{certificate_id}/revoke"): (
        "volunteer", STAFF, lambda w: {"reason": "持有人申请作废"}),
    # openings
    ("GET", "/api/v1/openings"): ("openings", ALL_OK, None),
    ("GET", "/api/v1/openings/{opening_id}"): ("openings", ALL_OK, None),
    ("POST", "/api/v1/openings/{opening_id}/applications"): ("openings", YOUTH, lambda w: OPENING_RESUME),
    ("GET", "/api/v1/me/opening-resume"): ("openings", YOUTH, None),
    ("PUT", "/api/v1/me/opening-resume"): ("openings", YOUTH, lambda w: {"school": "云南大学", "major": "统计学"}),
    ("GET", "/api/v1/me/opening-applications"): ("openings", YOUTH, None),
    ("GET", "/api/v1/me/opening-applications/{application_id}"): ("openings", YOUTH_OWN, None, OAPP),
    ("POST", "/api/v1/me/opening-applications/{application_id}/withdraw"): ("openings", YOUTH_OWN, lambda w: {},
                                                                            OAPP),
    ("POST", "/api/v1/me/opening-applications/{application_id}/accept"): ("openings", YOUTH_OWN, None, OAPP),
    ("POST", "/api/v1/me/opening-applications/{application_id}/decline"): ("openings", YOUTH_OWN, lambda w: {}, OAPP),
    ("POST", "/api/v1/provider/openings"): ("openings", PROVIDER, lambda w: {"title": "x"}),
    ("GET", "/api/v1/provider/openings/{opening_id}"): ("openings", PROVIDER_OWN, None),
    ("PATCH", "/api/v1/provider/openings/{opening_id}"): ("openings", PROVIDER_OWN,
                                                          lambda w: {"contact_name": "王经理"}),
    ("GET", "/api/v1/provider/openings/{opening_id}/applications"): ("openings", PROVIDER_OWN, None),
    ("GET", "/api/v1/provider/openings/{opening_id}/applications.csv"): ("openings", PROVIDER_OWN, None),
    ("POST", "/api/v1/provider/openings/{opening_id}/reject-rest"): (
        "openings", PROVIDER_OWN, lambda w: {"reason_code": "places_filled"}),
    ("GET", "/api/v1/provider/opening-applications/{application_id}"): ("openings", PROVIDER_OWN, None, OAPP),
    ("POST", "/api/v1/provider/opening-applications/{application_id}/open"): ("openings", PROVIDER_OWN, None, OAPP),
    ("POST", "/api/v1/provider/opening-applications/{application_id}/interview"): (
        "openings", PROVIDER_OWN, lambda w: {"at": _later(3), "place": "呈贡区春融街1号"}, OAPP),
    ("POST", "/api/v1/provider/opening-applications/{application_id}/offer"): ("openings", PROVIDER_OWN,
                                                                               lambda w: {}, OAPP),
    ("POST", "/api/v1/provider/opening-applications/{application_id}/reject"): (
        "openings", PROVIDER_OWN, lambda w: {"reason_code": "not_qualified"}, OAPP),
    ("GET", "/api/v1/staff/openings/response-times"): ("openings", STAFF, None),
}

# Routes whose allowed caller changes what later routes rely on run last, in this order.
LAST = [
    ("GET", "/api/v1/provider/counselling/bookings/{booking_id}/notes"),  # after the notes are written
    ("POST", "/api/v1/provider/postings/{kind}/{posting_id}/close"),
    ("POST", "/api/v1/staff/reviews/{kind}/{posting_id}/take-down"),
    ("DELETE", "/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}"),
    ("POST", "/api/v1/me/housing-applications/{application_id}/withdraw"),
    ("DELETE", "/api/v1/events/{event_id}/registrations/mine"),
    ("POST", "/api/v1/provider/events/{event_id}/cancel"),
    ("POST", "/api/v1/counselling/bookings/{booking_id}/reschedule"),
    # editing public text sends the counsellor back to review, and its slots out of sight
    ("PATCH", "/api/v1/provider/counselling/counsellors/{counsellor_id}"),
    ("POST", "/api/v1/provider/counselling/bookings/{booking_id}/cancel"),
    ("DELETE", "/api/v1/counselling/bookings/{booking_id}"),
    ("DELETE", "/api/v1/provider/counselling/slots/{slot_id}"),
    ("DELETE", "/api/v1/volunteer/shifts/{shift_id}/signups/mine"),
    ("POST", "/api/v1/provider/volunteer/shifts/{shift_id}/cancel"),
    ("POST", "/api/v1/me/opening-applications/{application_id}/withdraw"),
    ("POST", "/api/v1/provider/opening-applications/{application_id}/reject"),
    ("POST", "/api/v1/provider/openings/{opening_id}/reject-rest"),
]


def route_table(app: Any) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    routes = route_table(app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an authorisation entry: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"
    assert set(LAST) <= MATRIX.keys()


@pytest.fixture(scope="module")
async def world(client) -> World:
    return await build(client)


def _caller(w: World, role: str, service: str) -> dict[str, str]:
    actor = {"anon": None, "youth": w.youth, "other_youth": w.other_youth, "moderator": w.moderator,
             "admin": w.admin, "owner": w.owners[service], "other_org": w.others[service]}[role]
    return actor.headers if actor else {}


def _ordered() -> list[tuple[str, str]]:
    rest = [k for k in MATRIX if k not in LAST]
    return sorted(rest, key=lambda k: (k[0] != "GET", k[0] == "DELETE")) + LAST


async def test_matrix(client_at, world):
    # From an address of its own: the matrix's failed password logins must not lock out other tests.
    client = client_at("10.77.0.1")
    failures = []
    for method, path in _ordered():
        service, expect, body, *override = MATRIX[(method, path)]
        url = path.format(**dict(world.ids, **(override[0](world) if override else {})))
        for role in ROLES:
            kwargs: dict[str, Any] = {"headers": _caller(world, role, service)}
            if body is not None:
                kwargs["json"] = body(world)
            r = await client.request(method, url, **kwargs)
            want = expect[role]
            got = r.status_code
            if os.environ.get("AUTHZ_SHOW"):
                print(f"{method:6} {path:75} {role:12} {got}")
            code = r.json().get("code") if got >= 400 else None
            if want == OK:
                good = got < 500 and got not in (401, 403, 404)
            elif isinstance(want, str | tuple):  # a business rule answers, with its own code
                good = code in ((want,) if isinstance(want, str) else want)
            else:  # access control: refusals carry the generic codes
                good = got == want and code in {401: {"UNAUTHENTICATED"}, 403: {"FORBIDDEN"},
                                                404: {"NOT_FOUND", "ROUTE_NOT_FOUND"}}.get(want, {code})
            if not good:
                failures.append(f"{method} {path} as {role}: expected {want}, got {got} {r.text[:120]}")
            if got >= 400:
                assert set(r.json()) <= {"code", "message", "fields"}, (method, path, role, r.text)
    assert not failures, "\n".join(failures)

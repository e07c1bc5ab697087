"""The authorisation matrix inside a counselling centre: every booking-level route × every role a member
can have. The intake, the risk follow-ups and attendance belong to the booking's care team (its booked
counsellor and the centre's duty list); notes to the booked counsellor alone; waiving a strike to the
duty list and the owners; the booking list and cancelling to every member; the centre's settings to
the owners. Another centre's duty member is a stranger to the booking (404).

"ok" means the caller may use the route (any answer but 401, 403, 404, and never a 5xx); a number is
the exact status expected.
"""

from __future__ import annotations

from typing import Any

from tests.api.test_counselling import (
    CENTRE,
    add_slot,
    book,
    past_booking,
    staffed_centre,
    young,
)
from tests.factories import account, now, organisation

OK = "ok"
ROLES = ("stranger_duty", "editor", "owner", "duty", "counsellor")
CARE_TEAM = dict(stranger_duty=404, editor=403, owner=403, duty=OK, counsellor=OK)
COUNSELLOR_ONLY = dict(stranger_duty=404, editor=403, owner=403, duty=403, counsellor=OK)
AUTHOR_ONLY = dict(stranger_duty=404, editor=404, owner=404, duty=404, counsellor=OK)
DUTY_OR_OWNER = dict(stranger_duty=404, editor=403, owner=OK, duty=OK, counsellor=403)
MEMBERS = dict(stranger_duty=404, editor=OK, owner=OK, duty=OK, counsellor=OK)
ANY_CENTRE = dict.fromkeys(ROLES, OK)  # each sees its own centre's view
OWNERS = dict(stranger_duty=403, editor=403, owner=OK, duty=403, counsellor=403)

# (method, path, booking, body, expectations), run in this order (cancelling runs last)
ROWS: list[tuple[str, str, str | None, dict[str, Any] | None, dict[str, Any]]] = [
    ("GET", "/bookings/{id}", "flagged", None, CARE_TEAM),
    ("POST", "/bookings/{id}/risk-followups", "flagged", {"action": "called_back", "note": "已电话联系来访者"},
     CARE_TEAM),
    ("POST", "/bookings/{id}/attendance", "past", {"status": "attended"}, CARE_TEAM),
    ("PUT", "/bookings/{id}/notes", "past", {"body": "初次咨询，建立关系"}, COUNSELLOR_ONLY),
    ("GET", "/bookings/{id}/notes", "past", None, AUTHOR_ONLY),
    ("POST", "/bookings/{id}/waive-strike", "struck", {"reason": "来访者当天生病住院"}, DUTY_OR_OWNER),
    ("GET", "/bookings", None, None, ANY_CENTRE),
    ("GET", "/risk-queue", None, None, ANY_CENTRE),
    ("GET", "/centre", None, None, ANY_CENTRE),
    ("PATCH", "/centre", None, {"opening_hours": ["00:00-24:00"] * 7}, OWNERS),
    ("POST", "/bookings/{id}/cancel", "future", {"reason": "咨询师临时外出培训"}, MEMBERS),
]


async def test_roles_inside_a_centre(client):
    c = await staffed_centre(client)
    stranger_centre = await organisation("counselling_center")
    stranger_duty = await account("provider", org_id=stranger_centre.org_id, org_role="editor")
    r = await client.patch(f"{CENTRE}/centre", json={"duty_user_ids": [stranger_duty.user_id]},
                           headers=stranger_centre.headers)
    assert r.status_code == 200, r.text
    callers = {"stranger_duty": stranger_duty, "editor": c.editor, "owner": c.owner, "duty": c.duty[0],
               "counsellor": c.counsellor}
    flagged = (await book(client, await young(), await add_slot(client, c.owner, c.cid, now() + _days(1)),
                          risk=True)).json()["id"]
    future = (await book(client, await young(), await add_slot(client, c.owner, c.cid, now() + _days(2)))).json()["id"]
    who = await young()
    past = await past_booking(c.owner, c.cid, who)
    struck = await past_booking(c.owner, c.cid, who, hours_ago=4)
    r = await client.post(f"{CENTRE}/bookings/{struck}/attendance", json={"status": "no_show"},
                          headers=c.counsellor.headers)
    assert r.status_code == 200, r.text
    bookings = {"flagged": flagged, "past": past, "struck": struck, "future": future}

    failures = []
    for method, path, which, body, expect in ROWS:
        url = CENTRE + (path.format(id=bookings[which]) if which else path)
        for role in ROLES:
            r = await client.request(method, url, json=body, headers=callers[role].headers)
            want, got = expect[role], r.status_code
            good = (got < 500 and got not in (401, 403, 404)) if want == OK else got == want
            if not good:
                failures.append(f"{method} {path} as {role}: expected {want}, got {got} {r.text[:120]}")
    assert not failures, "\n".join(failures)


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)

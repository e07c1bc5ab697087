"""The posting registry's ``took_part``: one statement over every kind that says who took part."""

from __future__ import annotations

from app.db import session_scope
from app.kit.postings import took_part
from tests.factories import API, bulk_youth, published


async def test_took_part_with_any_posting_of_the_organisation_and_only_that(client):
    owner, project = await published(client, "housing_project")
    other, _ = await published(client, "housing_project")
    organiser, event = await published(client, "event")
    applicant, attendee, bystander = await bulk_youth(3)
    r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                          json={"unit_type_id": project["unit_types"][0]["id"]}, headers=applicant.headers)
    assert r.status_code == 201, r.text
    assert (await client.post(f"{API}/events/{event['id']}/registrations", headers=attendee.headers)).status_code == 201
    async with session_scope() as s:
        assert await took_part(s, applicant.user_id, owner.org_id)
        assert await took_part(s, attendee.user_id, organiser.org_id)
        assert not await took_part(s, bystander.user_id, owner.org_id)
        assert not await took_part(s, applicant.user_id, other.org_id)
        assert not await took_part(s, attendee.user_id, owner.org_id)

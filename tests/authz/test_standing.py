"""An organisation that lost its standing, across the whole route table: every provider route of every
service refuses a suspended (then a rejected) organisation's owner, with the world's real ids and the
matrix's valid bodies, except the few routes such an organisation keeps. A new provider route is
covered the moment it lands in the matrix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.authz.test_matrix import LAST, MATRIX
from tests.authz.world import API, World, build

# What an organisation without standing keeps: its own record (to read the reason), its members (to
# remove them), its postings' review state. Nothing personal is in any of them.
KEPT = {
    ("GET", "/api/v1/provider/org"),
    ("GET", "/api/v1/provider/org/members"),
    ("DELETE", "/api/v1/provider/org/members/{member_id}"),
    ("GET", "/api/v1/provider/postings"),
}
PROVIDER_ROUTES = [k for k in [*(k for k in MATRIX if k not in LAST), *LAST]
                   if k[1].startswith("/api/v1/provider/") and k[1] != "/api/v1/provider/signup"]


@pytest.fixture(scope="module")
async def world(client) -> World:
    return await build(client)


async def _hit_every_provider_route(client: Any, w: World, codes: set[str]) -> list[str]:
    failures = []
    for method, path in PROVIDER_ROUTES:
        service, _, body, *override = MATRIX[(method, path)]
        url = path.format(**dict(w.ids, **(override[0](w) if override else {})))
        kwargs: dict[str, Any] = {"headers": w.owners[service].headers}
        if body is not None:
            kwargs["json"] = body(w)
        if (method, path) in KEPT:
            if method == "DELETE":
                continue  # removing the world's one member would leave nothing to check the next pass with
            r = await client.request(method, url, **kwargs)
            if r.status_code != 200:
                failures.append(f"{method} {path}: kept route answered {r.status_code} {r.text[:100]}")
            continue
        r = await client.request(method, url, **kwargs)
        code = r.json().get("code") if r.status_code >= 400 else None
        # Routes that find the organisation's records themselves answer as if they did not exist.
        if not ((r.status_code == 403 and code in codes) or (r.status_code == 404 and code == "NOT_FOUND")):
            failures.append(f"{method} {path}: {r.status_code} {r.text[:100]}")
    return failures


async def test_every_provider_route_refuses_an_organisation_without_standing(client_at, world, factory):
    client = client_at("10.77.0.2")
    staff = await factory.reviewer()
    orgs = {a.org_id for a in world.owners.values()}

    async def decide(decision: str) -> None:
        for org_id in orgs:
            r = await client.post(f"{API}/staff/orgs/{org_id}/{decision}", json={"reason": "核查期间暂停使用"},
                                  headers=staff.headers)
            assert r.status_code == 200, r.text

    await decide("suspend")
    failures = await _hit_every_provider_route(client, world, {"ORG_SUSPENDED"})
    await decide("reinstate")
    await decide("reject")
    failures += await _hit_every_provider_route(client, world, {"ORG_REJECTED"})
    assert not failures, "\n".join(failures)
    assert len(PROVIDER_ROUTES) > 30  # the whole provider surface, not a sample

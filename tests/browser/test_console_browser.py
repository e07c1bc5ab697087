"""The staff console in a real headless Chromium (Debian's ``chromium``, installed by
``scripts/sysdeps.txt``), driven by Playwright against the app served by uvicorn on a local port: a
staff member logs in, approves one posting and rejects another with a reason the provider then sees,
resolves a report, verifies an organisation and opens a dashboard whose chart draws the numbers the
JSON API gives. Every request the page makes to anything but the local server is blocked and fails
the test (nothing may come from a CDN), and so does any script error.

Skipped only when Chromium or Playwright is missing outside CI; in CI (CI=true) that is a failure.
Set ``CONSOLE_SCREENSHOTS=<folder>`` to keep screenshots of the queue and a dashboard (the README's).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.factories import Factory, draft, unique

API = "/api/v1"
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")


def _browser_or_skip() -> None:
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"{CHROMIUM} (Debian package chromium: `make sysdeps`)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("playwright (`make dev`)")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests must run in CI; missing: " + ", ".join(missing))
        pytest.skip("headless browser not available: " + ", ".join(missing))


@pytest.fixture
async def served(app: Any):
    """The test app on a real local port (same process and event loop as the test's database)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def page(served: str):
    _browser_or_skip()
    from playwright.async_api import async_playwright

    outside: list[str] = []
    errors: list[str] = []
    own = urlsplit(served).netloc
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(base_url=served, locale="zh-CN", viewport={"width": 1280, "height": 900})

        async def only_local(route: Any) -> None:
            if urlsplit(route.request.url).netloc == own or route.request.url.startswith("data:"):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await context.route("**/*", only_local)
        p = await context.new_page()
        p.set_default_timeout(15_000)
        p.on("pageerror", lambda exc: errors.append(str(exc)))
        p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield p
        await browser.close()
    assert not outside, f"the page asked for other hosts: {outside}"
    assert not errors, f"script errors: {errors}"


async def _pending(client: Any, provider: Any, title: str) -> dict[str, Any]:
    _, posting = await draft(client, "event", provider, title=title)
    r = await client.post(f"{API}/provider/postings/event/{posting['id']}/submit", headers=provider.headers)
    assert r.status_code == 200, r.text
    return posting


async def test_staff_clears_the_queue_and_reads_a_dashboard(client, page, factory: Factory):
    from playwright.async_api import expect

    staff = await factory.staff("moderator")
    provider = await factory.provider("event_organizer")
    good = await _pending(client, provider, f"周末徒步{unique('')}")
    bad = await _pending(client, provider, f"联谊晚会{unique('')}")
    _, live = await factory.published("event")
    reporter = await factory.youth()
    rep = await client.post(f"{API}/reports", json={"target_kind": "event", "target_id": live["id"],
                                                    "reason_code": "false_info"}, headers=reporter.headers)
    assert rep.status_code == 201, rep.text
    applicant = await factory.provider("employer", verified=False, name=f"见习单位{unique('')}")

    await page.goto("/console/reviews")
    await expect(page).to_have_url(re.compile(r"/console/login\?next=/console/reviews$"))
    await page.fill("#username", staff.username)
    await page.fill("#password", staff.password)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("审核队列")
    shots = os.environ.get("CONSOLE_SCREENSHOTS")

    # approve one (htmx: the decision replaces the buttons in place)
    await page.click(f"text={good['title']}")
    await expect(page.locator("h2#public-h")).to_be_visible()
    if shots:
        await page.screenshot(path=str(Path(shots) / "console-review.png"), full_page=True)
    await page.click("#approve")
    await expect(page.locator("#decision")).to_contain_text("已通过并发布")

    # reject the other with a reason
    await page.goto("/console/reviews")
    if shots:
        await page.screenshot(path=str(Path(shots) / "console-queue.png"), full_page=True)
    await page.click(f"text={bad['title']}")
    await page.fill("#reject-reason", "活动地点与时间不完整，请补充后重新提交")
    await page.click("#reject")
    await expect(page.locator("#decision")).to_contain_text("未通过")
    mine = (await client.get(f"{API}/provider/postings", headers=provider.headers)).json()["items"]
    states = {p["id"]: (p["status"], p["review_reason"]) for p in mine}
    assert states[good["id"]] == ("published", None)
    assert states[bad["id"]] == ("rejected", "活动地点与时间不完整，请补充后重新提交")

    # resolve the report
    await page.goto("/console/reports")
    row = page.locator(f"#report-{rep.json()['id']}")
    await row.locator("input[name=reason]").fill("经核实信息属实")
    await row.locator("button").click()
    await expect(page.locator(f"#report-{rep.json()['id']}")).to_have_count(0)

    # verify the organisation (its credit code is checked on the page)
    await page.goto("/console/orgs")
    org_row = page.locator(f"#org-{applicant.org_id}")
    await expect(org_row.locator("[data-credit-ok]")).to_be_visible()
    await org_row.locator("button", has_text="认证通过").click()
    await expect(page.locator(f"#org-{applicant.org_id}")).to_have_count(0)
    staff_view = (await client.get(f"{API}/staff/orgs/{applicant.org_id}", headers=staff.headers)).json()
    assert staff_view["status"] == "verified"

    # the moderation dashboard: the chart draws what the JSON API answers, the table beside it too
    expected = (await client.get(f"{API}/staff/stats/moderation", headers=staff.headers)).json()
    await page.goto("/console/stats/moderation")
    await expect(page.locator("#chart svg")).to_be_visible()
    drawn = await page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.getElementById('chart'));
        return chart.getOption().series.map(s => s.data);
    }""")
    for c, series in enumerate(drawn):
        assert series == [row["cells"][c] for row in expected["rows"]]
    event_row = next(r for r in expected["rows"] if r["label"] == "联谊活动" or r["label"].endswith("活动"))
    table_row = page.locator("#chart-table tbody tr", has_text=event_row["label"])
    await expect(table_row.locator("td").first).to_have_text(str(event_row["cells"][0]))
    if shots:
        await page.screenshot(path=str(Path(shots) / "console-dashboard.png"), full_page=True)

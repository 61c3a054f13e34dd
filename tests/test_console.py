"""The console in a real browser (Debian's Chromium, driven by Playwright) against the running
deployment: a marketer signs in with a login key, builds a segment and sees its estimate, creates
a campaign and watches its bar, pauses and resumes it until COMPLETED, and is refused the dead
letters; an operator replays a dead letter and suppresses an email.

`MINICRM_SCREENSHOTS=docs bin/test tests/test_console.py` writes the README's two screenshots."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import pytest
from test_campaigns import add_customers
from test_ingest import make_order
from test_promises import to_record

from minicrm.db import create_pool
from minicrm.edge.auth import issue_login_key
from support.deployment import deployment, eventually

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.environ.get("MINICRM_SCREENSHOTS")
TIMEOUT = 30_000  # ms: the longest any one page state is waited for


# A deployment of the console's own: its campaign is paced and paused, and on the session's shared
# workers it would wait behind whatever the tests before it left them to send.
@pytest.fixture(scope="module")
async def pipeline(stack, tmp_path_factory):
    async with deployment(tmp_path_factory.mktemp("console")) as own:
        yield own


@pytest.fixture(scope="module")
async def user(pipeline):
    return await pipeline.new_user()


@pytest.fixture(scope="module")
async def db_pool(pipeline):
    pool = await create_pool(pipeline.settings.database_url, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def http(pipeline, user):
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {user[1]}"}) as session:
        yield session


@pytest.fixture(scope="module")
async def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium: bin/test installs Debian's chromium package where apt-get can; it could not here")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def console(browser, pipeline, db_pool):
    """`open(email, operator)`: a new page signed in through the console's form with a fresh login
    key; the page's script errors fail the test."""
    pages, errors = [], []

    async def open_signed_in(email: str, operator: bool = False):
        from playwright.async_api import expect

        _, key = await issue_login_key(db_pool, email, "Console User", operator)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        pages.append(page)
        await page.goto(f"{pipeline.url}/console")
        await page.get_by_label("Login key").fill(str(key))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#role")).to_have_text("operator" if operator else "marketer")
        await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
        return page

    yield open_signed_in
    for page in pages:
        await page.close()
    assert not errors, errors


async def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=False)


async def progress(page) -> int:
    return int(await page.locator("#progress").get_attribute("data-progress") or 0)


async def test_a_marketer_runs_a_campaign_from_the_console(pipeline, http, console, normal_vendor):
    from playwright.async_api import expect

    city = await add_customers(pipeline, http, 150)
    page = await console(f"marketer-{uuid.uuid4().hex[:8]}@example.com")
    assert not await page.get_by_role("link", name="Dead letters").is_visible()  # not a marketer's

    await page.get_by_role("link", name="New campaign").first.click()
    await page.get_by_label("Campaign name").fill(f"Console {city}")
    rule = page.locator(".rule").filter(has=page.get_by_label("Attribute")).first
    await rule.get_by_label("Attribute").select_option("city")
    await rule.get_by_label("Operator").select_option("=")
    await rule.get_by_label("Value").fill(city)
    await expect(page.locator("#estimate-box")).to_have_attribute("data-state", "done")
    await expect(page.locator("#estimate")).to_have_text("150 customers")  # the live estimate of the segment
    await page.get_by_role("button", name="Add rule").click()  # a time-window rule, which none of them fails
    window = page.locator(".rule").filter(has=page.get_by_label("Attribute")).nth(1)
    await window.get_by_label("Attribute").select_option("orders_within")
    await window.get_by_label("Operator").select_option("<")
    await window.get_by_label("Value").fill("5")
    await window.get_by_label("Days").fill("30")
    tree = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": city}]}
    tree["rules"].append({"attribute": "orders_within", "operator": "<", "value": 5, "days": 30})
    await expect(page.locator("#rule-json")).to_have_text(orjson.dumps(tree, option=orjson.OPT_INDENT_2).decode())
    await expect(page.locator("#estimate-box")).to_have_attribute("data-state", "done")  # the answer for this tree
    await expect(page.locator("#estimate")).to_have_text("150 customers")
    await page.get_by_label("Message", exact=True).fill("Hi {{name}}, 10% off this week")
    await page.get_by_label("Messages per second").fill("20")
    await page.get_by_label("Campaign name").focus()
    await page.evaluate("window.scrollTo(0, 0)")
    await shoot(page, "console-new-campaign.png")
    await page.get_by_role("button", name="Create campaign").click()

    await expect(page).to_have_url(re.compile(r"#/campaigns/[0-9a-f-]{36}$"))
    await page.wait_for_function("() => +document.querySelector('#progress')?.dataset.progress >= 30")
    await shoot(page, "console-campaign.png")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#campaign-status")).to_have_text("PAUSED")
    paused_at = await progress(page)
    assert 0 < paused_at < 100, paused_at
    await expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    await page.get_by_role("button", name="Resume").click()
    # (behind whatever earlier tests left the shared workers to send)
    await expect(page.locator("#campaign-status")).to_have_text("COMPLETED", timeout=120_000)
    await expect(page.locator("#progress")).to_have_attribute("data-progress", "100")
    await expect(page.locator("#summary")).not_to_contain_text("Written when")  # COMPLETED comes with its summary
    await expect(page.locator("#log tbody tr")).to_have_count(25)  # the log's first page

    await page.goto(f"{pipeline.url}/console#/dead-letters")
    await expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    await expect(page.locator(".refused")).to_contain_text("operator")


async def test_an_operator_replays_a_dead_letter_and_suppresses_an_email(pipeline, http, console):
    from playwright.async_api import expect

    # An order that reached the pipeline before its customer, dead-lettered; the customer exists now.
    tag = uuid.uuid4().hex[:8]
    email = f"late-{tag}@example.com"
    async with http.post("/api/customers", json={"name": "Came Late", "email": email}) as r:
        customer_id = (await r.json())["ids"][0]
    conn = await pipeline.db()
    try:
        await eventually(lambda: conn.fetchval("SELECT 1 FROM customers WHERE id = $1", uuid.UUID(customer_id)))
        order = to_record(make_order(f"{tag}-late", customer_id, "COMPLETED", datetime.now(UTC)))
        letter = await conn.fetchval(
            "INSERT INTO dead_letters (topic, key, payload, reason) VALUES ($1, $2, $3, $4) RETURNING id",
            pipeline.topic("orders"),
            order["id"],
            orjson.dumps({"orders": [order]}).decode(),
            "customer not found (the test's)",
        )

        page = await console(f"operator-{tag}@example.com", operator=True)
        await page.get_by_role("link", name="Dead letters").click()
        await page.get_by_label("Topic").fill("orders")
        await page.get_by_role("button", name="Filter").click()
        await page.get_by_role("button", name=f"Replay dead letter {letter}", exact=True).click()
        await expect(page.get_by_role("button", name=f"Replay dead letter {letter}", exact=True)).to_have_count(0)
        stored = "SELECT count(*) FROM orders WHERE id = $1"
        await eventually(lambda: _equals(conn.fetchval(stored, order["id"]), 1), timeout=30)
    finally:
        await conn.close()

    await page.get_by_role("link", name="Suppressions").click()
    await page.get_by_label("Email", exact=True).fill(f"stop-{tag}@example.com")
    await page.get_by_role("button", name="Suppress").click()
    await expect(page.locator("#suppressions")).to_contain_text(f"stop-{tag}@example.com")
    await page.get_by_role("link", name="Vendor health").click()
    await expect(page.locator("#vendor-health")).to_contain_text("Configured vendor")


async def _equals(coro, value) -> bool:
    return await coro == value

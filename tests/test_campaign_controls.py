"""Campaign controls on the real stack: pause, resume, cancel, schedule, test send, resend to the
failed, opt-outs and the frequency cap."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from test_campaigns import add_customers, assert_exact, campaign, city_rule, finished

from support.deployment import deployment, eventually, vendor, vendor_stats

pytestmark = pytest.mark.integration
GRACE = 2.0  # seconds a pause may take to stop the calls already under way ("within a second or two")


async def create(http, city: str, **extra) -> dict:
    body = {"name": f"Controls for {city}", "ruleGroup": city_rule(city), "message": "Hi {{name}}!", **extra}
    async with http.post("/api/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def act(http, campaign_id: str, action: str, expect: int = 200) -> dict:
    async with http.post(f"/api/campaigns/{campaign_id}/{action}") as r:
        assert r.status == expect, await r.text()
        return await r.json()


async def sent_by_vendor(pipeline, campaign_id: str) -> int:
    return (await vendor_stats(pipeline))["by_campaign"].get(campaign_id, 0)


async def final(http, campaign_id: str, status: str, timeout: float = 120) -> dict:
    async def done():
        c = await campaign(http, campaign_id)
        return c if c["status"] == status and c["summary"] else None

    return await eventually(done, timeout=timeout)


async def log_counts(pipeline, campaign_id: str) -> dict[str, int]:
    conn = await pipeline.db()
    try:
        return dict(
            await conn.fetch(
                "SELECT status, count(*) FROM communication_log WHERE campaign_id = $1 AND NOT test GROUP BY status",
                uuid.UUID(campaign_id),
            )
        )
    finally:
        await conn.close()


async def test_pause_stops_the_vendor_calls_and_resume_completes_exactly(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 4000)
    cid = (await create(http, city, ratePerSecond=500))["campaignId"]  # about 8 s of sending
    await eventually(lambda: _between(sent_by_vendor(pipeline, cid), 1, 3000), interval=0.05)

    paused = await act(http, cid, "pause")
    assert paused["status"] == "PAUSED" and paused["paused_by"] == "user" and paused["pause_reason"]
    await act(http, cid, "pause", expect=409)  # paused already
    await asyncio.sleep(GRACE)
    before = await sent_by_vendor(pipeline, cid)
    await asyncio.sleep(3)  # the vendor's counter for this campaign stays flat while paused
    assert await sent_by_vendor(pipeline, cid) == before < 4000
    assert (await campaign(http, cid))["status"] == "PAUSED"

    resumed = await act(http, cid, "resume")
    assert resumed["status"] == "RUNNING" and resumed["paused_by"] is None
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 4000)
    assert await sent_by_vendor(pipeline, cid) == 4000  # every message reached the vendor, once
    await act(http, cid, "resume", expect=409)  # completed: final
    await act(http, cid, "cancel", expect=409)


async def test_a_resume_right_after_a_pause_sends_the_rest_once(pipeline, http, normal_vendor):
    """One delivery batch sent in paced calls, a call a second. The worker reads the pause right
    before its next call; a resume's batch that reaches it just after that read must not be dropped
    on the cached PAUSED. Each cycle pauses just after a call and resumes near the next one."""
    city = await add_customers(pipeline, http, 200)
    cid = (await create(http, city, ratePerSecond=20))["campaignId"]
    for paused_for in (0.8, 0.9, 1.0, 1.1, 1.2):
        sent = await sent_by_vendor(pipeline, cid)
        await eventually(lambda: _between(sent_by_vendor(pipeline, cid), sent + 1, 199), interval=0.02)
        await act(http, cid, "pause")
        await asyncio.sleep(paused_for)  # not a wait for a condition: each cycle resumes at another moment
        await act(http, cid, "resume")
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 200)
    assert await sent_by_vendor(pipeline, cid) == 200  # every message reached the vendor, once


async def _between(coro, low: int, high: int) -> bool:
    return low <= await coro <= high


async def test_cancel_mid_way_accounts_for_every_message(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 4000)
    cid = (await create(http, city, ratePerSecond=500))["campaignId"]
    await eventually(lambda: _between(sent_by_vendor(pipeline, cid), 1, 2500), interval=0.05)

    cancelled = await act(http, cid, "cancel")
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelled_count"] > 0
    await act(http, cid, "cancel", expect=409)
    await act(http, cid, "resume", expect=409)
    c = await final(http, cid, "CANCELLED")

    async def accounted():
        """The receipts of the calls under way at the cancel come after it, and move their messages
        from CANCELLED: done once the counters and the log both have every call the vendor took.
        (The counters' sum is 4,000 before those receipts as after them.)"""
        c = await campaign(http, cid)
        counts = await log_counts(pipeline, cid)
        taken = await sent_by_vendor(pipeline, cid)
        done = c["sent_count"] + c["failed_count"] + c["cancelled_count"] == 4000 == c["audience_size"]
        done &= c["sent_count"] + c["failed_count"] == taken == counts.get("SENT", 0) + counts.get("FAILED", 0)
        return (c, counts) if done else None

    c, counts = await eventually(accounted, timeout=30)
    assert c["pending_count"] == 0 and "PENDING" not in counts
    assert counts["CANCELLED"] == c["cancelled_count"] > 0

    async def summarised_with_them():  # the summary written at the cancel is written again with them
        c = await campaign(http, cid)
        stats = c["summaryStats"] or {}
        counted = (stats.get("sent"), stats.get("failed")) == (c["sent_count"], c["failed_count"])
        return c if c["summary"] and counted else None

    c = await eventually(summarised_with_them, timeout=30)
    assert c["sent_count"] + c["failed_count"] > 0 and "before any" not in c["summary"], c["summary"]
    assert counts.get("SENT", 0) == c["sent_count"] and counts.get("FAILED", 0) == c["failed_count"]
    assert "cancelled" in c["summary"] and c["summaryStats"]["cancelled"] > 0
    await asyncio.sleep(GRACE)
    assert await sent_by_vendor(pipeline, cid) == c["sent_count"] + c["failed_count"]  # nothing more went out


async def test_a_scheduled_campaign_starts_on_time_after_a_worker_restart(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 200)
    send_at = datetime.now(UTC) + timedelta(seconds=3)
    created = await create(http, city, sendAt=send_at.isoformat())
    cid = created["campaignId"]
    assert created["status"] == "SCHEDULED"
    assert (await campaign(http, cid))["status"] == "SCHEDULED"

    [worker] = [p for p in pipeline.processes if p.role == "worker"]
    worker.kill(signal.SIGTERM)
    pipeline.processes.remove(worker)
    replacement = pipeline.start("worker")
    await pipeline.wait_worker(replacement)
    ready = datetime.now(UTC)

    c = await finished(http, cid)
    await assert_exact(pipeline, c, 200)
    started = datetime.fromisoformat(c["startedAt"])
    assert started >= send_at
    assert (started - max(send_at, ready)).total_seconds() < 3  # due, and a worker is up: it starts


async def test_a_scheduled_campaign_can_be_rescheduled_or_cancelled_before_it_starts(pipeline, http):
    city = await add_customers(pipeline, http, 20)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    cid = (await create(http, city, sendAt=soon.isoformat()))["campaignId"]
    later = datetime.now(UTC) + timedelta(hours=1)
    async with http.patch(f"/api/campaigns/{cid}", json={"sendAt": later.isoformat()}) as r:
        assert r.status == 200, await r.text()
        assert datetime.fromisoformat((await r.json())["sendAt"]) == later
    async with http.patch(f"/api/campaigns/{cid}", json={"sendAt": "2020-01-01T00:00:00+00:00"}) as r:
        assert r.status == 400 and "sendAt" in await r.text()
    await asyncio.sleep(3)  # past the first time: rescheduled, it has not started
    assert (await campaign(http, cid))["status"] == "SCHEDULED"
    await act(http, cid, "pause", expect=409)  # not started
    assert (await act(http, cid, "cancel"))["status"] == "CANCELLED"
    async with http.patch(f"/api/campaigns/{cid}", json={"sendAt": later.isoformat()}) as r:
        assert r.status == 409
    assert await log_counts(pipeline, cid) == {}


async def test_a_test_send_reaches_only_the_given_customers_and_counts_nothing(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 30)
    later = datetime.now(UTC) + timedelta(hours=1)
    cid = (await create(http, city, sendAt=later.isoformat()))["campaignId"]
    conn = await pipeline.db()
    try:
        rows = await conn.fetch("SELECT id, email FROM customers WHERE city = $1 ORDER BY email LIMIT 2", city)
    finally:
        await conn.close()
    to = [str(rows[0]["id"]), rows[1]["email"].upper()]
    async with http.post(f"/api/campaigns/{cid}/test", json={"to": to}) as r:
        assert r.status == 202, await r.text()
        comm_ids = (await r.json())["commIds"]
    assert len(comm_ids) == 2
    await eventually(lambda: _between(sent_by_vendor(pipeline, cid), 2, 2))

    async def delivered():
        async with http.get("/api/logs", params={"campaignId": cid}) as r:
            logs = await r.json()
        return logs if all(row["status"] in ("SENT", "FAILED") for row in logs) else None

    logs = await eventually(delivered)
    assert sorted(row["id"] for row in logs) == sorted(comm_ids) and all(row["test"] for row in logs)
    assert {row["email"] for row in logs} == {rows[0]["email"], rows[1]["email"]}
    assert all(row["personalized_msg"].startswith("Hi Person") for row in logs)
    c = await campaign(http, cid)
    assert c["status"] == "SCHEDULED" and c["sent_count"] == c["failed_count"] == 0

    async with http.post(f"/api/campaigns/{cid}/test", json={"to": [to[0], "nobody@example.com"]}) as r:
        assert r.status == 400 and "to.1" in await r.text()
    async with http.post(f"/api/campaigns/{cid}/test", json={"to": [to[0]] * 11}) as r:
        assert r.status == 400
    await act(http, cid, "cancel")


async def test_resend_to_the_failed_targets_exactly_them(pipeline, http, normal_vendor):
    await vendor(pipeline, failure_rate=0.3)
    city = await add_customers(pipeline, http, 600)
    first_id = (await create(http, city))["campaignId"]
    async with http.post(f"/api/campaigns/{first_id}/resend", json={"statuses": ["FAILED"]}) as r:
        assert r.status == 409  # not final yet
    first = await finished(http, first_id)
    await vendor(pipeline, failure_rate=0.0)
    async with http.post(f"/api/campaigns/{first_id}/resend", json={"statuses": ["FAILED"]}) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    assert created["audience_size"] == first["failed_count"] > 0 and created["resendOf"] == first_id
    second = await finished(http, created["campaignId"])
    await assert_exact(pipeline, second, first["failed_count"])
    assert second["resendOf"] == first_id and second["sent_count"] == first["failed_count"]

    conn = await pipeline.db()
    try:
        failed_before = {
            r["customer_id"]
            for r in await conn.fetch(
                "SELECT customer_id FROM communication_log WHERE campaign_id = $1 AND status = 'FAILED'",
                uuid.UUID(first_id),
            )
        }
        resent_to = {
            r["customer_id"]
            for r in await conn.fetch(
                "SELECT customer_id FROM communication_log WHERE campaign_id = $1", uuid.UUID(created["campaignId"])
            )
        }
    finally:
        await conn.close()
    assert resent_to == failed_before
    again = await campaign(http, first_id)
    assert (again["sent_count"], again["failed_count"]) == (first["sent_count"], first["failed_count"])


async def test_a_suppressed_customer_is_never_sent_to(operator_http, pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 50)
    async with http.post("/api/campaigns/get", json={"ruleGroup": city_rule(city)}) as r:
        preview = await r.json()
    assert preview["audience_size"] == 50 and preview["excluded"] == {"opted_out": 0, "frequency_capped": 0}
    conn = await pipeline.db()
    try:
        customers = await conn.fetch("SELECT id, email FROM customers WHERE city = $1 ORDER BY email", city)
    finally:
        await conn.close()
    # Opted out after the preview, before segmentation: by email (any case) and by customer id.
    opted = [
        {"email": customers[0]["email"].upper(), "reason": "asked by phone"},
        {"email": customers[1]["email"]},
        {"customerId": str(customers[2]["id"]), "reason": "complaint"},
    ]
    async with operator_http.post("/api/suppressions", json=opted) as r:
        assert r.status == 201, await r.text()
    suppressed = {c["email"] for c in customers[:3]}
    async with operator_http.post("/api/suppressions", json=[{"customerId": str(uuid.uuid4())}]) as r:
        assert r.status == 400 and "customerId" in await r.text()

    created = await create(http, city)
    assert created["audience_size"] == 47 and created["excluded"]["opted_out"] == 3
    c = await finished(http, created["campaignId"])
    await assert_exact_with_skipped(pipeline, c, 47, skipped=3)
    assert c["suppressed_count"] == 3 and c["summaryStats"]["opted_out"] == 3 and "opted out" in c["summary"]
    assert await sent_by_vendor(pipeline, created["campaignId"]) == 47
    async with http.get("/api/logs", params={"campaignId": created["campaignId"], "status": "SKIPPED"}) as r:
        skipped = await r.json()
    assert {row["email"] for row in skipped} == suppressed and {row["reason"] for row in skipped} == {"opted out"}

    async with operator_http.get("/api/suppressions", params={"limit": 1000}) as r:
        listed = {row["email"]: row for row in await r.json()}
    assert suppressed <= set(listed) and listed[customers[0]["email"]]["reason"] == "asked by phone"
    async with operator_http.delete(f"/api/suppressions/{customers[0]['email']}") as r:
        assert r.status == 204
    async with operator_http.delete(f"/api/suppressions/{customers[0]['email']}") as r:
        assert r.status == 404


async def assert_exact_with_skipped(pipeline, c: dict, audience: int, skipped: int) -> None:
    await assert_exact(pipeline, c, audience)
    counts = await log_counts(pipeline, c["id"])
    assert counts.get("SKIPPED", 0) == skipped


async def test_bounces_and_unsubscribes_from_the_vendor_opt_recipients_out(pipeline, http, normal_vendor):
    await vendor(pipeline, failure_rate=0, bounce_rate=0.1, unsubscribe_rate=0.1)
    city = await add_customers(pipeline, http, 500)
    first = await finished(http, (await create(http, city))["campaignId"])
    await assert_exact(pipeline, first, 500)
    conn = await pipeline.db()
    try:
        opted = {
            r["email"]: r["reason"]
            for r in await conn.fetch(
                "SELECT s.email, s.reason FROM suppressions s JOIN customers c ON c.email = s.email "
                "WHERE c.city = $1 AND s.source = 'vendor'",
                city,
            )
        }
        bounced = await conn.fetchval(
            "SELECT count(*) FROM communication_log WHERE campaign_id = $1 "
            "AND status = 'FAILED' AND reason LIKE 'simulated bounce%'",
            uuid.UUID(first["id"]),
        )
    finally:
        await conn.close()
    assert first["failed_count"] == bounced > 0
    assert any(r.startswith("unsubscribed") for r in opted.values())
    assert sum(r.startswith("bounced") for r in opted.values()) == bounced
    await vendor(pipeline, bounce_rate=0, unsubscribe_rate=0)
    second = await finished(http, (await create(http, city))["campaignId"])
    assert second["audience_size"] == 500 - len(opted) and second["suppressed_count"] == len(opted)


@pytest.fixture(scope="module")
async def capped(stack, tmp_path_factory):
    """A deployment with a frequency cap of 2 messages per customer per hour."""
    async with deployment(
        tmp_path_factory.mktemp("capped"), MINICRM_FREQUENCY_CAP="2/1h", MINICRM_SIMULATOR_FAILURE_RATE="0"
    ) as p:
        yield p


async def test_the_frequency_cap_holds_across_campaigns(capped):
    import aiohttp

    _, token = await capped.new_user()
    async with aiohttp.ClientSession(base_url=capped.url, headers={"Authorization": f"Bearer {token}"}) as http:
        city = await add_customers(capped, http, 100)
        conn = await capped.db()
        try:
            # Half of them had a message in another campaign 10 minutes ago.
            await conn.execute(
                "INSERT INTO campaigns (id, user_id, name, segment, message, status) "
                "VALUES ($1, 'someone', 'earlier', '{}', 'm', 'COMPLETED')",
                earlier := uuid.uuid4(),
            )
            await conn.execute(
                "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, personalized_msg,"
                " status, created_at) SELECT gen_random_uuid(), $1, id, name, email, 'm', 'SENT', now() - interval "
                "'10 minutes' FROM (SELECT * FROM customers WHERE city = $2 ORDER BY email LIMIT 50) c",
                earlier,
                city,
            )
        finally:
            await conn.close()
        first = await finished(http, (await create(http, city))["campaignId"])  # 2nd message for all: under the cap
        assert first["audience_size"] == 100 and first["capped_count"] == 0
        async with http.post("/api/campaigns/get", json={"ruleGroup": city_rule(city)}) as r:
            preview = await r.json()
        assert preview["audience_size"] == 50 and preview["excluded"]["frequency_capped"] == 50
        second = await finished(http, (await create(http, city))["campaignId"])  # a 3rd for half of them
        await assert_exact_with_skipped(capped, second, 50, skipped=50)
        assert second["capped_count"] == 50 and "frequency cap" in second["summary"]

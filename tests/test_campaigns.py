"""Campaigns end to end on the real broker, database, workers and vendor simulator."""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest

from minicrm import webhooks
from support.deployment import eventually, vendor, vendor_stats

pytestmark = pytest.mark.integration


async def add_customers(pipeline, http, n: int) -> str:
    """n customers in a city of their own; returns the city once they are all stored."""
    city = f"City-{uuid.uuid4().hex[:8]}"
    customers = [
        {"name": f"Person {i}", "email": f"{city}.{i}@example.com".lower(), "city": city, "visit": i % 5}
        for i in range(n)
    ]
    for start in range(0, n, 1000):
        async with http.post("/api/customers", json=customers[start : start + 1000]) as r:
            assert r.status == 202, await r.text()
    conn = await pipeline.db()
    try:
        await eventually(
            lambda: _equals(conn.fetchval("SELECT count(*) FROM customers WHERE city = $1", city), n), timeout=120
        )
    finally:
        await conn.close()
    return city


async def _equals(coro, value):
    return await coro == value


def city_rule(city: str) -> dict:
    return {
        "id": "root",
        "combinator": "AND",
        "rules": [{"id": "r1", "attribute": "city", "operator": "=", "value": city}],
    }


async def start_campaign(http, city: str, user: str = "tester", rate_per_second: float | None = None) -> str:
    body = {
        "userId": user,
        "name": f"Campaign for {city}",
        "ruleGroup": city_rule(city),
        "message": "Hi {{name}}, news from {{city}}",
        "ratePerSecond": rate_per_second,
    }
    async with http.post("/api/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
        payload = await r.json()
    assert payload["intent"] == f"Customers who live in {city}."
    return payload["campaignId"]


async def campaign(http, campaign_id: str) -> dict | None:
    async with http.post("/api/campaigns/get", json={"campaignId": campaign_id}) as r:
        return await r.json() if r.status == 200 else None


async def finished(http, campaign_id: str, timeout: float = 120) -> dict:
    async def done():
        c = await campaign(http, campaign_id)
        return c if c and c["status"] == "COMPLETED" and c["summary"] else None

    return await eventually(done, timeout=timeout)


async def assert_exact(pipeline, c: dict, audience: int) -> None:
    assert c["audience_size"] == audience
    assert c["sent_count"] + c["failed_count"] == audience and c["pending_count"] == 0
    conn = await pipeline.db()
    try:
        rows = dict(
            await conn.fetch(
                "SELECT status, count(*) FROM communication_log WHERE campaign_id = $1 GROUP BY status",
                uuid.UUID(c["id"]),
            )
        )
        assert rows.get("SENT", 0) == c["sent_count"] and rows.get("FAILED", 0) == c["failed_count"]
        assert "PENDING" not in rows
        undelivered = await conn.fetchval(
            "SELECT count(*) FROM communication_log WHERE campaign_id = $1 AND status IN ('SENT', 'FAILED') "
            "AND delivered_at IS NULL",
            uuid.UUID(c["id"]),
        )
        assert undelivered == 0
    finally:
        await conn.close()
    stats = c["summaryStats"]
    assert (stats["sent"], stats["failed"], stats["audience_size"]) == (c["sent_count"], c["failed_count"], audience)
    assert sum(s["total"] for s in stats["by_spend_band"]) == audience
    assert sum(s["total"] for s in stats["by_city"]) == audience


async def _timeline_adds_up(http, campaign_id: str) -> bool:
    c = await campaign(http, campaign_id)
    return (sum(t["sent"] for t in c["timeline"]), sum(t["failed"] for t in c["timeline"])) == (
        c["sent_count"],
        c["failed_count"],
    )


def summaries_written(pipeline, campaign_id: str) -> int:
    return sum(p.text().count(f"campaign {campaign_id} summarised") for p in pipeline.processes if p.role == "worker")


async def test_campaign_completes_exactly(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 2500)
    cid = await start_campaign(http, city)
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 2500)
    assert 150 < c["failed_count"] < 400  # 10% failures
    assert summaries_written(pipeline, cid) == 1
    assert city in c["summary"] and "delivery rate" in c["summary"]
    # The live view (the `live` worker's windowed tables, flushed every second) adds up to the counters.
    await eventually(lambda: _timeline_adds_up(http, cid), timeout=10)
    async with http.get("/api/logs", params={"campaignId": cid, "status": "FAILED", "limit": "1000"}) as r:
        assert int(r.headers["X-Total-Count"]) == c["failed_count"]
        logs = await r.json()
    assert all(row["status"] == "FAILED" and row["reason"] for row in logs)
    assert logs[0]["personalized_msg"].startswith("Hi Person ") and logs[0]["personalized_msg"].endswith(city)


async def test_duplicate_and_shuffled_receipts_change_nothing(pipeline, http, normal_vendor):
    await vendor(pipeline, duplicate_rate=1.0, shuffle=True)
    city = await add_customers(pipeline, http, 2000)
    cid = await start_campaign(http, city)
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 2000)
    assert summaries_written(pipeline, cid) == 1


async def test_vendor_outage_pauses_then_completes(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 2000)
    await vendor(pipeline, outage_seconds=8)
    cid = await start_campaign(http, city)
    paused = await eventually(lambda: _status_is(http, cid, "PAUSED"), timeout=30)
    assert "the vendor failed" in paused["pause_reason"] and "503" in paused["pause_reason"]
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 2000)
    assert c["pause_reason"] is None  # resumed by itself


async def test_a_rude_vendor_gets_every_message_once(pipeline, http, normal_vendor):
    """429 with Retry-After, 500s, and calls taken but answered too late (the worker times
    out and retries): the campaign is exact, and the vendor, honouring Idempotency-Key, got
    no message twice under a new key."""
    before = await vendor_stats(pipeline)
    # Bodies of at most 60 kB make about 40 calls of the campaign, so that every fault shows.
    await vendor(pipeline, throttle_rate=0.2, error_rate=0.2, hang_rate=0.2, hang_seconds=3, body_limit=60_000)
    city = await add_customers(pipeline, http, 3000)
    c = await finished(http, await start_campaign(http, city), timeout=180)
    await assert_exact(pipeline, c, 3000)
    after = await vendor_stats(pipeline)
    delta = {k: after[k] - before[k] for k in after if k != "by_campaign"}
    assert delta["throttled_calls"] and delta["error_calls"] and delta["hung_calls"]
    assert delta["accepted"] == 3000 and delta["repeated_past_key"] == 0
    assert delta["repeated_calls"] >= 1  # a timed-out call came again with its key, and was not repeated


async def _status_is(http, cid, status):
    c = await campaign(http, cid)
    return c if c is not None and c["status"] == status else None


async def test_messages_the_vendor_rejects_fail_with_the_reason(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 50)
    await vendor(pipeline, reject_status=422)
    cid = await start_campaign(http, city)
    c = await finished(http, cid)
    await assert_exact(pipeline, c, 50)
    assert c["failed_count"] == 50
    async with http.get("/api/logs", params={"campaignId": cid, "limit": "50"}) as r:
        assert all(row["status"] == "FAILED" and "vendor answered 422" in row["reason"] for row in await r.json())


async def test_empty_segment_completes_with_a_summary(pipeline, http):
    cid = await start_campaign(http, f"Nowhere-{uuid.uuid4().hex[:6]}")
    c = await finished(http, cid)
    assert (c["audience_size"], c["sent_count"], c["failed_count"]) == (0, 0, 0)
    assert c["summaryStats"]["delivery_rate"] == 0.0


async def test_wrongly_signed_receipts_get_401(pipeline, http):
    import base64

    before = await pipeline.edge_offsets()
    body = b'[{"commId": "%s", "campaignId": "%s", "status": "SENT"}]' % (
        str(uuid.uuid4()).encode(),
        str(uuid.uuid4()).encode(),
    )
    wrong = "whsec_" + base64.b64encode(b"not the secret").decode()
    async with http.post("/api/receipts", data=body, headers=webhooks.sign(wrong, body)) as r:
        assert r.status == 401
    stale = webhooks.sign(pipeline.settings.webhook_secrets[0], body, now=1)
    async with http.post("/api/receipts", data=body, headers=stale) as r:
        assert r.status == 401 and "from now" in await r.text()
    assert await pipeline.edge_offsets() == before
    good = webhooks.sign(pipeline.settings.webhook_secrets[0], body)
    async with http.post("/api/receipts", data=body, headers=good) as r:
        assert r.status == 201 and (await r.json())["count"] == 1


async def test_reads_list_preview_and_logs(pipeline, normal_vendor):
    import aiohttp

    user, token = await pipeline.new_user()
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
        await reads(pipeline, http, user)


async def reads(pipeline, http, user):
    city = await add_customers(pipeline, http, 30)
    cid = await start_campaign(http, city, user="someone-else")  # the session's user owns it
    await finished(http, cid)
    for body in ({"userId": user}, {}, {"userId": "someone-else"}):
        async with http.post("/api/campaigns/get", json=body) as r:
            listed = await r.json()
        assert [(c["id"], c["userId"]) for c in listed] == [(cid, user)]
    async with http.post("/api/campaigns/get", json={"ruleGroup": city_rule(city)}) as r:
        preview = await r.json()
    assert preview["audience_size"] == 30 and len(preview["sample"]) == 10
    assert preview["intent"] == f"Customers who live in {city}."
    async with http.get("/api/logs", params={"campaignId": cid, "limit": "7", "offset": "28"}) as r:
        assert r.headers["X-Total-Count"] == "30" and len(await r.json()) == 2


async def test_worker_killed_mid_campaign(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 4000)
    await vendor(pipeline, latency=0.5, receipt_batch=100)  # about 800 receipts a second
    [worker] = [p for p in pipeline.processes if p.role == "worker"]
    cid = await start_campaign(http, city)

    async def midway():
        c = await campaign(http, cid)
        return c and 0 < c["sent_count"] + c["failed_count"] < 3000

    await eventually(midway, interval=0.05)
    worker.kill(signal.SIGKILL)
    pipeline.processes.remove(worker)
    replacement = pipeline.start("worker")
    await pipeline.wait_worker(replacement)
    await vendor(pipeline, latency=0.05, receipt_batch=1000)
    try:
        c = await finished(http, cid)
    except AssertionError:
        raise AssertionError(f"not finished: {await campaign(http, cid)}; lag {await pipeline.lag()}") from None
    await assert_exact(pipeline, c, 4000)
    assert summaries_written(pipeline, cid) <= 1  # the killed worker cannot have written it
    conn = await pipeline.db()
    try:
        assert await conn.fetchval("SELECT summary IS NOT NULL FROM campaigns WHERE id = $1", uuid.UUID(cid))
    finally:
        await conn.close()


async def test_two_workers_share_partitions(pipeline, http, normal_vendor):
    [first] = [p for p in pipeline.processes if p.role == "worker"]
    second = pipeline.start("worker", MINICRM_WORKER_ROLES="deliveries,receipts")
    await pipeline.wait_worker(second)
    await asyncio.sleep(3)  # the rebalance settles
    try:
        city = await add_customers(pipeline, http, 3000)
        cid = await start_campaign(http, city)
        c = await finished(http, cid)
        await assert_exact(pipeline, c, 3000)
        assert "fold_receipts" in second.text()
    finally:
        second.kill()
        pipeline.processes.remove(second)
        del first

"""The fan-out on the real stack: opt-outs at send time, and replayed batches under the same keys."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from test_campaign_controls import GRACE, act, create, log_counts, sent_by_vendor
from test_campaigns import add_customers, campaign, finished

from minicrm import kafka_clients, topics
from support.deployment import eventually, vendor, vendor_stats

pytestmark = pytest.mark.integration


async def seen_by_vendor(pipeline, comm_ids: list[str]) -> list[str]:
    async with aiohttp.ClientSession() as s, s.post(f"{pipeline.vendor_url}/vendor/seen", json=comm_ids) as r:
        return (await r.json())["seen"]


async def messages(pipeline, campaign_id: str, status: str) -> list[dict]:
    conn = await pipeline.db()
    try:
        rows = await conn.fetch(
            "SELECT id::text, email, status, reason FROM communication_log"
            " WHERE campaign_id = $1 AND status = $2 AND NOT test ORDER BY customer_id",
            uuid.UUID(campaign_id),
            status,
        )
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def held_after_a_pause(pipeline, http, n: int, rate: float) -> tuple[str, list[dict]]:
    """A paused campaign of `n` customers, some messages sent, every receipt in: (id, its PENDING rows,
    none of which the vendor has)."""
    city = await add_customers(pipeline, http, n)
    cid = (await create(http, city, ratePerSecond=rate))["campaignId"]
    await eventually(lambda: _at_least(sent_by_vendor(pipeline, cid), 2), interval=0.05)
    await act(http, cid, "pause")
    await asyncio.sleep(GRACE)  # the call under way at the pause lands

    async def receipts_in():
        c = await campaign(http, cid)
        return c["sent_count"] + c["failed_count"] == await sent_by_vendor(pipeline, cid)

    await eventually(receipts_in)
    pending = await messages(pipeline, cid, "PENDING")
    assert pending and not await seen_by_vendor(pipeline, [m["id"] for m in pending])
    return cid, pending


async def _at_least(coro, low: int) -> bool:
    return await coro >= low


async def suppress(operator_http, emails: list[str]) -> None:
    """The emails on the suppression list (an operator's)."""
    async with operator_http.post(
        "/api/suppressions", json=[{"email": e, "reason": "asked to stop"} for e in emails]
    ) as r:
        assert r.status == 201, await r.text()


async def assert_counted(pipeline, c: dict, customers: int, opted_out: int) -> None:
    """Counters equal to the log, the opted-out left out of the audience as segmentation leaves them."""
    counts = await log_counts(pipeline, c["id"])
    assert c["status"] == "COMPLETED" and c["pending_count"] == 0 and "PENDING" not in counts
    assert counts["SKIPPED"] == c["suppressed_count"] == c["summaryStats"]["opted_out"] == opted_out
    assert counts.get("SENT", 0) == c["sent_count"] and counts.get("FAILED", 0) == c["failed_count"]
    assert c["audience_size"] == c["sent_count"] + c["failed_count"] == customers - opted_out
    assert await sent_by_vendor(pipeline, c["id"]) == c["sent_count"] + c["failed_count"]


async def test_a_customer_who_opts_out_while_messages_wait_gets_none(pipeline, http, operator_http, normal_vendor):
    cid, pending = await held_after_a_pause(pipeline, http, 40, rate=4)
    opted = pending[::2]  # every other waiting message: calls with some opted out and some not
    [already] = (await messages(pipeline, cid, "SENT"))[:1] or (await messages(pipeline, cid, "FAILED"))[:1]
    await suppress(operator_http, [m["email"] for m in opted] + [already["email"]])

    await act(http, cid, "resume")
    c = await finished(http, cid)
    skipped = await messages(pipeline, cid, "SKIPPED")
    assert {m["id"] for m in skipped} == {m["id"] for m in opted}
    assert {m["reason"] for m in skipped} == {"opted out"}
    assert not await seen_by_vendor(pipeline, [m["id"] for m in opted])
    assert already["id"] not in {m["id"] for m in skipped}  # sent before the opt-out: stays as it was
    await assert_counted(pipeline, c, 40, len(opted))


async def test_a_campaign_whose_last_waiting_customers_opt_out_completes(pipeline, http, operator_http, normal_vendor):
    cid, pending = await held_after_a_pause(pipeline, http, 12, rate=1)
    await suppress(operator_http, [m["email"] for m in pending])

    await act(http, cid, "resume")
    c = await finished(http, cid)  # no receipt is left to finish it: the opt-outs do
    assert not await seen_by_vendor(pipeline, [m["id"] for m in pending])
    await assert_counted(pipeline, c, 12, len(pending))


async def delivery_records(pipeline, campaign_id: str) -> list[bytes]:
    """The campaign's delivery records as they are on the topic, to publish again as a replay would."""
    consumer = AIOKafkaConsumer(**kafka_clients.client_options(pipeline.settings), enable_auto_commit=False)
    await consumer.start()
    try:
        name = pipeline.topic(topics.DELIVERIES.name)
        partitions = [TopicPartition(name, p) for p in range(pipeline.settings.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[bytes] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found += [r.value for r in batch if orjson.loads(r.value)["campaign_id"] == campaign_id]
        return found
    finally:
        await consumer.stop()


async def test_a_replayed_batch_makes_the_same_calls_whatever_the_worker_learnt(pipeline, http, normal_vendor):
    """A batch's calls after 413s, then the same records again: by a worker that knows no limit
    (as after a restart, before) and by one that knows it. Every call comes again under its key."""
    await vendor(pipeline, body_limit=8_000, latency=30)  # receipts held: the messages stay PENDING
    before = await vendor_stats(pipeline)
    city = await add_customers(pipeline, http, 300)
    cid = (await create(http, city))["campaignId"]
    await eventually(lambda: _at_least(sent_by_vendor(pipeline, cid), 300))
    first = await vendor_stats(pipeline)
    assert first["too_large_calls"] > before["too_large_calls"]
    records = await delivery_records(pipeline, cid)
    assert sum(len(orjson.loads(r)["deliveries"]) for r in records) == 300

    for forget in (True, False):
        if forget:
            conn = await pipeline.db()
            await conn.execute("DELETE FROM vendor_limits")
            await conn.close()
        start = await vendor_stats(pipeline)
        await pipeline.produce(topics.DELIVERIES.name, records)

        async def replayed(start=start):
            now = await vendor_stats(pipeline)
            again = now["repeated_messages"] - start["repeated_messages"]
            return now if again >= 300 else None

        now = await eventually(replayed)
        assert now["repeated_past_key"] == start["repeated_past_key"]  # no message under a new key
        assert now["key_reused_calls"] == start["key_reused_calls"]  # no key for other messages
        assert now["accepted"] == start["accepted"]

    await vendor(pipeline, latency=0.05)
    c = await finished(http, cid)
    assert c["sent_count"] + c["failed_count"] == 300 == c["audience_size"] and c["pending_count"] == 0

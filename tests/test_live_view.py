"""The live view on the real stack: a campaign's Server-Sent Events to its final read, and the
Prometheus metrics of the edge and the worker against the work done."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_campaigns import add_customers, campaign, finished, start_campaign

from support.deployment import eventually, vendor_stats

pytestmark = pytest.mark.integration
COUNTERS = (
    "status",
    "audience_size",
    "pending_count",
    "sent_count",
    "failed_count",
    "cancelled_count",
    "suppressed_count",
    "capped_count",
    "summary",
    "completedAt",
)


async def read_events(http, campaign_id: str, last_event_id: str | None = None) -> list[dict]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    async with http.get(
        f"/api/campaigns/{campaign_id}/events", headers=headers, timeout=aiohttp.ClientTimeout(total=120)
    ) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        text = (await r.read()).decode()  # the stream ends with the final event
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append({"id": int(fields["id"]), "event": fields["event"], "data": orjson.loads(fields["data"])})
    return events


async def test_the_event_stream_follows_a_campaign_to_its_final_read(pipeline, http, normal_vendor):
    await vendor_latency(pipeline, 0.5)  # about two seconds of progress
    try:
        city = await add_customers(pipeline, http, 3000)
        cid = await start_campaign(http, city)
        events = await read_events(http, cid)
    finally:
        await vendor_latency(pipeline, 0.05)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["event"] for e in events] == ["progress"] * (len(events) - 1) + ["final"]
    assert len(events) >= 2 and any(0 < e["data"]["sent_count"] < 3000 for e in events[:-1])
    final = await campaign(http, cid)
    last = events[-1]["data"]
    assert {k: last[k] for k in COUNTERS} == {k: final[k] for k in COUNTERS}
    assert last["status"] == "COMPLETED" and last["sent_count"] + last["failed_count"] == 3000

    again = await read_events(http, cid, last_event_id=str(events[-1]["id"]))
    assert [(e["id"], e["event"]) for e in again] == [(events[-1]["id"] + 1, "final")]
    async with http.get(f"/api/campaigns/{cid}/events", headers={"Last-Event-ID": "x"}) as r:
        assert r.status == 400

    _, stranger = await pipeline.new_user()
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {stranger}"}) as other:
        async with other.get(f"/api/campaigns/{cid}/events") as r:
            assert r.status == 404


async def vendor_latency(pipeline, seconds: float) -> None:
    from support.deployment import vendor

    await vendor(pipeline, latency=seconds, receipt_batch=200)


async def scrape(url: str) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 200
        text = await r.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_of_both_processes_count_the_work_done(pipeline, http, normal_vendor):
    [worker] = [p for p in pipeline.processes if p.role == "worker"]
    edge_url = f"{pipeline.url}/metrics"
    edge_before, worker_before = await scrape(edge_url), await scrape(worker.metrics_url)
    vendor_before = await vendor_stats(pipeline)

    records_before = (await pipeline.end_offsets())["customers"]
    city = await add_customers(pipeline, http, 2500)  # three posts: 1,000 + 1,000 + 500
    customer_records = (await pipeline.end_offsets())["customers"] - records_before
    c = await finished(http, await start_campaign(http, city))
    vendor_after = await vendor_stats(pipeline)

    async def settled():  # the worker's counters move after its PostgreSQL writes
        after = await scrape(worker.metrics_url)
        return (
            after
            if value(after, "minicrm_message_outcomes_total", status="SENT")
            - value(worker_before, "minicrm_message_outcomes_total", status="SENT")
            == c["sent_count"]
            else None
        )

    worker_after = await eventually(settled, timeout=10)
    edge_after = await scrape(edge_url)

    def delta(before, after, name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        delta(
            edge_before, edge_after, "minicrm_http_requests_total", route="/api/customers", method="POST", status="202"
        )
        == 3
    )
    assert (
        delta(
            edge_before, edge_after, "minicrm_http_requests_total", route="/api/campaigns", method="POST", status="201"
        )
        == 1
    )
    assert (
        delta(edge_before, edge_after, "minicrm_http_request_seconds_count", route="/api/receipts", method="POST") >= 1
    )
    assert value(edge_after, "minicrm_campaigns", status="COMPLETED") >= 1

    topic = pipeline.topic
    assert delta(worker_before, worker_after, "minicrm_items_stored_total", topic=topic("customers")) == 2500
    assert delta(worker_before, worker_after, "minicrm_records_consumed_total", topic=topic("campaigns")) == 1
    # Kafka records, also when the agent wrote several at once
    assert (
        delta(worker_before, worker_after, "minicrm_records_consumed_total", topic=topic("customers"))
        == (customer_records)
        > 3
    )
    assert delta(worker_before, worker_after, "minicrm_vendor_messages_total") == 2500
    assert delta(worker_before, worker_after, "minicrm_vendor_calls_total", outcome="ok") == (
        vendor_after["calls"] - vendor_before["calls"]
    )
    assert delta(worker_before, worker_after, "minicrm_message_outcomes_total", status="FAILED") == c["failed_count"]
    assert delta(worker_before, worker_after, "minicrm_batch_write_seconds_count", topic=topic("customers")) >= 3

    async def lag_exported():  # by a timer every LAG_INTERVAL seconds, once the worker has fetched
        return any(name == "minicrm_consumer_lag" for name, _ in await scrape(worker.metrics_url))

    await eventually(lag_exported, timeout=15)


async def test_a_killed_live_worker_holds_nothing_back_and_recovers_its_tables(pipeline, http, normal_vendor):
    import signal

    from test_campaigns import _timeline_adds_up, assert_exact

    [live] = [p for p in pipeline.processes if p.role == "live"]
    city = await add_customers(pipeline, http, 3000)
    cid = await start_campaign(http, city, rate_per_second=600)  # five seconds of sending
    await eventually(lambda: _sent_between(http, cid, 1, 2000), interval=0.05)
    live.kill(signal.SIGKILL)  # its tables' changelogs are recovered by the next one
    pipeline.processes.remove(live)
    c = await finished(http, cid)  # receipts and completion never waited on it
    await assert_exact(pipeline, c, 3000)

    # Its successor finds the outcomes published meanwhile waiting, on partitions its predecessor
    # may never have committed: it reads every one of them (faust_patches: they were skipped).
    replacement = pipeline.start("live")
    await pipeline.wait_worker(replacement)
    live_group = f"{pipeline.settings.topic_prefix}-live"
    await eventually(lambda: _no_lag(pipeline, live_group, "outcomes"), timeout=30)
    second = await finished(http, await start_campaign(http, city))
    try:
        await eventually(lambda: _timeline_adds_up(http, second["id"]), timeout=15)
    except AssertionError:
        c = await campaign(http, second["id"])
        sums = (sum(t["sent"] for t in c["timeline"]), sum(t["failed"] for t in c["timeline"]))
        raise AssertionError(
            f"timeline {sums} != counters {(c['sent_count'], c['failed_count'])}; "
            f"{len(c['timeline'])} windows; live log: {replacement.log_path}"
        ) from None


async def _no_lag(pipeline, group: str, topic: str) -> bool:
    return (await pipeline.lag(group))[topic] == 0


async def _sent_between(http, campaign_id: str, low: int, high: int) -> bool:
    c = await campaign(http, campaign_id)
    return low <= c["sent_count"] + c["failed_count"] <= high

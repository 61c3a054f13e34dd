"""Campaigns whose end was lost still end: messages whose receipt never comes time out, and a
cancelled campaign whose summary trigger was lost gets its summary from the sweep."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from test_campaigns import add_customers, campaign, finished, start_campaign

from minicrm import campaign_states as states
from support.deployment import deployment, eventually, vendor

pytestmark = pytest.mark.integration
RECEIPT_TIMEOUT = 2.0  # seconds; hours by default


@pytest.fixture(scope="module")
async def short_timeouts(stack, tmp_path_factory):
    async with deployment(
        tmp_path_factory.mktemp("unfinished"), MINICRM_RECEIPT_TIMEOUT=str(RECEIPT_TIMEOUT)
    ) as pipeline:
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
            yield pipeline, http


async def test_messages_whose_receipt_never_comes_end_and_the_campaign_completes(short_timeouts):
    pipeline, http = short_timeouts
    await vendor(pipeline, loss_rate=0.5, failure_rate=0.1)  # half the messages are never reported
    try:
        city = await add_customers(pipeline, http, 400)
        c = await finished(http, await start_campaign(http, city), timeout=60)
    finally:
        await vendor(pipeline, loss_rate=0)
    conn = await pipeline.db()
    try:
        rows = await conn.fetch(
            "SELECT status, reason, count(*) AS n FROM communication_log WHERE campaign_id = $1 GROUP BY 1, 2",
            uuid.UUID(c["id"]),
        )
        counters = await conn.fetchrow(
            "SELECT no_receipt_count, (summary_stats->>'no_receipt')::int AS summarised FROM campaigns WHERE id = $1",
            uuid.UUID(c["id"]),
        )
    finally:
        await conn.close()
    by = {(r["status"], r["reason"]): r["n"] for r in rows}
    unreceipted = by.get((states.MESSAGE_FAILED, states.NO_RECEIPT), 0)
    assert 120 < unreceipted < 280  # about half
    assert sum(n for (status, _), n in by.items() if status == states.PENDING) == 0
    assert c["sent_count"] + c["failed_count"] == 400
    assert counters["no_receipt_count"] == unreceipted
    assert counters["summarised"] == unreceipted


async def test_a_cancelled_campaign_whose_summary_trigger_was_lost_gets_its_summary(short_timeouts):
    pipeline, http = short_timeouts
    await vendor(pipeline, outage_seconds=120)  # its messages stay pending
    try:
        city = await add_customers(pipeline, http, 300)
        cid = await start_campaign(http, city)
        await eventually(lambda: _status_in(http, cid, (states.RUNNING, states.PAUSED)))
        conn = await pipeline.db()
        try:  # the edge's cancel, with no CampaignDone after it: the edge died in between
            await conn.execute(
                "UPDATE campaigns SET status = $2, paused_by = NULL, completed_at = now() - interval '1 minute'"
                " WHERE id = $1",
                uuid.UUID(cid),
                states.CANCELLED,
            )
        finally:
            await conn.close()

        async def summarised():
            c = await campaign(http, cid)
            return c if c["summary"] else None

        c = await eventually(summarised, timeout=40)
    finally:
        await vendor(pipeline, outage_seconds=0)
    assert c["status"] == states.CANCELLED
    assert c["pending_count"] == 0 and c["cancelled_count"] + c["sent_count"] + c["failed_count"] == 300


async def _status_in(http, campaign_id: str, statuses: tuple[str, ...]) -> bool:
    c = await campaign(http, campaign_id)
    return bool(c) and c["status"] in statuses

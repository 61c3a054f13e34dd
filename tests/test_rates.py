"""A campaign's `ratePerSecond` holds across all workers together, not per worker."""

from __future__ import annotations

import time

import aiohttp
import pytest
from test_campaigns import add_customers, finished, start_campaign

from support.deployment import deployment, eventually, vendor_stats

pytestmark = pytest.mark.integration
AUDIENCE, RATE = 600, 100.0


async def test_two_workers_together_keep_a_campaigns_rate(stack, tmp_path):
    # Batches of 50, so that the campaign's records spread over every partition, of both workers.
    async with deployment(tmp_path, MINICRM_BATCH_SIZE="50") as pipeline:
        second = pipeline.start("worker", MINICRM_WORKER_ROLES="deliveries")
        await pipeline.wait_worker(second)
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
            city = await add_customers(pipeline, http, AUDIENCE)
            cid = await start_campaign(http, city, rate_per_second=RATE)

            async def taken() -> int:
                return (await vendor_stats(pipeline))["by_campaign"].get(cid, 0)

            await eventually(lambda: _at_least(taken, 1), interval=0.05)
            first = time.monotonic()
            await eventually(lambda: _at_least(taken, AUDIENCE), interval=0.05)
            took = time.monotonic() - first
            await finished(http, cid)
        sending = [p for p in pipeline.processes if p.role == "worker" and await _calls_taken(p)]
    # Each worker may start with a call of RATE messages at once (its burst); the rest at RATE.
    assert took >= 0.9 * (AUDIENCE - 2 * RATE) / RATE, f"{AUDIENCE} messages in {took:.1f} s"
    assert len(sending) == 2  # both workers sent


async def _at_least(count, n: int) -> bool:
    return await count() >= n


async def _calls_taken(proc) -> float:
    """The vendor calls the worker's metrics say the vendor took."""
    async with aiohttp.ClientSession() as s, s.get(proc.metrics_url) as r:
        text = await r.text()
    ok = [line for line in text.splitlines() if line.startswith('minicrm_vendor_calls_total{outcome="ok"}')]
    return float(ok[0].split()[-1]) if ok else 0.0

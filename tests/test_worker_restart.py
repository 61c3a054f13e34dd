"""A worker stopped cleanly (SIGTERM) while receipts wait, and started again: they are read at once;
and one stopped while the vendor is down exits after its grace, its batches sent by the next."""

from __future__ import annotations

import signal
import time

import aiohttp
import pytest
from test_campaigns import add_customers, assert_exact, campaign, finished, start_campaign

from support.deployment import deployment, eventually, vendor, vendor_stats

pytestmark = pytest.mark.integration


async def test_receipts_waiting_at_a_clean_restart_are_read_at_once(stack, tmp_path):
    # Small delivery batches, paced by the campaign's rate: a backlog of many delivery records
    # waits in front of the worker when it comes back, as after a restart in mid-campaign.
    async with deployment(tmp_path, MINICRM_BATCH_SIZE="20") as pipeline:
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
            city = await add_customers(pipeline, http, 3000)
            await vendor(pipeline, latency=1.5, receipt_batch=20)  # receipts come while the worker is down
            cid = await start_campaign(http, city, rate_per_second=20)  # a record a second: ~140 s of backlog

            async def taken() -> int:
                return (await vendor_stats(pipeline))["by_campaign"].get(cid, 0)

            await eventually(lambda: _at_least(taken, 60), interval=0.05)
            [worker] = [p for p in pipeline.processes if p.role == "worker"]
            worker.kill(signal.SIGTERM)
            pipeline.processes.remove(worker)
            sent = await taken()

            async def all_reported() -> bool:  # the vendor posted every receipt: they wait in the topic
                stats = await vendor_stats(pipeline)
                return stats["reported"] >= stats["accepted"]

            await eventually(all_reported)
            c = await campaign(http, cid)
            assert c["sent_count"] + c["failed_count"] < sent  # some receipts wait for the worker
            started = time.monotonic()
            successor = pipeline.start("worker")
            await pipeline.wait_worker(successor)

            async def applied() -> bool:
                c = await campaign(http, cid)
                return c["sent_count"] + c["failed_count"] >= sent

            await eventually(applied, timeout=30, interval=0.1)
            took = time.monotonic() - started
            assert took < 10, f"the waiting receipts were applied {took:.1f} s after the restart"

            # The deliveries backlog (a record a second) does not hold back the receipts that come now.
            for _ in range(3):
                reported = (await vendor_stats(pipeline))["reported"]

                async def caught_up(reported: int = reported) -> bool:
                    c = await campaign(http, cid)
                    return c["sent_count"] + c["failed_count"] >= reported

                await eventually(caught_up, timeout=5, interval=0.1)
                await eventually(lambda r=reported: _reported_past(pipeline, r))  # more receipts come


async def _at_least(count, n: int) -> bool:
    return await count() >= n


async def _reported_past(pipeline, n: int) -> bool:
    return (await vendor_stats(pipeline))["reported"] > n


async def test_a_worker_stopped_during_a_vendor_outage_exits_after_its_grace(stack, tmp_path):
    grace = 2.0
    async with deployment(tmp_path, MINICRM_WORKER_STOP_GRACE=str(grace)) as pipeline:
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
            city = await add_customers(pipeline, http, 100)
            await vendor(pipeline, outage_seconds=600)
            cid = await start_campaign(http, city)
            await eventually(lambda: _refused_past(pipeline, 3))  # its batch is being retried
            [worker] = [p for p in pipeline.processes if p.role == "worker"]
            started = time.monotonic()
            worker.kill(signal.SIGTERM)
            took = time.monotonic() - started
            pipeline.processes.remove(worker)
            assert "exiting without them" in worker.text()
            assert took < grace + 5, f"the worker took {took:.1f} s to stop"

            await vendor(pipeline, outage_seconds=0)
            await pipeline.wait_worker(pipeline.start("worker"))
            c = await finished(http, cid)
            await assert_exact(pipeline, c, 100)
            assert (await vendor_stats(pipeline))["by_campaign"][cid] == 100  # sent once, after the outage


async def _refused_past(pipeline, n: int) -> bool:
    return (await vendor_stats(pipeline))["rejected_calls"] > n

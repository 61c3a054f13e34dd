"""Vendor fan-out: each delivery batch goes to the vendor in one call, retried until it lands.

A batch is never dropped. A call that times out or fails is retried with capped
exponential backoff and jitter; after `vendor_pause_after` failures in a row the
campaign is marked PAUSED (no more of its batches go out while the vendor is down, as
the partition waits on this one), and it is set RUNNING again by the first call that
succeeds. A vendor that rejects a batch outright (a 4xx other than 408 and 429) fails
those messages for good, with the vendor's answer as the reason.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import aiohttp
import orjson

from minicrm.ratelimit import TokenBucket
from minicrm.sql import queries
from minicrm.streams.app import app, deliveries_topic, settings
from minicrm.streams.batching import backoff, guarded, retry_forever
from minicrm.streams.outcomes import record_outcomes
from minicrm.streams.records import DeliveryBatch
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
RETRYABLE_4XX = {408, 425, 429}
bucket = TokenBucket(settings.vendor_rate)
_session: aiohttp.ClientSession | None = None


class VendorRejected(Exception):
    """The vendor refused the batch for good (a 4xx other than 408, 425 and 429)."""


def session() -> aiohttp.ClientSession:
    global _session
    if _session is None:
        _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.vendor_timeout))
    return _session


async def call_vendor(deliveries: list[dict]) -> None:
    await bucket.acquire()
    async with session().post(settings.vendor_url, data=orjson.dumps(deliveries),
                              headers={"Content-Type": "application/json"}) as response:
        body = await response.text()
        if 400 <= response.status < 500 and response.status not in RETRYABLE_4XX:
            raise VendorRejected(f"vendor answered {response.status}: {body[:300]}")
        if response.status >= 300:
            raise aiohttp.ClientResponseError(
                response.request_info, (), status=response.status, message=body[:300]
            )


async def set_status(campaign_id: UUID, old: str, new: str) -> None:
    db = await pool()
    await retry_forever(lambda: db.execute(queries.SET_CAMPAIGN_STATUS, campaign_id, old, new), "campaign status")
    log.warning("campaign %s: %s -> %s", campaign_id, old, new)


async def deliver(batch: DeliveryBatch) -> None:
    campaign_id = UUID(batch.campaign_id)
    failures = 0
    while True:
        try:
            await call_vendor(batch.deliveries)
            if failures >= settings.vendor_pause_after:
                await set_status(campaign_id, "PAUSED", "RUNNING")
            return
        except VendorRejected as exc:
            receipts = [{"commId": d["commId"], "status": "FAILED", "reason": str(exc)} for d in batch.deliveries]
            await record_outcomes(campaign_id, receipts)
            return
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            failures += 1
            if failures == settings.vendor_pause_after:
                await set_status(campaign_id, "RUNNING", "PAUSED")
            delay = backoff(failures, settings.vendor_backoff_max)
            log.warning("vendor call failed (%r), attempt %d; retry in %.2fs", exc, failures, delay)
            await asyncio.sleep(delay)


@app.agent(deliveries_topic, concurrency=4)
async def fan_out(stream):
    async for batch in stream:
        await guarded(await pool(), deliveries_topic.get_topic_name(), batch, lambda: deliver(batch))

"""The summary's figures by city and spend band, on the real database: they count the campaign's
messages, as its counters do, and not its test sends; each by the city and spend its customer
had when the campaign was written."""

from __future__ import annotations

import uuid

from minicrm import sql, summary_stats
from minicrm.streams.campaigns import audience_query, write_chunk
from support.requests import city_campaign

# A log row as written before migration 011 (no city, no spend), or as a test send is.
LOG_ROW = (
    "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, personalized_msg,"
    " status, test) VALUES ($1, $2, $3, 'N', 'n@example.com', 'hi', 'SENT', $4)"
)


async def customer(db_pool, city: str, spend: int = 0) -> uuid.UUID:
    cid = uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO customers (id, name, email, city, total_spend) VALUES ($1, 'Cu', $2, $3, $4)",
        cid,
        f"{cid}@example.com",
        city,
        spend,
    )
    return cid


async def outcomes(db_pool, campaign: uuid.UUID) -> tuple[set, set]:
    """({(city, sent)}, {(spend band, sent)}) of the campaign's summary figures."""
    rows = await sql.summaries.outcomes_by_segment(db_pool, campaign, summary_stats.SPEND_BANDS)
    return (
        {(r["city"], r["sent"]) for r in rows if r["is_city"]},
        {(r["bucket"], r["sent"]) for r in rows if not r["is_city"]},
    )


async def test_test_sends_are_not_in_the_figures_by_city_and_spend(db_pool):
    campaign = uuid.uuid4()
    city, staff_city = f"Audience {campaign.hex[:8]}", f"Staff {campaign.hex[:8]}"
    audience, staff = await customer(db_pool, city), await customer(db_pool, staff_city)
    await db_pool.execute(
        "INSERT INTO campaigns (id, user_id, name, segment, message, status, sent_count)"
        " VALUES ($1, 'u', 'n', '{}', 'm', 'RUNNING', 1)",
        campaign,
    )
    await db_pool.execute(LOG_ROW, uuid.uuid4(), campaign, audience, False)
    await db_pool.execute(LOG_ROW, uuid.uuid4(), campaign, staff, True)  # a test send to staff

    assert await outcomes(db_pool, campaign) == ({(city, 1)}, {(0, 1)})


async def test_a_message_counts_where_its_customer_was_when_the_campaign_was_written(db_pool):
    tag = uuid.uuid4().hex[:8]
    city, moved_to, older_city = f"Targeted {tag}", f"Moved {tag}", f"Older {tag}"
    stays, moves = await customer(db_pool, city), await customer(db_pool, city)
    request = city_campaign(city)
    campaign = uuid.UUID(request.id)
    await sql.campaigns.create(db_pool, request.row("SEGMENTING"))
    assert await write_chunk(db_pool, campaign, audience_query(request), 10) == max(stays, moves)
    await db_pool.execute("UPDATE communication_log SET status = 'SENT' WHERE campaign_id = $1", campaign)
    await db_pool.execute("UPDATE customers SET city = $2, total_spend = 60000 WHERE id = $1", moves, moved_to)
    # A message written before the log kept city and spend: its customer's present ones count.
    await db_pool.execute(LOG_ROW, uuid.uuid4(), campaign, await customer(db_pool, older_city, 2000), False)

    assert await outcomes(db_pool, campaign) == ({(city, 2), (older_city, 1)}, {(0, 2), (1, 1)})

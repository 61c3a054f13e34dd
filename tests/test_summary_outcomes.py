"""The summary's figures by city and spend band, on the real database: they count the campaign's
messages, as its counters do, and not its test sends."""

from __future__ import annotations

import uuid

from minicrm import summary_stats
from minicrm.sql import queries

LOG_ROW = ("INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, personalized_msg,"
           " status, test) VALUES ($1, $2, $3, 'N', 'n@example.com', 'hi', 'SENT', $4)")


async def test_test_sends_are_not_in_the_figures_by_city_and_spend(db_pool):
    campaign, customer, staff = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    city, staff_city = f"Audience {campaign.hex[:8]}", f"Staff {campaign.hex[:8]}"
    await db_pool.execute("INSERT INTO customers (id, name, email, city) VALUES ($1, 'Cu', $2, $3), ($4, 'St', $5, $6)",
                          customer, f"{customer}@example.com", city, staff, f"{staff}@example.com", staff_city)
    await db_pool.execute("INSERT INTO campaigns (id, user_id, name, segment, message, status, sent_count)"
                          " VALUES ($1, 'u', 'n', '{}', 'm', 'RUNNING', 1)", campaign)
    await db_pool.execute(LOG_ROW, uuid.uuid4(), campaign, customer, False)
    await db_pool.execute(LOG_ROW, uuid.uuid4(), campaign, staff, True)  # a test send to staff

    rows = await db_pool.fetch(queries.OUTCOMES_BY_SEGMENT, campaign, list(summary_stats.SPEND_BANDS))
    assert {(r["city"], r["sent"]) for r in rows if r["is_city"]} == {(city, 1)}
    assert [(r["bucket"], r["sent"]) for r in rows if not r["is_city"]] == [(0, 1)]

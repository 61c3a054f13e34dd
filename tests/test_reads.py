"""List reads at scale: keyset pages (`cursor`), totals from counters or capped counts, and the
migrations that build their indexes concurrently."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import aiohttp
import pytest
from test_campaigns import add_customers, finished, start_campaign

from minicrm import campaign_states as states
from minicrm.db import NO_TRANSACTION, migrate, statements
from minicrm.edge.errors import InvalidInput
from minicrm.edge.listing import SortOrder
from support.deployment import eventually

LOGS = SortOrder((("l.created_at", "timestamptz"), ("l.id", "uuid")))


def test_a_cursor_is_the_row_position_and_nothing_else_decodes():
    row = {"_key0": datetime(2026, 11, 29, 8, 1, 2, 345678, tzinfo=UTC), "_key1": UUID(int=7)}
    assert LOGS.decode(LOGS.cursor(row)) == [row["_key0"], row["_key1"]]
    assert LOGS.after(3) == "(l.created_at, l.id) > ($3::timestamptz, $4::uuid)"
    newest = SortOrder((("o.order_date", "timestamptz"), ("o.id", "text")), descending=True)
    assert newest.after(1) == "(o.order_date, o.id) < ($1::timestamptz, $2::text)"
    assert newest.sql() == "o.order_date DESC, o.id DESC"
    for bad in (
        "",
        "not-base64!",
        newest.cursor({"_key0": row["_key0"], "_key1": "o-1"})[:-3],
        SortOrder((("d.id", "bigint"),)).cursor({"_key0": 5}),
    ):
        with pytest.raises(InvalidInput) as refused:
            LOGS.decode(bad)
        assert refused.value.detail[0]["field"] == "cursor"


def test_a_migration_without_a_transaction_runs_statement_by_statement():
    text = f"""{NO_TRANSACTION}
-- why; with a semicolon; in a comment
DROP INDEX CONCURRENTLY IF EXISTS a;
CREATE INDEX CONCURRENTLY a
    ON t (x);
SELECT 'x;y';
"""
    assert statements(text) == [
        "DROP INDEX CONCURRENTLY IF EXISTS a",
        "CREATE INDEX CONCURRENTLY a\n    ON t (x)",
        "SELECT 'x;y'",
    ]


@pytest.mark.integration
async def test_concurrent_migrations_leave_valid_indexes_and_run_once(pipeline):
    conn = await pipeline.db()
    try:
        invalid = await conn.fetch("SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid")
        names = {
            r["name"]
            for r in await conn.fetch(
                "SELECT indexname AS name FROM pg_indexes WHERE indexname = ANY($1)",
                [
                    "communication_log_campaign_created",
                    "communication_log_created",
                    "communication_log_tests",
                    "customers_created",
                    "orders_customer_date",
                    "orders_date",
                    "customers_city_spend",
                ],
            )
        }
    finally:
        await conn.close()
    assert invalid == [] and len(names) == 7
    assert await migrate(pipeline.settings.database_url) == []


@pytest.mark.integration
async def test_a_concurrent_migration_stopped_part_way_completes_when_run_again(stack):
    """A failed `CREATE INDEX CONCURRENTLY` leaves an invalid index behind and the migration
    unrecorded: running it again must rebuild that index, build the ones it never reached, and
    finish, on a database that took writes meanwhile."""
    import asyncpg

    from support.deployment import ADMIN_DSN

    database = f"minicrm_test_migrate_{uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}" OWNER minicrm')
    dsn = f"postgresql://minicrm@127.0.0.1:5433/{database}"
    try:
        await migrate(dsn)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("DELETE FROM schema_migrations WHERE name = '008_read_indexes.sql'")
            await conn.execute("DROP INDEX orders_date")  # never reached
            await conn.execute(  # as a build that failed leaves it
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'customers_created'::regclass"
            )
            await conn.execute("INSERT INTO customers (id, name, email) VALUES ($1, 'Meanwhile', 'm@x.io')", uuid4())

            assert await migrate(dsn) == ["008_read_indexes.sql"]
            indexes = {
                r["name"]: r["valid"]
                for r in await conn.fetch(
                    "SELECT c.relname AS name, i.indisvalid AS valid"
                    " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE c.relname = ANY($1)",
                    ["customers_created", "orders_date", "customers_city_spend"],
                )
            }
            assert indexes == {"customers_created": True, "orders_date": True, "customers_city_spend": True}
            assert await migrate(dsn) == []
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


@pytest.mark.integration
async def test_campaign_logs_page_by_cursor_with_exact_totals(pipeline, http, operator_http, normal_vendor):
    city = await add_customers(pipeline, http, 1200)
    cid = await start_campaign(http, city)
    conn = await pipeline.db()
    try:
        async with operator_http.post(
            "/api/suppressions", json=[{"email": f"{city}.{i}@example.com".lower()} for i in range(3)]
        ) as r:
            assert r.status == 201, await r.text()
        # (inserted after the campaign's start: it may or may not see them; the totals must hold either way)
        c = await finished(http, cid)
        to = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM customers WHERE city = $1 AND email NOT IN (SELECT email FROM suppressions)"
                " ORDER BY email LIMIT 2",
                city,
            )
        ]
        async with http.post(f"/api/campaigns/{cid}/test", json={"to": to}) as r:
            assert r.status == 202, await r.text()

        async def test_sends_delivered():
            return (
                await conn.fetchval(
                    "SELECT count(*) FROM communication_log WHERE campaign_id = $1 AND test AND status <> 'PENDING'",
                    UUID(cid),
                )
                == 2
            )

        await eventually(test_sends_delivered, timeout=30)
        expected = {
            s: await conn.fetchval(
                "SELECT count(*) FROM communication_log WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2)",
                UUID(cid),
                s,
            )
            for s in (*states.MESSAGE_STATUSES, None)
        }
        ordered = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM communication_log WHERE campaign_id = $1 ORDER BY created_at, id", UUID(cid)
            )
        ]
    finally:
        await conn.close()
    assert expected[None] == 1200 + 2 and expected["SENT"] + expected["FAILED"] >= c["sent_count"] + c["failed_count"]

    for status, count in expected.items():  # from the campaign's counters and its test sends: exact
        async with http.get(
            "/api/logs", params={"campaignId": cid, **({"status": status} if status else {}), "limit": "1"}
        ) as r:
            assert r.status == 200 and r.headers["X-Total-Count"] == str(count), (status, count)
            assert "X-Total-Count-Estimated" not in r.headers

    seen, cursor, pages = [], None, 0
    while True:
        params = {"campaignId": cid, "limit": "250", **({"cursor": cursor} if cursor else {})}
        async with http.get("/api/logs", params=params) as r:
            assert r.status == 200, await r.text()
            seen += [row["id"] for row in await r.json()]
            cursor = r.headers.get("X-Next-Cursor")
            assert r.headers["X-Total-Count"] == str(len(ordered))  # over all pages, not what is left
            assert not any(k.startswith("_key") for k in (await r.json())[0])
        pages += 1
        if cursor is None:
            break
    assert seen == ordered and pages == 5  # every row once, in order; the last page is short

    async with http.get("/api/logs", params={"campaignId": cid, "limit": "100", "offset": "500"}) as r:
        by_offset = [row["id"] for row in await r.json()]
    assert by_offset == ordered[500:600]

    async with http.get("/api/logs", params={"campaignId": cid, "cursor": "garbage"}) as r:
        assert r.status == 400 and "cursor" in await r.text()
    async with http.get("/api/logs", params={"campaignId": cid, "cursor": cursor or "x", "offset": "5"}) as r:
        assert r.status == 400 and "cursor" in await r.text()
    async with http.get("/api/logs", params={"campaignId": str(uuid4())}) as r:
        assert r.status == 404


@pytest.mark.integration
async def test_totals_past_the_cap_are_estimates_and_say_so(pipeline, http, user):
    city = await add_customers(pipeline, http, 300)
    rule = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": city}]}
    few = {
        "combinator": "AND",
        "rules": [
            {"attribute": "city", "operator": "=", "value": city},
            {"attribute": "visit", "operator": "=", "value": "0"},
        ],
    }
    async with (
        pipeline.extra_web(MINICRM_EXACT_COUNT_CAP="100") as (url, _),
        aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {user[1]}"}) as s,
    ):
        async with s.post("/api/customers/get", json=rule, params={"limit": "10"}) as r:
            assert r.status == 200 and r.headers["X-Total-Count-Estimated"] == "true"
            assert int(r.headers["X-Total-Count"]) > 100  # at least what was counted
            assert len(await r.json()) == 10 and r.headers["X-Next-Cursor"]
        async with s.post("/api/customers/get", json=few, params={"limit": "10"}) as r:
            assert r.headers["X-Total-Count"] == "60" and "X-Total-Count-Estimated" not in r.headers
            first, cursor = await r.json(), r.headers["X-Next-Cursor"]
        async with s.post("/api/customers/get", json=few, params={"limit": "50", "cursor": cursor}) as r:
            rest = await r.json()
            assert r.headers["X-Total-Count"] == "60" and "X-Next-Cursor" in r.headers  # a full page
        assert len(rest) == 50 and not {c["id"] for c in first} & {c["id"] for c in rest}
        async with s.post("/api/customers/get", json=rule, params={"limit": "10", "count": "exact"}) as r:
            assert r.headers["X-Total-Count"] == "300" and "X-Total-Count-Estimated" not in r.headers
        # Unpaged, as the original clients read: every match, and the count exact up to the unpaged cap.
        async with s.post("/api/customers/get", json=rule) as r:
            assert r.headers["X-Total-Count"] == "300" and len(await r.json()) == 300


def test_a_scan_of_an_index_is_a_full_scan_when_it_reads_most_of_the_table():
    from minicrm.sql.segments import full_scan

    def plan(node_type: str, rows: float) -> dict:
        return {
            "Node Type": "Aggregate",
            "Plans": [{"Node Type": node_type, "Relation Name": "customers", "Plan Rows": rows}],
        }

    assert full_scan(plan("Seq Scan", 10), 100_000)
    for node_type in ("Index Only Scan", "Index Scan", "Bitmap Heap Scan"):
        assert full_scan(plan(node_type, 100_000), 100_000)  # every row, by an index or by the table
        assert not full_scan(plan(node_type, 3_000), 100_000)  # a selective segment


@pytest.mark.integration
async def test_a_preview_says_when_its_rule_reads_the_whole_table(pipeline, http):
    city = await add_customers(pipeline, http, 200)
    conn = await pipeline.db()
    try:
        await conn.execute(
            "INSERT INTO customers (id, name, email) SELECT gen_random_uuid(), 'Filler', 'filler.'"
            " || gen_random_uuid() || '@example.com' FROM generate_series(1, 20000)"
        )
        await conn.execute("ANALYZE customers")  # the plan is read from statistics: a table of some size
    finally:
        await conn.close()
    broad = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "!=", "value": "Nowhere"}]}
    narrow = {
        "combinator": "AND",
        "rules": [
            {"attribute": "city", "operator": "=", "value": city},
            {"attribute": "total_spend", "operator": ">", "value": "1000000000"},
        ],
    }
    answers = []
    for rule in (broad, narrow):
        async with http.post("/api/campaigns/get", json={"ruleGroup": rule}) as r:
            assert r.status == 200, await r.text()
            answers.append(await r.json())
    assert answers[0]["full_scan"] is True and answers[0]["audience_size"] >= 200
    assert answers[1]["full_scan"] is False and answers[1]["audience_size"] == 0 and answers[1]["sample"] == []
    assert not answers[0]["audience_estimated"] and not answers[1]["audience_estimated"]


@pytest.mark.integration
async def test_a_count_past_its_time_limit_answers_the_estimate_and_says_so(pipeline, user):
    broad = {"combinator": "AND", "rules": [{"attribute": "visit", "operator": ">=", "value": "0"}]}
    conn = await pipeline.db()
    try:
        await conn.execute(
            "INSERT INTO customers (id, name, email) SELECT gen_random_uuid(), 'Filler', 'filler.'"
            " || gen_random_uuid() || '@example.com' FROM generate_series(1, 50000)"
        )
        await conn.execute("ANALYZE customers")
        stored = await conn.fetchval("SELECT count(*) FROM customers")
    finally:
        await conn.close()
    # 1 ms is too little to count 50,000 rows and more: the statement is cancelled, the estimate stands.
    async with (
        pipeline.extra_web(MINICRM_COUNT_TIME_LIMIT="0.001") as (url, _),
        aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {user[1]}"}) as s,
    ):
        async with s.post("/api/campaigns/get", json={"ruleGroup": broad}) as r:
            preview = await r.json()
    assert r.status == 200 and preview["audience_estimated"] is True and preview["full_scan"] is True
    assert abs(preview["audience_size"] - stored) < stored * 0.2, (preview["audience_size"], stored)


@pytest.mark.integration
async def test_a_receipt_updates_its_log_row_in_place_without_touching_an_index(pipeline):
    """The log's read indexes hold no column a receipt changes, and its pages keep room: every
    receipt's update is a HOT update (none of the log's five indexes written)."""
    from minicrm import sql

    conn = await pipeline.db()
    campaign, ids = uuid4(), [uuid4() for _ in range(2000)]
    transaction = conn.transaction()  # rolled back: the rows are the test's only
    await transaction.start()
    try:
        await conn.execute(
            "INSERT INTO campaigns (id, user_id, name, segment, message, status, pending_count,"
            " segmented_at) VALUES ($1, 'hot', 'hot', '{}', 'x', 'RUNNING', 2000, now())",
            campaign,
        )
        await conn.execute(
            "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone,"
            " personalized_msg) SELECT i, $2, gen_random_uuid(), 'Asha Rao', 'asha.rao@example.com', '9876543210',"
            " 'Hi Asha Rao, the monsoon sale starts today in Pune' FROM unnest($1::uuid[]) i",
            ids,
            campaign,
        )
        for lo in range(0, 2000, 500):
            await sql.receipts.apply(
                conn, campaign, ids[lo : lo + 500], ["SENT", "FAILED"] * 250, [None, "mailbox full"] * 250
            )
        updated, hot = await conn.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'communication_log'"
        )
    finally:
        await transaction.rollback()
        await conn.close()
    assert (updated, hot) == (2000, 2000)

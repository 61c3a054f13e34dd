"""Named queries. `$n` bind parameters only; arrays go in through unnest."""

from minicrm import campaign_states as states

SENDING = states.sql_list(states.SENDING)
FINAL = states.sql_list(states.FINAL)
# Segmented, nothing pending: every message has its outcome (only the summary is to come).
DELIVERED = f"(c.segmented_at IS NOT NULL AND c.status IN {SENDING} AND c.pending_count = 0)"
# Waiting for its summary: delivered, or cancelled after it had started.
SUMMARISABLE = f"(c.summary IS NULL AND ({DELIVERED} OR (c.status = 'CANCELLED' AND c.started_at IS NOT NULL)))"

INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (topic, key, payload, reason) VALUES ($1, $2, $3, $4)
"""

DEAD_LETTER_COLUMNS = "d.id, d.topic, d.key, d.payload, d.reason, d.created_at, d.replayed_at"

DEAD_LETTERS_TO_REPLAY = """
SELECT id, topic, key, payload FROM dead_letters
WHERE replayed_at IS NULL AND ($1::text IS NULL OR topic = $1) AND ($2::bigint IS NULL OR id = $2)
ORDER BY id LIMIT $3
"""

LATEST_DEAD_LETTERS = f"""
SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters d
WHERE ($1::text IS NULL OR d.topic = $1) AND ($2::bigint IS NULL OR d.id = $2)
ORDER BY d.id DESC LIMIT $3
"""

MARK_REPLAYED = "UPDATE dead_letters SET replayed_at = now() WHERE id = $1"

UNREPLAYED_DEAD_LETTERS = "SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL"

# Every pooled connection holds this staging table for its session (`db.create_pool`): a batch
# of customers is COPied into it (binary COPY costs PostgreSQL and the client less than array
# parameters) and applied by one set-based statement in the same transaction (`store`'s); each
# commit empties it. It needs a session per connection, as asyncpg's statement cache does (a
# transaction-pooling PgBouncer in between would break both).
STAGING_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS incoming_customers (
    id uuid, name text, email text, phone text, city text, visit integer
) ON COMMIT DELETE ROWS
"""
INCOMING_CUSTOMERS = ("incoming_customers", ("id", "name", "email", "phone", "city", "visit"))

UPSERT_CUSTOMERS = """
INSERT INTO customers AS c (id, name, email, phone, city, visit)
SELECT id, name, email, phone, city, coalesce(visit, 0) FROM incoming_customers
ON CONFLICT (email) DO UPDATE
SET name = excluded.name,
    phone = coalesce(excluded.phone, c.phone),
    city = coalesce(excluded.city, c.city),
    updated_at = now()
"""

SET_GIVEN_VISITS = """
UPDATE customers c SET visit = t.visit, updated_at = now()
FROM incoming_customers t
WHERE c.email = t.email AND t.visit IS NOT NULL AND c.visit <> t.visit
"""

# Joins on unnest, not `= ANY($1)`: the generic plan of a prepared `= ANY` can settle on a
# sequential scan while the table is small and keep it as the table grows.
LOCK_ORDERS = """
SELECT o.id, o.customer_id, o.status, o.amount, o.order_date
FROM orders o JOIN unnest($1::text[]) AS t(id) ON o.id = t.id
FOR UPDATE OF o
"""

UPSERT_ORDERS = """
INSERT INTO orders AS o (id, customer_id, order_date, amount, status)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::numeric[], $5::text[])
ON CONFLICT (id) DO UPDATE
SET order_date = excluded.order_date, amount = excluded.amount, status = excluded.status, updated_at = now()
WHERE (o.order_date, o.amount, o.status) IS DISTINCT FROM (excluded.order_date, excluded.amount, excluded.status)
"""

DELETE_ORDER_ITEMS = "DELETE FROM order_items i USING unnest($1::text[]) AS t(id) WHERE i.order_id = t.id"

ORDER_ITEMS = ("order_items", ("order_id", "position", "name", "quantity", "unit_price", "total"))  # COPied

# Orders of one customer arrive on different partitions, written in parallel: every batch locks
# its customers in id order before it moves any, so two batches wait for each other instead of
# deadlocking. NO KEY UPDATE, the UPDATE's own lock. ${ids}: the customer ids.
_LOCK_CUSTOMERS = """
SELECT c.id FROM customers c JOIN unnest(${ids}::uuid[]) AS t(id) ON c.id = t.id ORDER BY c.id FOR NO KEY UPDATE OF c
"""
LOCK_CUSTOMERS = _LOCK_CUSTOMERS.format(ids=1)

APPLY_CUSTOMER_DELTAS = """
UPDATE customers c
SET total_spend = c.total_spend + d.spend,
    visit = c.visit + d.visits,
    last_order_date = greatest(c.last_order_date, d.last_order_date),
    updated_at = now()
FROM unnest($1::uuid[], $2::numeric[], $3::int[], $4::timestamptz[]) AS d(id, spend, visits, last_order_date)
WHERE c.id = d.id
"""

EXISTING_CUSTOMERS = "SELECT c.id FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id"

# The edge claims order ids ($1) for their customers ($2) before it accepts them, in a transaction
# with ORDER_OWNERS: a claim made meanwhile by another request is waited for, then seen.
CLAIM_ORDERS = """
INSERT INTO order_claims (id, customer_id)
SELECT * FROM unnest($1::text[], $2::uuid[])
ON CONFLICT (id) DO NOTHING
"""
# Each order id's customer: the stored order's, else the first claim's (an order on its way).
ORDER_OWNERS = """
SELECT t.id, coalesce(o.customer_id, c.customer_id) AS customer_id
FROM unnest($1::text[]) AS t(id)
LEFT JOIN orders o ON o.id = t.id
LEFT JOIN order_claims c ON c.id = t.id
"""

# Claims of orders that are stored, at most $1 of them: from then on the stored order's customer
# answers for its id (ORDER_OWNERS), so its claim is dropped; claims of orders on their way stay.
PRUNE_ORDER_CLAIMS = """
DELETE FROM order_claims WHERE id IN (SELECT c.id FROM order_claims c JOIN orders o ON o.id = c.id LIMIT $1)
"""

# Orders ($1 ids, $2 customer ids) that must wait: their customer is not stored yet, or an
# earlier record of the same order is parked. The customers that are stored are locked as
# LOCK_CUSTOMERS locks them (in id order), in the same round trip.
ORDERS_THAT_WAIT = f"""
WITH stored AS MATERIALIZED ({_LOCK_CUSTOMERS.format(ids=2)})
SELECT t.id FROM unnest($1::text[], $2::uuid[]) AS t(id, customer_id)
WHERE t.customer_id NOT IN (SELECT id FROM stored)
   OR EXISTS (SELECT 1 FROM parked_orders p WHERE p.order_id = t.id)
"""

PARK_ORDERS = """
INSERT INTO parked_orders (order_id, customer_id, payload)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])
"""

# Parked orders whose customer exists now, oldest first, unless an earlier record of the same
# order still waits (its records are applied in order).
READY_PARKED_ORDERS = """
SELECT p.seq, p.payload FROM parked_orders p
WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = p.customer_id)
  AND NOT EXISTS (SELECT 1 FROM parked_orders q
                  WHERE q.order_id = p.order_id AND q.seq < p.seq
                    AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = q.customer_id))
ORDER BY p.seq
LIMIT $1
"""

TRY_LOCK = "SELECT pg_try_advisory_lock($1)"

UNLOCK = "SELECT pg_advisory_unlock($1)"

UNPARK_ORDERS = "DELETE FROM parked_orders WHERE seq = ANY($1::bigint[])"

# Parked orders that waited past $2 seconds go to dead letters ($1 their topic) in the same
# statement that unparks them, in the form a replay publishes.
EXPIRE_PARKED_ORDERS = """
WITH expired AS (
    DELETE FROM parked_orders
    WHERE parked_at < now() - make_interval(secs => $2) AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = customer_id)
    RETURNING order_id, customer_id, payload, parked_at
)
INSERT INTO dead_letters (topic, key, payload, reason)
SELECT $1, order_id, '{"orders":[' || payload || ']}',
       format('customer %s does not exist (the order waited for it since %s)', customer_id, parked_at)
FROM expired
"""

CUSTOMER_COLUMNS = """
c.id, c.name, c.email, c.phone, c.city, c.total_spend, c.visit, c.last_order_date,
c.created_at AS "createdAt"
"""

ORDER_COLUMNS = """
o.id, o.customer_id AS "customerId", o.order_date, o.amount, o.status, o.created_at AS "createdAt",
coalesce((SELECT json_agg(json_build_object('name', i.name, 'quantity', i.quantity,
                                            'unitPrice', i.unit_price, 'total', i.total) ORDER BY i.position)
          FROM order_items i WHERE i.order_id = o.id), '[]') AS items
"""

CREATE_CAMPAIGN = """
INSERT INTO campaigns (id, user_id, name, intent, segment, message, status, send_at, rate_per_second,
                       resend_of, resend_statuses)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO NOTHING
"""

CAMPAIGN_STATE = """
SELECT status, paused_by, published_through, delivery_epoch, segmented_at IS NOT NULL AS segmented
FROM campaigns WHERE id = $1
"""

# A QUEUED campaign, or a SCHEDULED one that is due (its request can come before the scheduler
# marks it QUEUED), starts.
BEGIN_SEGMENTATION = """
UPDATE campaigns SET status = 'SEGMENTING', started_at = now()
WHERE id = $1 AND (status = 'QUEUED' OR (status = 'SCHEDULED' AND send_at <= now()))
"""

# The next chunk of the audience ($1 the campaign, $2 customers at most), in customer id order
# after the last customer written (found at the end of the campaign's index): its log rows are
# written and counted in the campaign in one statement; customers not to be messaged ({skip}:
# opted out, over the frequency cap) as SKIPPED rows with the reason. {condition}, {message} and
# {skip} are built by `rules`, `templating` and `exclusions` from allow-listed columns; their
# values are bind parameters from $3 on. It runs in a transaction holding SEGMENTATION_LOCK, so a
# chunk is written before a cancel or not at all, and one chunk of a campaign at a time: what is
# written is always the audience up to a customer. So a replayed request, or a second worker
# segmenting the same campaign, writes nothing twice and counts nothing twice, and the rows are
# plain INSERTs (with `ON CONFLICT DO NOTHING`, each row first looked for in the key, 100,000
# rows took 1.81-1.93 s against 1.34-1.71 s, on the path that paces a campaign).
INSERT_AUDIENCE_CHUNK = """
WITH open AS (
    SELECT id FROM campaigns
    WHERE id = $1::uuid AND segmented_at IS NULL AND status IN ('SEGMENTING', 'PAUSED')
), chunk AS (
    SELECT c.id, c.name, c.email, c.phone, c.city, c.total_spend, {message} AS message, {skip} AS skipped
    FROM customers c
    WHERE {condition} AND EXISTS (SELECT 1 FROM open)
      AND c.id > coalesce((SELECT l.customer_id FROM communication_log l
                           WHERE l.campaign_id = $1::uuid AND NOT l.test
                           ORDER BY l.customer_id DESC LIMIT 1), '00000000-0000-0000-0000-000000000000')
    ORDER BY c.id
    LIMIT $2
), inserted AS (
    INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg,
                                   status, reason, city, spend)
    SELECT md5($1::uuid::text || ':' || id::text)::uuid, $1::uuid, id, name, email, phone, message,
           CASE WHEN skipped IS NULL THEN 'PENDING' ELSE 'SKIPPED' END, skipped, city, total_spend
    FROM chunk
    RETURNING status, reason
), counts AS (
    SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
           count(*) FILTER (WHERE reason = 'opted out' AND status = 'SKIPPED')::int AS suppressed,
           count(*) FILTER (WHERE reason = 'frequency cap' AND status = 'SKIPPED')::int AS capped
    FROM inserted
), counted AS (
    UPDATE campaigns
    SET pending_count = pending_count + counts.pending,
        audience_size = coalesce(audience_size, 0) + counts.pending,
        suppressed_count = suppressed_count + counts.suppressed,
        capped_count = capped_count + counts.capped
    FROM counts
    WHERE id = $1::uuid
)
SELECT (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_customer
"""

# A resend's audience: the customers of campaign ${first} whose messages ended in ${second}.
RESEND_AUDIENCE = """c.id IN (SELECT l.customer_id FROM communication_log l
                  WHERE l.campaign_id = ${first}::uuid AND l.status = ANY(${second}::text[]) AND NOT l.test)"""

# The audience is complete. A segmenting campaign runs; a paused one stays paused. If every
# receipt came in meanwhile (or the audience is empty) it is delivered, and waits for its summary.
FINISH_SEGMENTATION = """
UPDATE campaigns
SET audience_size = coalesce(audience_size, 0), segmented_at = now(),
    status = CASE WHEN status = 'SEGMENTING' THEN 'RUNNING' ELSE status END,
    completed_at = CASE WHEN pending_count = 0 THEN now() END
WHERE id = $1 AND segmented_at IS NULL AND status IN ('SEGMENTING', 'PAUSED')
"""

# For PENDING_DELIVERIES and a page of a campaign's log. On a log PostgreSQL has no statistics
# of yet (a new installation's first campaigns), it expects a handful of a campaign's rows, so it
# reads every one with a bitmap scan and sorts them, for each batch or page: 20 times a chunk's
# rows per chunk, and all that is pending for every batch after a resume (80 ms a batch of 1,000
# at 100,000 pending; 110 ms a page of PENDING rows). Without a sort it walks the campaign's index
# in the order asked for ((campaign_id, customer_id), (campaign_id, created_at, id)) and stops at
# the limit.
IN_INDEX_ORDER = "SET LOCAL enable_sort = off"

# For the statements of a batch, which find each of their rows by its key (an array of a
# thousand ids joined to a primary key), in the batch's transaction. On a table PostgreSQL has
# no statistics of yet (a new installation's first load; every benchmark), the planner expects
# to read it in one go cheaper than a thousand look-ups and hashes the whole of it for each
# batch: 27 ms for 1,000 customers among 100,000 against 5 ms by key, 124 against 43 for their
# update, growing with the table. Without hash joins, merge joins and sequential scans only the
# look-ups are left, as long as nothing but the key narrows the table looked into: a filter the
# planner must guess at (on a table it knows nothing of) can still make it scan that table for
# each key (see _APPLY).
BY_KEY = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off"

# Ids as text: they go out as JSON strings, and UUID objects made and printed again were a tenth
# of the worker's CPU in a campaign (py-spy --gil). Ordered by the column, not its text. Run after
# IN_INDEX_ORDER, in its transaction.
PENDING_DELIVERIES = """
SELECT l.id::text AS id, l.customer_id::text AS customer_id, l.customer_name, l.email, l.phone, l.personalized_msg
FROM communication_log l
WHERE l.campaign_id = $1 AND l.customer_id > $2 AND l.customer_id <= $3 AND l.status = 'PENDING' AND NOT l.test
ORDER BY l.customer_id
LIMIT $4
"""

FAIL_CAMPAIGN = f"""
UPDATE campaigns SET status = 'FAILED', failure_reason = $2, completed_at = now()
WHERE id = $1 AND status NOT IN {FINAL}
"""

DELETE_UNSTARTED_CAMPAIGN = "DELETE FROM campaigns WHERE id = $1 AND status IN ('QUEUED', 'SCHEDULED')"

SET_PUBLISHED_THROUGH = "UPDATE campaigns SET published_through = $2 WHERE id = $1 AND delivery_epoch = $3"

# The fan-out's pause and resume when the vendor fails and recovers; a user's pause is the user's.
VENDOR_PAUSE = """
UPDATE campaigns SET status = 'PAUSED', paused_by = 'vendor', pause_reason = $2 WHERE id = $1 AND status = 'RUNNING'
"""
VENDOR_RESUME = """
UPDATE campaigns SET status = 'RUNNING', paused_by = NULL, pause_reason = NULL
WHERE id = $1 AND status = 'PAUSED' AND paused_by = 'vendor'
"""

# What the fan-out needs to know before it calls the vendor for a campaign.
DELIVERY_GATE = "SELECT status, paused_by, delivery_epoch, rate_per_second FROM campaigns WHERE id = $1"

# The state a user's action is decided on (campaign_states.decide), if the campaign is theirs.
CONTROL_STATE = f"""
SELECT c.status, c.paused_by, c.segmented_at IS NOT NULL AS segmented, {DELIVERED} AS delivered
FROM campaigns c WHERE c.id = $1 AND ($2::text IS NULL OR c.user_id = $2)
"""

# The user's actions, each applied only if the status is still the one decided on ($2).
PAUSE = """
UPDATE campaigns SET status = 'PAUSED', paused_by = 'user', pause_reason = $3 WHERE id = $1 AND status = $2
"""
# A new delivery epoch: batches published before are dropped, what is pending is published again.
RESUME = """
UPDATE campaigns
SET status = $2, paused_by = NULL, pause_reason = NULL, delivery_epoch = delivery_epoch + 1, published_through = NULL
WHERE id = $1 AND status = 'PAUSED'
"""
# A campaign's chunks are written under this lock, and its cancel takes it too: a cancel waits for
# a chunk being written and a chunk after the cancel sees it; two chunks of one campaign (a replay
# and the worker it replaces) are written one after the other. (An advisory lock, not the
# campaign row's: receipts update that row all the time.)
SEGMENTATION_LOCK = "SELECT pg_advisory_xact_lock(727277, hashtext($1::uuid::text))"
CANCEL_LOCK = SEGMENTATION_LOCK
CANCEL = f"""
UPDATE campaigns SET status = 'CANCELLED', paused_by = NULL, pause_reason = NULL, completed_at = now()
WHERE id = $1 AND status = $2 AND status NOT IN {FINAL}
"""
# Messages of a cancelled campaign that are still pending become CANCELLED (idempotent; in a
# statement of its own after CANCEL commits, so no chunk written before the cancel is missed).
# A message whose receipt is being applied (its row locked) is left to the receipt: waiting for
# it deadlocked with APPLY_RECEIPTS, which locks its rows in the receipts' order. A campaign
# that is not cancelled is not read (every summary runs this: 60 ms at 100,000 messages).
CANCEL_PENDING = """
WITH moved AS (
    UPDATE communication_log l SET status = 'CANCELLED', reason = 'the campaign was cancelled'
    FROM (SELECT id FROM communication_log
          WHERE campaign_id = $1 AND status = 'PENDING' AND NOT test
            AND EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND status = 'CANCELLED')
          FOR UPDATE SKIP LOCKED) pending
    WHERE l.id = pending.id
    RETURNING 1
)
UPDATE campaigns c
SET cancelled_count = cancelled_count + (SELECT count(*) FROM moved),
    pending_count = pending_count - (SELECT count(*) FROM moved)
WHERE c.id = $1 AND c.status = 'CANCELLED'
"""
RESCHEDULE = "UPDATE campaigns SET send_at = $3 WHERE id = $1 AND status = $2"

# Customers of campaign $1 whose messages ended in $2, not opted out: a resend's audience.
RESEND_SIZE = """
SELECT count(*) FROM communication_log l
WHERE l.campaign_id = $1 AND l.status = ANY($2::text[]) AND NOT l.test
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = l.email)
"""

# What CampaignRequest.from_row reads.
CAMPAIGN_REQUEST_COLUMNS = "id, user_id, name, intent, segment, message, rate_per_second, resend_of, resend_statuses"
# Scheduled campaigns that are due, oldest first; then each marked QUEUED once its request is out.
DUE_CAMPAIGNS = f"""
SELECT {CAMPAIGN_REQUEST_COLUMNS}
FROM campaigns WHERE status = 'SCHEDULED' AND send_at <= now() ORDER BY send_at LIMIT $1
"""
CAMPAIGN_REQUEST = f"SELECT {CAMPAIGN_REQUEST_COLUMNS} FROM campaigns WHERE id = $1"
MARK_QUEUED = "UPDATE campaigns SET status = 'QUEUED' WHERE id = $1 AND status = 'SCHEDULED'"

# Log rows move from PENDING only, so a duplicate or late receipt moves nothing; the
# campaign's counters move by exactly the rows that moved (test sends are not counted). The
# statement that moves the last pending row marks the delivery finished (completed_at) and
# says the campaign needs its summary; writing the summary completes it. {moved_from} is
# 'PENDING', or 'CANCELLED' for the receipts of messages that were out when their campaign was
# cancelled (they were sent after all).
#
# Each message is found by its id, one look-up per receipt (a lateral subquery the planner
# cannot turn around), and moved by its row's address (ctid): a row another transaction moved
# meanwhile has a new address, so it is left as the other left it. Joined to the log directly,
# the planner, which knows nothing of a new campaign or a new log, expected one matching row,
# and read the campaign's or the whole log's rows once per receipt or all of them per batch
# (1.2 s a batch of 1,000 on a log of 3,000 rows, 10 s at 30,000, 76 ms at 100,000; now 10-16 ms).
_APPLY = """
WITH r AS (
    SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[]) AS r(id, status, reason)
), found AS MATERIALIZED (
    SELECT f.address, r.status, r.reason
    FROM r CROSS JOIN LATERAL (
        SELECT l.ctid AS address FROM communication_log l
        WHERE l.id = r.id AND l.campaign_id = $1 AND l.status = '{moved_from}'
        OFFSET 0
    ) f
), moved AS (
    UPDATE communication_log l
    SET status = found.status, reason = found.reason, delivered_at = now()
    FROM found
    WHERE l.ctid = found.address
    RETURNING l.status, l.test
), counts AS (
    SELECT count(*) FILTER (WHERE status = 'SENT' AND NOT test)::int AS sent,
           count(*) FILTER (WHERE status = 'FAILED' AND NOT test)::int AS failed,
           count(*)::int AS moved
    FROM moved
)
UPDATE campaigns c
SET sent_count = c.sent_count + counts.sent,
    failed_count = c.failed_count + counts.failed,
    {counter} = c.{counter} - counts.sent - counts.failed,
    completed_at = CASE WHEN c.pending_count = counts.sent + counts.failed AND c.completed_at IS NULL
                        AND c.segmented_at IS NOT NULL AND c.status IN {sending} THEN now() ELSE c.completed_at END
FROM counts
WHERE c.id = $1
RETURNING {summarisable} AS needs_summary, c.status, counts.moved, counts.sent, counts.failed
"""
APPLY_RECEIPTS = _APPLY.format(moved_from="PENDING", counter="pending_count", sending=SENDING,
                               summarisable=SUMMARISABLE)
APPLY_LATE_RECEIPTS = _APPLY.format(moved_from="CANCELLED", counter="cancelled_count", sending=SENDING,
                                    summarisable="FALSE")

# The opted-out recipients of these messages ($1), with the vendor's reasons ($2).
SUPPRESS_RECIPIENTS = """
INSERT INTO suppressions (email, reason, source)
SELECT DISTINCT ON (l.email) l.email, r.reason, 'vendor'
FROM unnest($1::uuid[], $2::text[]) AS r(id, reason) JOIN communication_log l ON l.id = r.id
ON CONFLICT (email) DO NOTHING
"""

# A campaign waiting for its summary, if $1 is one.
CAMPAIGN_TO_SUMMARISE = f"""
SELECT id, name, intent, segment, message, status, audience_size, sent_count, failed_count, cancelled_count,
       suppressed_count, capped_count, started_at, completed_at
FROM campaigns c
WHERE id = $1 AND {SUMMARISABLE}
"""

NEEDS_SUMMARY = f"SELECT {SUMMARISABLE} FROM campaigns c WHERE id = $1"

# Outcomes per spend band and per city in one pass over the campaign's log (its messages: test
# sends are not counted, as they are not in the campaign's counters), by the city and spend each
# customer had when the campaign was written (in the log row since migration 011; a row written
# before has no spend and is counted by its customer's present ones, looked up for it alone).
OUTCOMES_BY_SEGMENT = """
SELECT bucket, city, GROUPING(bucket) = 1 AS is_city,
       count(*) FILTER (WHERE status = 'SENT')::int AS sent,
       count(*) FILTER (WHERE status = 'FAILED')::int AS failed
FROM (
    SELECT width_bucket(coalesce(l.spend, (SELECT c.total_spend FROM customers c WHERE c.id = l.customer_id)),
                        $2::numeric[]) AS bucket,
           coalesce(CASE WHEN l.spend IS NULL THEN (SELECT c.city FROM customers c WHERE c.id = l.customer_id)
                         ELSE l.city END, '') AS city,
           l.status
    FROM communication_log l
    WHERE l.campaign_id = $1 AND NOT l.test
) outcomes
GROUP BY GROUPING SETS ((bucket), (city))
"""

# The summary and COMPLETED together, once (a cancelled campaign stays CANCELLED).
WRITE_SUMMARY = f"""
UPDATE campaigns c
SET summary = $2, summary_stats = $3, completed_at = coalesce(completed_at, now()),
    status = CASE WHEN status = 'CANCELLED' THEN status ELSE 'COMPLETED' END, paused_by = NULL, pause_reason = NULL
WHERE id = $1 AND {SUMMARISABLE}
"""

CAMPAIGN_COLUMNS = """
c.id, c.name, c.user_id AS "userId", c.intent, c.segment, c.message, c.audience_size, c.status,
c.pending_count, c.sent_count, c.failed_count, c.created_at AS "createdAt", c.started_at AS "startedAt",
c.completed_at AS "completedAt", c.summary, c.summary_stats AS "summaryStats", c.failure_reason,
c.pause_reason, c.paused_by, c.cancelled_count, c.suppressed_count, c.capped_count, c.send_at AS "sendAt",
c.rate_per_second AS "ratePerSecond", c.resend_of AS "resendOf", c.resend_statuses AS "resendStatuses"
"""

# {columns} from CAMPAIGN_COLUMNS or "c.id"; $2 the signed-in user, NULL in open mode.
OWNED_CAMPAIGN = "SELECT {columns} FROM campaigns c WHERE c.id = $1 AND ($2::text IS NULL OR c.user_id = $2)"

# {condition} is compiled by `rules` from allow-listed columns, {skip} by `exclusions`; their
# values are bind parameters.
SEGMENT_MATCHING = "SELECT count(*)::int FROM customers c WHERE {condition}"
SEGMENT_OPTED_OUT = "SELECT count(*)::int FROM suppressions s JOIN customers c ON c.email = s.email WHERE {condition}"
# How PostgreSQL would find the rows of {source} matching {where}, and how many it expects (not
# run); and the customers table's estimated size.
PLAN = "EXPLAIN (FORMAT JSON) SELECT 1 FROM {source} WHERE {where}"
CUSTOMERS_ESTIMATE = "SELECT greatest(reltuples, 1) FROM pg_class WHERE oid = 'customers'::regclass"

# Customers by id ($1) or email ($2), for a test send.
CUSTOMERS_BY_ID_OR_EMAIL = """
SELECT c.id, c.name, c.email, c.phone, c.city, EXISTS (SELECT 1 FROM suppressions s WHERE s.email = c.email) AS opted_out
FROM customers c WHERE c.id = ANY($1::uuid[]) OR c.email = ANY($2::text[])
"""

INSERT_TEST_MESSAGES = """
INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg, test)
SELECT id, $1, customer_id, name, email, phone, message, true
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS t(id, customer_id, name, email, phone, message)
"""

INSERT_SUPPRESSIONS = """
INSERT INTO suppressions AS s (email, reason, source)
SELECT * FROM unnest($1::text[], $2::text[]) AS t(email, reason), (VALUES ('user')) AS v(source)
ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, source = excluded.source
"""
SUPPRESSION_COLUMNS = "s.email, s.reason, s.source, s.created_at AS \"createdAt\""
DELETE_SUPPRESSION = "DELETE FROM suppressions WHERE email = $1"
EMAILS_OF_CUSTOMERS = "SELECT c.id, c.email FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id"

SEGMENT_SAMPLE = f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE {{condition}} ORDER BY c.created_at, c.id LIMIT {{limit}}"

# The live view's one-second windows (absolute values from its tables: a repeated flush is harmless).
UPSERT_TIMELINE = """
INSERT INTO campaign_timeline AS t (campaign_id, window_start, sent, failed)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[])
ON CONFLICT (campaign_id, window_start) DO UPDATE SET sent = excluded.sent, failed = excluded.failed
"""

UPSERT_VENDOR_HEALTH = """
INSERT INTO vendor_health AS v (vendor, ok, failed, window_seconds, updated_at)
SELECT *, now() FROM unnest($1::text[], $2::int[], $3::int[], $4::real[])
ON CONFLICT (vendor) DO UPDATE SET ok = excluded.ok, failed = excluded.failed,
    window_seconds = excluded.window_seconds, updated_at = now()
"""

# The vendor's calls over the live view's hopping window, across workers, if fresh.
VENDOR_HEALTH = """
SELECT ok, failed, window_seconds FROM vendor_health WHERE vendor = $1 AND updated_at > now() - make_interval(secs => $2)
"""

CAMPAIGNS_BY_STATUS = "SELECT status, count(*) FROM campaigns GROUP BY status"

CAMPAIGN_TIMELINE = """
SELECT window_start, sent, failed FROM campaign_timeline WHERE campaign_id = $1 ORDER BY window_start
"""

# A campaign's test sends, in status $2 or all (an index of its own: they are few).
TEST_SENDS = "SELECT count(*) FROM communication_log WHERE campaign_id = $1 AND test AND ($2::text IS NULL OR status = $2)"
# What a campaign's log listing needs of the campaign: its start and counters.
LOG_TOTALS = "c.id, c.created_at, " + ", ".join(c for cs in states.COUNTERS.values() for c in cs)

LOG_COLUMNS = """
l.id, l.campaign_id AS "campaignId", l.customer_id AS "customerId", l.customer_name, l.email, l.phone,
l.personalized_msg, l.status, l.reason, l.test, l.delivered_at, l.created_at AS "createdAt"
"""

USER_COLUMNS = """
u.id, u.google_id AS "googleId", u.email, u.name, u.avatar, u.created_at AS "createdAt", u.updated_at AS "updatedAt"
"""

UPSERT_GOOGLE_USER = f"""
INSERT INTO users AS u (id, google_id, email, name, avatar) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (google_id) DO UPDATE
SET email = excluded.email, name = excluded.name, avatar = excluded.avatar, updated_at = now()
RETURNING {USER_COLUMNS}
"""

USER_BY_LOGIN_KEY = f"""
UPDATE login_keys k SET last_used = now() FROM users u
WHERE k.key_hash = $1 AND u.id = k.user_id
RETURNING {USER_COLUMNS}
"""

USER_BY_ID = f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"

CREATE_KEY_USER = """
INSERT INTO users AS u (id, email, name) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
"""

INSERT_LOGIN_KEY = "INSERT INTO login_keys (key_hash, user_id) VALUES ($1, $2)"

USER_ID_BY_EMAIL = "SELECT id FROM users WHERE email = $1 ORDER BY created_at LIMIT 1"

"""Named queries. `$n` bind parameters only; arrays go in through unnest."""

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

UPSERT_CUSTOMERS = """
INSERT INTO customers AS c (id, name, email, phone, city, visit)
SELECT id, name, email, phone, city, coalesce(visit, 0)
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
     AS t(id, name, email, phone, city, visit)
ON CONFLICT (email) DO UPDATE
SET name = excluded.name,
    phone = coalesce(excluded.phone, c.phone),
    city = coalesce(excluded.city, c.city),
    updated_at = now()
"""

SET_GIVEN_VISITS = """
UPDATE customers c SET visit = t.visit, updated_at = now()
FROM unnest($1::text[], $2::int[]) AS t(email, visit)
WHERE c.email = t.email AND t.visit IS NOT NULL AND c.visit <> t.visit
"""

LOCK_ORDERS = """
SELECT id, customer_id, status, amount, order_date FROM orders WHERE id = ANY($1::text[]) FOR UPDATE
"""

UPSERT_ORDERS = """
INSERT INTO orders AS o (id, customer_id, order_date, amount, status)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::numeric[], $5::text[])
ON CONFLICT (id) DO UPDATE
SET order_date = excluded.order_date, amount = excluded.amount, status = excluded.status, updated_at = now()
WHERE (o.order_date, o.amount, o.status) IS DISTINCT FROM (excluded.order_date, excluded.amount, excluded.status)
"""

DELETE_ORDER_ITEMS = "DELETE FROM order_items WHERE order_id = ANY($1::text[])"

INSERT_ORDER_ITEMS = """
INSERT INTO order_items (order_id, position, name, quantity, unit_price, total)
SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::numeric[], $6::numeric[])
"""

APPLY_CUSTOMER_DELTAS = """
UPDATE customers c
SET total_spend = c.total_spend + d.spend,
    visit = c.visit + d.visits,
    last_order_date = greatest(c.last_order_date, d.last_order_date),
    updated_at = now()
FROM unnest($1::uuid[], $2::numeric[], $3::int[], $4::timestamptz[]) AS d(id, spend, visits, last_order_date)
WHERE c.id = d.id
"""

EXISTING_CUSTOMERS = "SELECT id FROM customers WHERE id = ANY($1::uuid[])"

ORDER_OWNERS = "SELECT id, customer_id FROM orders WHERE id = ANY($1::text[])"

# Orders ($1 ids, $2 customer ids) that must wait: their customer is not stored yet, or an
# earlier record of the same order is parked.
ORDERS_THAT_WAIT = """
SELECT t.id FROM unnest($1::text[], $2::uuid[]) AS t(id, customer_id)
WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)
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
INSERT INTO campaigns (id, user_id, name, intent, segment, message)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO NOTHING
"""

CAMPAIGN_STATE = "SELECT status, published_through FROM campaigns WHERE id = $1"

BEGIN_SEGMENTATION = "UPDATE campaigns SET status = 'SEGMENTING', started_at = now() WHERE id = $1 AND status = 'QUEUED'"

# One chunk of the audience, in customer id order after $2: its log rows are written and
# counted in the campaign in one statement. {condition} and {message} are built by the rule
# compiler and the templating module from allow-listed columns; their values are bind
# parameters from $4 on. A replayed chunk inserts nothing and counts nothing.
INSERT_AUDIENCE_CHUNK = """
WITH chunk AS (
    SELECT c.id, c.name, c.email, c.phone, {message} AS message
    FROM customers c
    WHERE {condition} AND c.id > $2
    ORDER BY c.id
    LIMIT $3
), inserted AS (
    INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg)
    SELECT md5($1::uuid::text || ':' || id::text)::uuid, $1::uuid, id, name, email, phone, message FROM chunk
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
), counted AS (
    UPDATE campaigns
    SET pending_count = pending_count + (SELECT count(*) FROM inserted),
        audience_size = coalesce(audience_size, 0) + (SELECT count(*) FROM inserted)
    WHERE id = $1::uuid
)
SELECT (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_customer
"""

# The audience is complete: the campaign runs. If every receipt came in while it was being
# segmented (or the audience is empty) it is delivered already, and waits for its summary.
FINISH_SEGMENTATION = """
UPDATE campaigns
SET audience_size = coalesce(audience_size, 0), status = 'RUNNING',
    completed_at = CASE WHEN pending_count = 0 THEN now() END
WHERE id = $1 AND status = 'SEGMENTING'
"""

PENDING_DELIVERIES = """
SELECT id, customer_id, customer_name, email, phone, personalized_msg
FROM communication_log
WHERE campaign_id = $1 AND customer_id > $2 AND customer_id <= $3 AND status = 'PENDING'
ORDER BY customer_id
LIMIT $4
"""

FAIL_CAMPAIGN = """
UPDATE campaigns SET status = 'FAILED', failure_reason = $2, completed_at = now()
WHERE id = $1 AND status NOT IN ('COMPLETED', 'FAILED')
"""

DELETE_QUEUED_CAMPAIGN = "DELETE FROM campaigns WHERE id = $1 AND status = 'QUEUED'"

SET_PUBLISHED_THROUGH = "UPDATE campaigns SET published_through = $2 WHERE id = $1"

SET_CAMPAIGN_STATUS = "UPDATE campaigns SET status = $3, pause_reason = $4 WHERE id = $1 AND status = $2"

# Log rows move from PENDING only, so a duplicate or late receipt moves nothing; the
# campaign's counters and its one-second timeline window move by exactly the rows that
# moved. The statement that moves the last pending row marks the delivery finished
# (completed_at) and says the campaign needs its summary; writing the summary completes it.
APPLY_RECEIPTS = """
WITH r AS (
    SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[]) AS r(id, status, reason)
), moved AS (
    UPDATE communication_log l
    SET status = r.status, reason = r.reason, delivered_at = now()
    FROM r
    WHERE l.id = r.id AND l.campaign_id = $1 AND l.status = 'PENDING'
    RETURNING l.status
), counts AS (
    SELECT count(*) FILTER (WHERE status = 'SENT')::int AS sent,
           count(*) FILTER (WHERE status = 'FAILED')::int AS failed
    FROM moved
), timeline AS (
    INSERT INTO campaign_timeline AS t (campaign_id, window_start, sent, failed)
    SELECT $1, date_trunc('second', now()), sent, failed FROM counts WHERE sent + failed > 0
    ON CONFLICT (campaign_id, window_start)
    DO UPDATE SET sent = t.sent + excluded.sent, failed = t.failed + excluded.failed
)
UPDATE campaigns c
SET sent_count = c.sent_count + counts.sent,
    failed_count = c.failed_count + counts.failed,
    pending_count = c.pending_count - counts.sent - counts.failed,
    completed_at = CASE WHEN c.pending_count = counts.sent + counts.failed AND c.completed_at IS NULL
                        AND c.status IN ('RUNNING', 'PAUSED') THEN now() ELSE c.completed_at END
FROM counts
WHERE c.id = $1
RETURNING c.pending_count = 0 AND c.status IN ('RUNNING', 'PAUSED') AND c.summary IS NULL AS needs_summary
"""

# A delivered campaign without its summary, if $1 is one.
CAMPAIGN_TO_SUMMARISE = """
SELECT id, name, intent, segment, message, audience_size, sent_count, failed_count, started_at, completed_at
FROM campaigns
WHERE id = $1 AND status IN ('RUNNING', 'PAUSED') AND pending_count = 0 AND summary IS NULL
"""

NEEDS_SUMMARY = """
SELECT status IN ('RUNNING', 'PAUSED') AND pending_count = 0 AND summary IS NULL FROM campaigns WHERE id = $1
"""

# Outcomes per spend band and per city in one pass over the campaign's log.
OUTCOMES_BY_SEGMENT = """
SELECT bucket, city, GROUPING(bucket) = 1 AS is_city,
       count(*) FILTER (WHERE status = 'SENT')::int AS sent,
       count(*) FILTER (WHERE status = 'FAILED')::int AS failed
FROM (
    SELECT width_bucket(c.total_spend, $2::numeric[]) AS bucket, coalesce(c.city, '') AS city, l.status
    FROM communication_log l JOIN customers c ON c.id = l.customer_id
    WHERE l.campaign_id = $1
) outcomes
GROUP BY GROUPING SETS ((bucket), (city))
"""

# The summary and COMPLETED together, once.
WRITE_SUMMARY = """
UPDATE campaigns SET summary = $2, summary_stats = $3, status = 'COMPLETED', completed_at = coalesce(completed_at, now())
WHERE id = $1 AND summary IS NULL AND status IN ('RUNNING', 'PAUSED') AND pending_count = 0
"""

CAMPAIGN_COLUMNS = """
c.id, c.name, c.user_id AS "userId", c.intent, c.segment, c.message, c.audience_size, c.status,
c.pending_count, c.sent_count, c.failed_count, c.created_at AS "createdAt", c.started_at AS "startedAt",
c.completed_at AS "completedAt", c.summary, c.summary_stats AS "summaryStats", c.failure_reason,
c.pause_reason
"""

# {columns} from CAMPAIGN_COLUMNS or "c.id"; $2 the signed-in user, NULL in open mode.
OWNED_CAMPAIGN = "SELECT {columns} FROM campaigns c WHERE c.id = $1 AND ($2::text IS NULL OR c.user_id = $2)"

# {condition} is compiled by `rules` from allow-listed columns; its values are bind parameters.
SEGMENT_SIZE = "SELECT count(*) FROM customers c WHERE {condition}"

SEGMENT_SAMPLE = f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE {{condition}} ORDER BY c.created_at, c.id LIMIT {{limit}}"

CAMPAIGN_TIMELINE = """
SELECT window_start, sent, failed FROM campaign_timeline WHERE campaign_id = $1 ORDER BY window_start
"""

LOG_COLUMNS = """
l.id, l.campaign_id AS "campaignId", l.customer_id AS "customerId", l.customer_name, l.email, l.phone,
l.personalized_msg, l.status, l.reason, l.delivered_at, l.created_at AS "createdAt"
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

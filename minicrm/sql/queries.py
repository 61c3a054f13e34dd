"""Named queries. `$n` bind parameters only; arrays go in through unnest."""

INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (topic, key, payload, reason) VALUES ($1, $2, $3, $4)
"""

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

-- An order belongs to one customer for good, and the edge refuses (409) an order id posted for
-- another. It looked at stored orders only: an order still on its way through Kafka was not
-- there, so the same id posted for another customer a moment later was accepted (202) and then
-- dead-lettered by the worker. The edge now claims each order id for its customer before it
-- answers; a stored order's own customer still wins over a claim (orders written by another
-- producer have none).
CREATE TABLE order_claims (
    id text PRIMARY KEY,
    customer_id uuid NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- What the edge accepts ends in a final state (stored, parked for a while, or dead-lettered).

-- Dead letters keep their payload as JSON text, exactly as it was on the topic: jsonb refuses
-- \u0000, and storing a dead letter must never fail. `replayed_at` marks a re-published one.
ALTER TABLE dead_letters ALTER COLUMN payload TYPE text USING payload::text;
ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz;
CREATE INDEX dead_letters_topic ON dead_letters (topic, id);

-- A phone is contact data, not identity (the email is): households and small businesses share
-- numbers, and a unique phone made the pipeline drop customers that the edge had accepted.
ALTER TABLE customers DROP CONSTRAINT customers_phone_key;
CREATE INDEX customers_phone ON customers (phone);

-- Orders that arrive before their customer wait here, re-driven by a timer, instead of
-- holding up the orders behind them.
CREATE TABLE parked_orders (
    seq         bigserial PRIMARY KEY,
    order_id    text NOT NULL,
    customer_id uuid NOT NULL,
    payload     text NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_orders_order ON parked_orders (order_id);
CREATE INDEX parked_orders_customer ON parked_orders (customer_id);

-- A campaign whose request could not be run ends FAILED, with the reason.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
    CHECK (status IN ('QUEUED', 'SEGMENTING', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED'));
ALTER TABLE campaigns ADD COLUMN failure_reason text;

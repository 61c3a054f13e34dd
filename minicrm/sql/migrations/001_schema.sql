-- Customers, orders, users, campaigns, communication log and dead letters.

CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) >= 2),
    email           text NOT NULL UNIQUE CHECK (email = lower(email)),
    phone           text UNIQUE CHECK (phone ~ '^[0-9]{10}$'),
    city            text,
    total_spend     numeric(14, 2) NOT NULL DEFAULT 0,
    visit           integer NOT NULL DEFAULT 0 CHECK (visit >= 0),
    last_order_date timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_total_spend ON customers (total_spend);
CREATE INDEX customers_visit ON customers (visit);
CREATE INDEX customers_city ON customers (lower(city));
CREATE INDEX customers_last_order_date ON customers (last_order_date);

CREATE TABLE orders (
    id          text PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    order_date  timestamptz NOT NULL,
    amount      numeric(14, 2) NOT NULL CHECK (amount >= 0),
    status      text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'CANCELLED', 'REFUNDED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE order_items (
    order_id   text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    name       text NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    total      numeric(14, 2) NOT NULL CHECK (total >= 0),
    PRIMARY KEY (order_id, position)
);

CREATE TABLE users (
    id         uuid PRIMARY KEY,
    google_id  text UNIQUE,
    email      text,
    name       text,
    avatar     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id            uuid PRIMARY KEY,
    user_id       text NOT NULL,
    name          text NOT NULL,
    intent        text,
    segment       jsonb NOT NULL,
    message       text NOT NULL,
    audience_size integer,
    status        text NOT NULL DEFAULT 'QUEUED'
                  CHECK (status IN ('QUEUED', 'SEGMENTING', 'RUNNING', 'PAUSED', 'COMPLETED')),
    pending_count integer NOT NULL DEFAULT 0 CHECK (pending_count >= 0),
    sent_count    integer NOT NULL DEFAULT 0 CHECK (sent_count >= 0),
    failed_count  integer NOT NULL DEFAULT 0 CHECK (failed_count >= 0),
    published_through uuid,  -- deliveries are published up to this customer id
    summary       text,
    summary_stats jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz
);
CREATE INDEX campaigns_user ON campaigns (user_id, created_at DESC);

CREATE TABLE communication_log (
    id               uuid PRIMARY KEY,
    campaign_id      uuid NOT NULL REFERENCES campaigns (id),
    customer_id      uuid NOT NULL REFERENCES customers (id),
    customer_name    text NOT NULL,
    email            text NOT NULL,
    phone            text,
    personalized_msg text NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    reason           text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX communication_log_campaign ON communication_log (campaign_id, customer_id);
CREATE INDEX communication_log_customer ON communication_log (customer_id);

-- Delivery outcomes per one-second window, written in the receipts' own transaction: the
-- live timeline and rate of a campaign, exact across crashes.
CREATE TABLE campaign_timeline (
    campaign_id  uuid NOT NULL REFERENCES campaigns (id),
    window_start timestamptz NOT NULL,
    sent         integer NOT NULL,
    failed       integer NOT NULL,
    PRIMARY KEY (campaign_id, window_start)
);

CREATE TABLE dead_letters (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        text,
    payload    jsonb NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

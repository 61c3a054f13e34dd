-- What a campaign earned: conversions and revenue attributed to its messages, a holdout that gets
-- no message (for lift), and variants with an A/B test whose winner goes to the rest.
-- The status lists are minicrm/campaign_states.py's (tests/test_campaign_states.py compares them).

ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check CHECK (status IN
    ('SCHEDULED', 'QUEUED', 'SEGMENTING', 'RUNNING', 'TESTING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'));
ALTER TABLE campaigns
    ADD COLUMN attribution_days    integer NOT NULL DEFAULT 7 CHECK (attribution_days BETWEEN 1 AND 90),
    ADD COLUMN holdout_percent     integer NOT NULL DEFAULT 0 CHECK (holdout_percent BETWEEN 0 AND 50),
    ADD COLUMN variants            jsonb,        -- [{name, message, weight}], in order; the first is the control
    ADD COLUMN ab_test             jsonb,        -- {testPercent, metric, decideAfterSeconds}
    ADD COLUMN assignment_seed     uuid,         -- holdout and variants are drawn by it: a resend keeps its first's
    ADD COLUMN testing_until       timestamptz,  -- the A/B decision is due then
    ADD COLUMN winner              text,
    ADD COLUMN decision            jsonb,
    ADD COLUMN conversions         integer NOT NULL DEFAULT 0,
    ADD COLUMN attributed_revenue  numeric(16, 2) NOT NULL DEFAULT 0,
    ADD COLUMN holdout_size        integer NOT NULL DEFAULT 0,
    ADD COLUMN holdout_conversions integer NOT NULL DEFAULT 0,
    ADD COLUMN waiting_count       integer NOT NULL DEFAULT 0 CHECK (waiting_count >= 0),
    ADD COLUMN expected_audience   integer;      -- as the edge counted it: read until segmentation counts it
CREATE INDEX campaigns_testing ON campaigns (testing_until) WHERE status = 'TESTING';

-- HOLDOUT: a customer of the holdout, never messaged. WAITING: a customer of an A/B test's rest,
-- messaged with the winner once it is decided (counted in waiting_count meanwhile).
ALTER TABLE communication_log DROP CONSTRAINT communication_log_status_check;
ALTER TABLE communication_log ADD CONSTRAINT communication_log_status_check CHECK (status IN
    ('PENDING', 'SENT', 'FAILED', 'CANCELLED', 'SKIPPED', 'HOLDOUT', 'WAITING')) NOT VALID;  -- 013 validates it
ALTER TABLE communication_log ADD COLUMN variant text;

-- Each variant's figures, moved by the statements that move the campaign's.
CREATE TABLE campaign_variants (
    campaign_id        uuid NOT NULL REFERENCES campaigns (id),
    name               text NOT NULL,
    audience_size      integer NOT NULL DEFAULT 0,
    sent_count         integer NOT NULL DEFAULT 0,
    failed_count       integer NOT NULL DEFAULT 0,
    conversions        integer NOT NULL DEFAULT 0,
    attributed_revenue numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, name)
);

-- Every order attributed to a campaign, once (a replayed or re-posted order is not counted again).
CREATE TABLE attributed_orders (
    campaign_id uuid NOT NULL,
    order_id    text NOT NULL,
    customer_id uuid NOT NULL,
    variant     text,
    holdout     boolean NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    order_date  timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, order_id)
);

-- A customer converts for a campaign once: at their first attributed order.
CREATE TABLE conversions (
    campaign_id  uuid NOT NULL,
    customer_id  uuid NOT NULL,
    variant      text,
    holdout      boolean NOT NULL,
    converted_at timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);

-- Journeys: a message when a customer enters a segment, or places an order. A journey's messages
-- are the log rows of a campaign row of the same id, never segmented while the journey runs, so
-- they go through the campaigns' fan-out, receipts, counters, suppressions, cap and rates.
-- The status lists are minicrm/journeys.py's (tests/test_journeys_pure.py compares them).

ALTER TABLE customers ADD COLUMN timezone text;  -- an IANA zone: quiet hours are the customer's

CREATE TABLE journeys (
    id               uuid PRIMARY KEY REFERENCES campaigns (id),
    user_id          text NOT NULL,
    name             text NOT NULL,
    trigger_type     text NOT NULL CHECK (trigger_type IN ('enters_segment', 'order_placed')),
    rule_group       jsonb NOT NULL,
    message          text NOT NULL,
    delay_seconds    integer NOT NULL CHECK (delay_seconds >= 0),
    reentry          text NOT NULL CHECK (reentry IN ('once', 'every')),
    cooldown_days    integer NOT NULL CHECK (cooldown_days >= 0),
    quiet_hours      jsonb,  -- {start, end, timezone}
    include_existing boolean NOT NULL,
    status           text NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'DELETED')),
    started_at       timestamptz,  -- its members at the start are recorded (and entered, with include_existing)
    created_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
CREATE INDEX journeys_user ON journeys (user_id, created_at DESC);

-- Who matches an enters_segment journey's rules now: entering is the insert of a row, leaving
-- its delete, each in the transaction that records the entry, so a replayed change enters nobody twice.
CREATE TABLE journey_members (
    journey_id  uuid NOT NULL REFERENCES journeys (id),
    customer_id uuid NOT NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, journey_id)  -- looked up by the customers a change names
);

-- Every entry: WAITING until due (a delay, quiet hours), then QUEUED (its log row written, its
-- delivery being published), MESSAGED (published), or SKIPPED with the reason. The entry's id is
-- its log row's.
CREATE TABLE journey_entries (
    id           uuid PRIMARY KEY,
    journey_id   uuid NOT NULL REFERENCES journeys (id),
    customer_id  uuid NOT NULL,
    order_id     text,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    triggered_at timestamptz,  -- when the edge accepted the order or customer that made it
    due_at       timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('WAITING', 'QUEUED', 'MESSAGED', 'SKIPPED')),
    reason       text
);
CREATE UNIQUE INDEX journey_entries_order ON journey_entries (journey_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX journey_entries_customer ON journey_entries (journey_id, customer_id, entered_at);
CREATE INDEX journey_entries_due ON journey_entries (due_at) WHERE status = 'WAITING';
CREATE INDEX journey_entries_queued ON journey_entries (entered_at) WHERE status = 'QUEUED';

-- The last UTC day whose midnight the time-driven re-evaluation has handled.
CREATE TABLE journey_clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    day      date NOT NULL
);

-- Campaign controls: schedule, pause/resume, cancel, test sends, resend, opt-outs, frequency cap.
-- The status lists are minicrm/campaign_states.py's (tests/test_campaign_states.py compares them).

ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check CHECK (status IN
    ('SCHEDULED', 'QUEUED', 'SEGMENTING', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'));
ALTER TABLE campaigns
    ADD COLUMN send_at          timestamptz,        -- a SCHEDULED campaign starts then
    ADD COLUMN segmented_at     timestamptz,        -- its whole audience is written
    ADD COLUMN paused_by        text CHECK (paused_by IN ('user', 'vendor')),
    ADD COLUMN delivery_epoch   integer NOT NULL DEFAULT 0,  -- a resume starts a new one
    ADD COLUMN cancelled_count  integer NOT NULL DEFAULT 0 CHECK (cancelled_count >= 0),
    ADD COLUMN suppressed_count integer NOT NULL DEFAULT 0,  -- opted out, not messaged
    ADD COLUMN capped_count     integer NOT NULL DEFAULT 0,  -- over the frequency cap, not messaged
    ADD COLUMN rate_per_second  double precision CHECK (rate_per_second > 0),
    ADD COLUMN resend_of        uuid REFERENCES campaigns (id),
    ADD COLUMN resend_statuses  text[];
UPDATE campaigns SET segmented_at = coalesce(started_at, created_at) WHERE status NOT IN ('QUEUED', 'SEGMENTING');
UPDATE campaigns SET paused_by = 'vendor' WHERE status = 'PAUSED';
CREATE INDEX campaigns_due ON campaigns (send_at) WHERE status = 'SCHEDULED';

ALTER TABLE communication_log DROP CONSTRAINT communication_log_status_check;
ALTER TABLE communication_log ADD CONSTRAINT communication_log_status_check CHECK (status IN
    ('PENDING', 'SENT', 'FAILED', 'CANCELLED', 'SKIPPED'));
-- A test send: a real message to the given customers, not counted in the campaign.
ALTER TABLE communication_log ADD COLUMN test boolean NOT NULL DEFAULT false;
-- The frequency cap counts a customer's recent messages.
CREATE INDEX communication_log_customer_recent ON communication_log (customer_id, created_at);
DROP INDEX communication_log_customer;

-- Opt-outs, by email (a customer's identity): never messaged by a campaign again.
CREATE TABLE suppressions (
    email      text PRIMARY KEY,
    reason     text NOT NULL,
    source     text NOT NULL CHECK (source IN ('user', 'vendor')),
    created_at timestamptz NOT NULL DEFAULT now()
);

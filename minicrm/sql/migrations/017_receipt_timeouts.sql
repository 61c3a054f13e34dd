-- A message whose receipt never comes ends FAILED ("no receipt ...") once the vendor has taken no call
-- of its campaign for the receipt timeout: `last_handed_at` is when it last took one (or the campaign
-- was resumed), `no_receipt_count` how many of the campaign's failures are such messages.
ALTER TABLE campaigns ADD COLUMN last_handed_at timestamptz;
ALTER TABLE campaigns ADD COLUMN no_receipt_count integer NOT NULL DEFAULT 0 CHECK (no_receipt_count >= 0);
-- The campaigns without a summary (running, or waiting for it): what the receipt timeouts and the
-- summary sweep look at, a few among many finished ones.
CREATE INDEX campaigns_unsummarised ON campaigns (status) WHERE summary IS NULL;

-- The live view: the `live` worker's windowed tables, flushed here where a read needs them.
-- campaign_timeline (outcomes per one-second window) is written by it now, not by the receipts'
-- transaction; vendor_health holds each vendor's calls over the tables' hopping window, which
-- the fan-out of every worker reads to decide whether the vendor is failing.
CREATE TABLE vendor_health (
    vendor         text PRIMARY KEY,
    ok             integer NOT NULL,
    failed         integer NOT NULL,
    window_seconds real NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

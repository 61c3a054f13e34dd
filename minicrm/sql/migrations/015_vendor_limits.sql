-- The largest body each vendor is known to take, learnt from its 413 answers and kept where every
-- worker reads it: a worker that restarts, or another one replaying a batch, splits its calls as
-- the first did, so each call goes again under the same Idempotency-Key.
CREATE TABLE vendor_limits (
    vendor text PRIMARY KEY,
    max_bytes integer NOT NULL CHECK (max_bytes > 0),
    learnt_at timestamptz NOT NULL DEFAULT now()
);

-- Per-user login keys for service use and scripts: stored as SHA-256, shown once when issued.
CREATE TABLE login_keys (
    key_hash   text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used  timestamptz
);
CREATE INDEX login_keys_user ON login_keys (user_id);

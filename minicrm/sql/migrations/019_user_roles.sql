-- Roles: a marketer works on their own campaigns and journeys; an operator also on everyone's,
-- and on the dead letters, the suppression list and the vendor's health (minicrm/roles.py).
-- Every user so far is a marketer, as every session so far was.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'marketer'
    CONSTRAINT users_role CHECK (role IN ('marketer', 'operator'));

-- foodai 0002: submission quotas. One counter per user and fixed window (a minute, a day),
-- incremented with INSERT ... ON CONFLICT DO UPDATE ... RETURNING inside the submit
-- transaction: concurrent submits of one user queue on the row lock, every API process
-- sees the same count, and a refused submit rolls its increment back with everything else.

CREATE TABLE quota_counters (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    window_kind  text NOT NULL CHECK (window_kind IN ('minute', 'day')),
    window_start timestamptz NOT NULL,
    count        integer NOT NULL CHECK (count >= 0),
    PRIMARY KEY (user_id, window_kind, window_start)
);

-- Old windows are deleted by the submit path (per user) and can be pruned in bulk by this index.
CREATE INDEX idx_quota_counters_window_start ON quota_counters (window_start);

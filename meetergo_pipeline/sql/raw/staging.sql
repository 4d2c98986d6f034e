-- Session-only staging tables for RawWriter: pages are unnested into these batch by batch
-- (cheap appends), then merged into raw.* once per commit (see merge_*.sql). TEMP tables
-- live in this connection only: a crash leaves nothing of them behind.
CREATE OR REPLACE TEMP TABLE staged_users (
    user_id    VARCHAR,
    payload    JSON,
    updated_at TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE staged_meeting_types (
    meeting_type_id VARCHAR,
    user_id         VARCHAR,
    payload         JSON,
    updated_at      TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE staged_appointments (
    appointment_id  VARCHAR,
    created_at      TIMESTAMPTZ,
    start_at        TIMESTAMPTZ,
    payload         JSON,
    updated_at      TIMESTAMPTZ,
    fields          {{fields_type}}
);

-- core.appointment_hosts: one row per appointment and host user, so co-hosted meetings count
-- for every host. The main host is core.appointments.host_user_id (for an appointment known
-- only from webhooks, the host the events name); the co-hosts are the other users of the
-- latest API read's hostIds[] (else hosts[].id), distinct, blank ids skipped. Where the API
-- has shown the appointment, its main host is core's, so the rows are unique.
CREATE OR REPLACE TABLE core.appointment_hosts AS
WITH main_hosts AS (
    SELECT tenant_id, appointment_id, host_user_id AS user_id, true AS is_main_host
    FROM core.appointments
    WHERE host_user_id IS NOT NULL
),

co_hosts AS (
    SELECT DISTINCT tenant_id, appointment_id, user_id, false AS is_main_host
    FROM (
        SELECT tenant_id, appointment_id, host_user_id, unnest(host_user_ids) AS user_id
        FROM core.api_appointments
    )
    WHERE user_id IS DISTINCT FROM host_user_id AND trim(user_id) <> ''
)

SELECT * FROM main_hosts
UNION ALL
SELECT * FROM co_hosts;

COMMENT ON TABLE core.appointment_hosts IS 'One row per appointment and host user: the main host of core.appointments (for appointments known only from webhooks, the host the events name) and the co-hosts, the other users of the latest API read''s hostIds[] (else hosts[].id). Count rows per user_id to credit co-hosts; join on appointment_id to core.appointments.';
COMMENT ON COLUMN core.appointment_hosts.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN core.appointment_hosts.appointment_id IS 'meetergo appointment id (UUID), as in core.appointments.';
COMMENT ON COLUMN core.appointment_hosts.user_id IS 'A host user of the appointment (core.users.user_id).';
COMMENT ON COLUMN core.appointment_hosts.is_main_host IS 'True for the appointment''s main host (core.appointments.host_user_id), false for a co-host.';

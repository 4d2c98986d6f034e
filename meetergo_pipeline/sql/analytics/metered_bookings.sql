-- analytics.metered_bookings: the bookings that count toward usage-based billing. meetergo
-- marks no booking as "created via the API", so the rule is configuration, in one of two forms
-- (transform/metering.py, transform/settings.py):
--   * MEETERGO_API_BOOKINGS_FILE set: exactly the appointments whose id the file lists (the
--     runner loads them into the session-only table api_booking_ids; s.metered_by says so);
--   * otherwise the boolean predicate MEETERGO_METERED_BOOKING_PREDICATE, substituted into the
--     WHERE clause below, over a = core.appointments, u = its main host (core.users),
--     mt = its meeting type (core.meeting_types) and n = its notes (n.notes). The runner
--     validates it (one statement, binds in sql/metering/predicate_probe.sql, BOOLEAN).
-- Notes are attendees' free text: they are read here for the predicate and never selected.
CREATE OR REPLACE TABLE analytics.metered_bookings AS
WITH booking_notes AS (
    -- the latest API read's notes; for an appointment the API has not shown yet, the newest
    -- booking event's
    SELECT r.tenant_id, r.appointment_id, r.payload->>'notes' AS notes
    FROM raw.appointments AS r
    UNION ALL
    SELECT
        e.tenant_id,
        e.appointment_id,
        arg_max(json_extract_string(w.body, w.entity_path || '.notes'), e.occurred_at) AS notes
    FROM core.booking_events AS e
    JOIN raw.webhook_events AS w ON w.tenant_id = e.tenant_id AND w.event_key = e.event_key
    WHERE NOT EXISTS (
        SELECT 1 FROM raw.appointments AS r
        WHERE r.tenant_id = e.tenant_id AND r.appointment_id = e.appointment_id
    )
    GROUP BY e.tenant_id, e.appointment_id
)

SELECT
    a.tenant_id,
    a.appointment_id,
    a.host_user_id AS user_id,
    u.email,
    a.created_at,
    CAST(date_trunc('month', timezone(s.reporting_timezone, a.created_at)) AS DATE)
        AS billing_month,
    a.status = 'cancelled' AS cancelled,
    a.cancelled_at
FROM core.appointments AS a
LEFT JOIN core.users AS u ON u.tenant_id = a.tenant_id AND u.user_id = a.host_user_id
LEFT JOIN core.meeting_types AS mt
    ON mt.tenant_id = a.tenant_id AND mt.meeting_type_id = a.meeting_type_id
LEFT JOIN booking_notes AS n ON n.tenant_id = a.tenant_id AND n.appointment_id = a.appointment_id
LEFT JOIN api_booking_ids AS listed ON listed.appointment_id = a.appointment_id
CROSS JOIN analytics.report_settings AS s
WHERE a.created_at IS NOT NULL
  AND CASE
      WHEN s.metered_by = 'api_bookings_file' THEN listed.appointment_id IS NOT NULL
      ELSE coalesce(({{metered_booking_predicate}}), false)
  END
ORDER BY a.created_at, a.tenant_id, a.appointment_id;

COMMENT ON TABLE analytics.metered_bookings IS 'Bookings metered for usage-based billing, one row per appointment. Rule: {{metered_booking_rule}}. The predicate (env MEETERGO_METERED_BOOKING_PREDICATE) is read over a = core.appointments, u = its main host (core.users), mt = its meeting type (core.meeting_types) and n = the booking''s notes; a file of appointment ids (env MEETERGO_API_BOOKINGS_FILE), when set, replaces it (analytics.report_settings.metered_by). A booking is metered in the month it was created, whatever happens to it later (cancelled and deleted bookings still count); appointments with unknown created_at are left out.';
COMMENT ON COLUMN analytics.metered_bookings.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN analytics.metered_bookings.appointment_id IS 'Metered appointment.';
COMMENT ON COLUMN analytics.metered_bookings.user_id IS 'Platform user billed for it: the appointment''s main host.';
COMMENT ON COLUMN analytics.metered_bookings.email IS 'E-mail of that user (NULL when the user is not in core.users yet).';
COMMENT ON COLUMN analytics.metered_bookings.created_at IS 'When the booking was made (UTC instant).';
COMMENT ON COLUMN analytics.metered_bookings.billing_month IS 'First day of the month of created_at in the reporting time zone ({{reporting_timezone}}).';
COMMENT ON COLUMN analytics.metered_bookings.cancelled IS 'True when the booking is cancelled now. Cancelling does not refund the metered booking.';
COMMENT ON COLUMN analytics.metered_bookings.cancelled_at IS 'When it was cancelled (UTC instant); NULL when confirmed.';

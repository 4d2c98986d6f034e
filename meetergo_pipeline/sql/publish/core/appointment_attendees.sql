-- Published core.appointment_attendees: who booked, as a keyed pseudonym only (see
-- pseudonym_macro.sql): the same person gets the same key in every appointment and every
-- snapshot, and without the key an e-mail address can be neither recovered nor confirmed by
-- guessing. Read from the latest API read of each appointment (raw.appointments.fields);
-- appointments known only from webhooks have no rows until the next sync.
CREATE TABLE {{published}}.core.appointment_attendees AS
WITH attendee_emails AS (
    SELECT DISTINCT
        r.tenant_id,
        r.appointment_id,
        lower(trim(unnest(list_transform(r.fields.attendees, lambda a: a.email)))) AS email
    FROM raw.appointments AS r
)

SELECT
    e.tenant_id,
    e.appointment_id,
    attendee_pseudonym(e.email) AS attendee_key
FROM attendee_emails AS e
WHERE e.email <> '';

COMMENT ON TABLE {{published}}.core.appointment_attendees IS 'One row per appointment and distinct attendee e-mail, as the latest API read listed the attendees. Attendees are present only as a pseudonym: names, e-mail addresses and phone numbers are not published. Join to core.appointments on tenant_id and appointment_id; count appointments per attendee_key to find repeat bookers. Appointments known only from webhooks get their rows at the next API sync.';
COMMENT ON COLUMN {{published}}.core.appointment_attendees.tenant_id IS 'Tenant (meetergo account) the row belongs to: an id of the tenants file, or default. Ids are unique per tenant.';
COMMENT ON COLUMN {{published}}.core.appointment_attendees.appointment_id IS 'meetergo appointment id (UUID), as in core.appointments.';
COMMENT ON COLUMN {{published}}.core.appointment_attendees.attendee_key IS 'Keyed pseudonym of the attendee: HMAC-SHA256 (hex) of the trimmed, lower-cased e-mail address under the pipeline''s pseudonym key (MEETERGO_PSEUDONYM_KEY). Stable across appointments and snapshots while the key stays the same; not reversible without the key.';

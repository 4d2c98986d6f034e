-- appointment_fields(payload): the fields of an appointment payload (GET
-- /v4/appointment/paginated) that the pipeline reads, parsed once when the page is stored
-- into raw.appointments.fields; core and the snapshot read that column, never the JSON again.
-- json_transform is tolerant: a missing key, or a value of another type than named here,
-- reads as NULL, and keys not named here are ignored (they stay in the payload). Times are
-- read as instants here: a time without an offset is UTC, one that does not parse is NULL
-- (as TRY_CAST under a UTC session would read it). The column's type is this macro's result
-- type (connection.py keeps the two equal), so changing a field here is the whole change:
-- the next writer connection re-derives the column from every payload.
CREATE OR REPLACE TEMP MACRO appointment_fields(payload) AS json_transform(payload, '{
    "id": "VARCHAR",
    "meetingTypeId": "VARCHAR", "meetingType": {"id": "VARCHAR", "metadata": "JSON"},
    "hostingInfo": {"mainHost": "VARCHAR"}, "hostIds": ["VARCHAR"],
    "hosts": [{"id": "VARCHAR"}],
    "start": "TIMESTAMPTZ", "end": "TIMESTAMPTZ", "createdAt": "TIMESTAMPTZ", "updatedAt": "TIMESTAMPTZ",
    "isCancelled": "BOOLEAN",
    "cancel": {"actionAt": "TIMESTAMPTZ", "actionSource": "VARCHAR"},
    "rescheduledAt": "TIMESTAMPTZ", "rescheduleCount": "INTEGER",
    "attendees": [{"email": "VARCHAR"}], "meetingInfo": {"channel": "VARCHAR"}
}');

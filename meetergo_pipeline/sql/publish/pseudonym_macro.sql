-- attendee_pseudonym(email): HMAC-SHA256 (hex) of the trimmed, lower-cased address under the
-- pseudonym key whose pads temp.pseudonym_key holds. A temporary macro of the publishing
-- connection, dropped when the publish ends.
CREATE OR REPLACE TEMP MACRO attendee_pseudonym(email) AS (
    SELECT sha256(k.opad || unhex(sha256(k.ipad || encode(lower(trim(email))))))
    FROM temp.pseudonym_key AS k
);

-- attendee_pseudonym(email): HMAC-SHA256 (hex) of the trimmed, lower-cased address under the
-- pseudonym key whose pads the variable pseudonym_pads holds. A temporary macro of the
-- publishing connection, dropped when the publish ends. (A scalar expression over the
-- variable, not a subquery over a table: DuckDB would join that subquery to every row.)
CREATE OR REPLACE TEMP MACRO attendee_pseudonym(email) AS sha256(
    getvariable('pseudonym_pads').opad
    || unhex(sha256(getvariable('pseudonym_pads').ipad || encode(lower(trim(email)))))
);

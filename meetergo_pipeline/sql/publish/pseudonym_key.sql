-- The pseudonym key's HMAC-SHA256 pads (key XOR 0x36 and key XOR 0x5c, 64 bytes each), bound
-- as parameters into a temporary table of the publishing connection: never in a file, dropped
-- when the publish ends. HMAC(key, m) = sha256(opad || sha256(ipad || m)).
CREATE OR REPLACE TEMP TABLE pseudonym_key AS
SELECT CAST($ipad AS BLOB) AS ipad, CAST($opad AS BLOB) AS opad;

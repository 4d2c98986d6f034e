-- The pseudonym key's HMAC-SHA256 pads (key XOR 0x36 and key XOR 0x5c, 64 bytes each), bound
-- as parameters into a variable of the publishing connection: never in a file, reset when the
-- publish ends. HMAC(key, m) = sha256(opad || sha256(ipad || m)).
SET VARIABLE pseudonym_pads = {'ipad': CAST($ipad AS BLOB), 'opad': CAST($opad AS BLOB)};

-- Event counts of the shop's own rate limits (pushes per phone number):
-- a window's end and count under the hash of the key, purged once over.

CREATE TABLE counters (
	key_hash text PRIMARY KEY,
	ends_ns  bigint NOT NULL,
	count    integer NOT NULL
);
CREATE INDEX counters_end ON counters (ends_ns);

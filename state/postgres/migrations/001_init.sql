-- The first schema of a shop's order database on PostgreSQL. Times are Unix
-- nanoseconds (bigint), as the store's clock gives them, so that cursors and
-- leases compare exactly; the records themselves are JSON, as in Badger.

CREATE TABLE orders (
	reference  text PRIMARY KEY,
	status     text NOT NULL,
	created_ns bigint NOT NULL,
	-- next check at Vipps, for watched orders only (or the poller's lease)
	check_ns   bigint,
	data       jsonb NOT NULL
);
CREATE INDEX orders_by_created ON orders (created_ns DESC, reference);
CREATE INDEX orders_by_status ON orders (status, created_ns DESC, reference);
CREATE INDEX orders_due ON orders (check_ns) WHERE check_ns IS NOT NULL;

CREATE TABLE jobs (
	id           text PRIMARY KEY,
	available_ns bigint NOT NULL,
	dead         boolean NOT NULL DEFAULT false,
	data         jsonb NOT NULL
);
CREATE INDEX jobs_due ON jobs (available_ns) WHERE NOT dead;

CREATE TABLE buyers (
	reference  text PRIMARY KEY,
	expires_ns bigint,
	data       jsonb NOT NULL
);
CREATE INDEX buyers_expiry ON buyers (expires_ns) WHERE expires_ns IS NOT NULL;

CREATE TABLE meta (
	key   text PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE requests (
	key_hash   text PRIMARY KEY,
	expires_ns bigint NOT NULL,
	data       jsonb NOT NULL
);
CREATE INDEX requests_expiry ON requests (expires_ns);

CREATE TABLE signatures (
	sig_hash   text PRIMARY KEY,
	expires_ns bigint NOT NULL
);
CREATE INDEX signatures_expiry ON signatures (expires_ns);

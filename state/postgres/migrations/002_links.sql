-- Payment links: a link is found by the hash of its token, listed newest
-- first, and names the orders made from it.

CREATE TABLE links (
	id         text PRIMARY KEY,
	token_hash text NOT NULL UNIQUE,
	created_ns bigint NOT NULL,
	data       jsonb NOT NULL
);
CREATE INDEX links_by_created ON links (created_ns DESC, id);

ALTER TABLE orders ADD COLUMN link_id text;
CREATE INDEX orders_by_link ON orders (link_id, created_ns DESC, reference) WHERE link_id IS NOT NULL;

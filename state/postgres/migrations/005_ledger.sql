-- The ledger: money captured and refunded and orders made, summed per UTC
-- hour (see state.LedgerRow), written in the same transaction as the order
-- change it sums. And the money still reserved per order, for the indexed
-- list of orders to ship, oldest first.
--
-- Orders stored before are counted once here, as state.LedgerOf says: the
-- order in the hour it was made, its captured amount in the hour its
-- history first names it (partially) captured, its refunded amount in the
-- hour its history first names it (partially) refunded, else at its last
-- change.

-- Each hour is split into rows (shard, see state.LedgerShards), so that
-- buyers paying at once seldom wait for each other's row lock.
CREATE TABLE ledger (
	hour_ns  bigint NOT NULL,
	shard    int NOT NULL,
	captured bigint NOT NULL DEFAULT 0,
	refunded bigint NOT NULL DEFAULT 0,
	orders   bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (hour_ns, shard)
);

ALTER TABLE orders ADD COLUMN reserved bigint NOT NULL DEFAULT 0;
UPDATE orders SET reserved = greatest(
	(data->'payment'->>'authorized')::bigint - (data->'payment'->>'captured')::bigint - (data->'payment'->>'cancelled')::bigint, 0)
WHERE (data->'payment'->>'authorized')::bigint > 0;
CREATE INDEX orders_to_ship ON orders (created_ns, reference) WHERE reserved > 0;

CREATE FUNCTION pg_temp.ledger_hour(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS
	$$ SELECT (extract(epoch FROM date_trunc('hour', t AT TIME ZONE 'UTC')) * 1000000000)::bigint $$;
CREATE FUNCTION pg_temp.first_at(data jsonb, statuses text[]) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
	$$ SELECT coalesce(
		(SELECT (h->>'at')::timestamptz FROM jsonb_array_elements(coalesce(data->'history', '[]')) WITH ORDINALITY AS e(h, i)
			WHERE h->>'to' = ANY(statuses) AND h->>'from' IS DISTINCT FROM h->>'to' ORDER BY i LIMIT 1),
		nullif(data->>'updated_at', '')::timestamptz,
		(data->>'created_at')::timestamptz) $$;

INSERT INTO ledger (hour_ns, shard, captured, refunded, orders)
SELECT hour_ns, 0, sum(captured), sum(refunded), sum(orders) FROM (
	SELECT (created_ns / 3600000000000) * 3600000000000 AS hour_ns, 0::bigint AS captured, 0::bigint AS refunded, 1::bigint AS orders FROM orders
	UNION ALL
	SELECT pg_temp.ledger_hour(pg_temp.first_at(data, ARRAY['partially_captured', 'captured'])), (data->'payment'->>'captured')::bigint, 0, 0
		FROM orders WHERE (data->'payment'->>'captured')::bigint <> 0
	UNION ALL
	SELECT pg_temp.ledger_hour(pg_temp.first_at(data, ARRAY['partially_refunded', 'refunded'])), 0, (data->'payment'->>'refunded')::bigint, 0
		FROM orders WHERE (data->'payment'->>'refunded')::bigint <> 0
) AS moved GROUP BY hour_ns;

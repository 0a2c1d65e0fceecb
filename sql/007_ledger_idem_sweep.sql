-- 007: the idempotency sweep (workers/transaction/idem.c) as a function whose plan cannot go
-- stale.
--
-- The sweep deletes a bounded batch of expired records by ctid. Its statement was sent as
-- is, so the planner chose from the table's statistics, and under tests/bench/ledger.sh
-- (where the table grows tenfold in a minute, faster than autovacuum's ANALYZE follows)
-- those said the table was tiny: two sequential scans of the whole table per sweep (~6 ms a
-- sweep, ~0.1 ms per posting). The SET clauses below hold only while the function runs, so
-- its one statement always walks idempotency_created from the oldest entry, stops at the
-- LIMIT, and deletes by TID scan.
CREATE FUNCTION ledger.idem_sweep(p_ttl interval, p_limit int) RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $fn$
DECLARE
    n int;
BEGIN
    DELETE FROM ledger.idempotency
     WHERE ctid = ANY (ARRAY(SELECT ctid FROM ledger.idempotency
                              WHERE created_at < now() - p_ttl
                              ORDER BY created_at LIMIT p_limit FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;

REVOKE ALL ON FUNCTION ledger.idem_sweep(interval, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.idem_sweep(interval, int) TO fintwin_transaction;

-- 008: indexes for the retention of every worker schema's event tables (001). Without it
-- both tables grew by a row per event forever. workers/runtime/src/prune.c deletes, oldest
-- first and in bounded batches (it says how often):
--   outbox rows sent more than WK_OUTBOX_KEEP_HOURS ago (default 24), read through
--     outbox_sent. Partial like outbox_unsent: a row enters it once, when the relay marks it.
--   inbox ids received more than WK_INBOX_KEEP_DAYS ago (default 30), read through
--     inbox_received. A copy of an applied event arrives again only while its outbox row is
--     not yet marked (the relay publishes it again once the database is back) or its message
--     is unacked (requeued when the consumer's connection closes), so it is late only after
--     an outage that long.
CREATE FUNCTION pg_temp.ft_event_tables_retention(nsp text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('CREATE INDEX outbox_sent ON %I.outbox (sent_at) WHERE sent_at IS NOT NULL',
                   nsp);
    EXECUTE format('CREATE INDEX inbox_received ON %I.inbox (received_at)', nsp);
END
$fn$;

SELECT pg_temp.ft_event_tables_retention('auth');
SELECT pg_temp.ft_event_tables_retention('ledger');
SELECT pg_temp.ft_event_tables_retention('twin');
SELECT pg_temp.ft_event_tables_retention('risk');
SELECT pg_temp.ft_event_tables_retention('portfolio');
SELECT pg_temp.ft_event_tables_retention('persona');
SELECT pg_temp.ft_event_tables_retention('notify');

-- 001: one schema and one login role per worker (ARCHITECTURE, "Data").
-- Each role can use only its own schema and can change rows, never DDL (migrations own the
-- DDL). Every schema gets the event tables the worker runtime relies on:
--   outbox: rows written in the same transaction as a state change, published to ft.events
--           by the runtime's relay, then stamped sent_at.
--   inbox:  ids of events already applied, so redelivered events have no second effect.
-- Passwords are not set here (secrets never enter the repo): the deploy scripts set them.

REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE FUNCTION pg_temp.ft_worker_schema(worker text, nsp text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    role text := 'fintwin_' || worker;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', role);
    END IF;
    EXECUTE format('CREATE SCHEMA %I', nsp);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', nsp);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', nsp, role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', nsp, role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I', nsp, role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT EXECUTE ON FUNCTIONS TO %I', nsp, role);

    EXECUTE format($sql$
        CREATE TABLE %I.outbox (
            id         uuid PRIMARY KEY,
            type       text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
            user_id    uuid,
            data       jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at    timestamptz
        )$sql$, nsp);
    -- The relay's scan: unsent rows in commit order. Partial, so it stays small.
    EXECUTE format('CREATE INDEX outbox_unsent ON %I.outbox (created_at) WHERE sent_at IS NULL', nsp);
    EXECUTE format($sql$
        CREATE TABLE %I.inbox (
            event_id    uuid PRIMARY KEY,
            received_at timestamptz NOT NULL DEFAULT now()
        )$sql$, nsp);
END
$fn$;

SELECT pg_temp.ft_worker_schema('auth', 'auth');
SELECT pg_temp.ft_worker_schema('transaction', 'ledger');
SELECT pg_temp.ft_worker_schema('twin', 'twin');
SELECT pg_temp.ft_worker_schema('risk', 'risk');
SELECT pg_temp.ft_worker_schema('portfolio', 'portfolio');
SELECT pg_temp.ft_worker_schema('persona', 'persona');
SELECT pg_temp.ft_worker_schema('notification', 'notify');

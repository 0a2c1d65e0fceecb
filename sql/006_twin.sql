-- 006: the digital twin (issue 6) for the twin worker (schema twin).
--
-- The twin simulates on a copy of the user's finances: it reads live balances and recent
-- postings through two read-only views in ledger and writes only its own history here. The
-- role fintwin_twin has no privilege on any ledger table, so no simulation can change a
-- balance or a posting, whatever the worker's code does (tests/integration/test_twin.c
-- checks the ledger is byte-identical after 1,000 simulations).

-- A user's accounts with their live balances (external accounts left out). is_default names
-- the account a simulation uses when the request names none, or names the user's own id.
CREATE VIEW ledger.twin_accounts AS
    SELECT id, owner, name, currency, balance, is_default
      FROM ledger.accounts WHERE owner IS NOT NULL;

-- The lines of users' accounts, for the average monthly outflow (emergency_fund). Read
-- newest first through entries' (account_id, seq DESC) index.
CREATE VIEW ledger.twin_entries AS
    SELECT e.account_id, e.seq, e.amount, e.created_at
      FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
     WHERE a.owner IS NOT NULL;

-- Simple views are auto-updatable with their owner's rights (see 004): only SELECT, and only
-- for the reader; 001's default privileges had given fintwin_transaction DML on them.
REVOKE ALL ON ledger.twin_accounts, ledger.twin_entries FROM PUBLIC, fintwin_transaction;
GRANT USAGE ON SCHEMA ledger TO fintwin_twin;
GRANT SELECT ON ledger.twin_accounts, ledger.twin_entries TO fintwin_twin;

-- One row per simulation, single-step ('scenario') or projection. `item` is the msgpack
-- object the history list shows and `detail` the one the detail route answers (NULL when it
-- is the same as item): the reply as it was computed, so history never re-reads live data.
-- Money columns are minor units of `currency` (for rate_change, amount is the rate in
-- percent * 10^4). idem_key is the client's Idempotency-Key ('k:' prefix) or the RPC request
-- id ('r:'), so a retried or redelivered request answers the stored row instead of saving
-- a second one; request_hash tells a retry from another request under the same key.
CREATE TABLE twin.simulations (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    account_id      uuid, -- NULL when the user had no ledger account yet
    kind            text NOT NULL CHECK (kind IN ('scenario', 'projection')),
    scenario        text CHECK (scenario IN ('withdrawal', 'deposit', 'rate_change',
                                             'recurring_expense', 'investment_growth',
                                             'emergency_fund')),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount          bigint,
    current_balance bigint NOT NULL,
    virtual_balance bigint NOT NULL, -- the scenario's V, or the projection's end balance
    risk_score      int CHECK (risk_score BETWEEN 0 AND 100),
    alert_level     text CHECK (alert_level IN ('low', 'medium', 'high')),
    item            bytea NOT NULL,
    detail          bytea,
    idem_key        text NOT NULL CHECK (char_length(idem_key) BETWEEN 3 AND 300),
    request_hash    bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT simulations_scenario_kind CHECK ((kind = 'scenario') = (scenario IS NOT NULL))
);
-- The 10 most recent of a user (all accounts) and of one account; ties broken by id so a
-- page is stable.
CREATE INDEX simulations_user_recent ON twin.simulations (user_id, created_at DESC, id DESC);
CREATE INDEX simulations_account_recent
    ON twin.simulations (user_id, account_id, created_at DESC, id DESC);
-- At most one simulation per key and user: concurrent duplicates agree on one row.
CREATE UNIQUE INDEX simulations_idem ON twin.simulations (user_id, idem_key);
-- History is never rewritten: the worker inserts and deletes rows, nothing else.
REVOKE UPDATE, TRUNCATE ON twin.simulations FROM fintwin_twin;
-- What-if history is not money: the twin's commits do not wait for the WAL flush
-- (synchronous_commit = off for its role only). A crash of PostgreSQL can lose the last
-- moments of simulations (at most 3 x wal_writer_delay), each row together with its event,
-- never half of one; the ledger, written by other roles, stays fully durable. Measured in
-- tests/bench/twin.sh: one twin worker waits on the flush of every commit otherwise.
ALTER ROLE fintwin_twin SET synchronous_commit = off;

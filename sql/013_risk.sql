-- 013: risk scores (issue 22) for the risk worker (schema risk), and its read-only window into
-- the ledger.
--
-- The risk worker scores every posting from ledger data as it happens (txn.posted) and on
-- request (POST /api/risk/analyze). It reads balances and postings through two views and owns
-- only the tables below; the role fintwin_risk has no privilege on any ledger table.

-- Users' accounts with their live balances (external accounts left out).
CREATE VIEW ledger.risk_accounts AS
    SELECT id, owner, currency, balance, is_default
      FROM ledger.accounts WHERE owner IS NOT NULL;

-- Users' postings, one row per line of a user account: the signed amount, the balance after
-- it, when, and the other side when that is another user's account (NULL for a deposit or a
-- withdrawal, whose other side is the external account). Read per user newest first, or after
-- a seq, through entries' (account_id, seq DESC) index.
CREATE VIEW ledger.risk_postings AS
    SELECT e.account_id, a.owner, e.seq, e.transfer_id, t.kind, e.amount, e.balance_after,
           e.created_at, a.currency,
           CASE WHEN c.owner IS NULL THEN NULL ELSE c.id END AS counterparty
      FROM ledger.entries e
      JOIN ledger.accounts a ON a.id = e.account_id AND a.owner IS NOT NULL
      JOIN ledger.transfers t ON t.id = e.transfer_id
      JOIN ledger.accounts c
        ON c.id = CASE WHEN e.amount < 0 THEN t.to_account ELSE t.from_account END;

-- Simple views are auto-updatable with their owner's rights (see 004): only SELECT, and only
-- for the reader; 001's default privileges had given fintwin_transaction DML on them.
REVOKE ALL ON ledger.risk_accounts, ledger.risk_postings FROM PUBLIC, fintwin_transaction;
GRANT USAGE ON SCHEMA ledger TO fintwin_risk;
GRANT SELECT ON ledger.risk_accounts, ledger.risk_postings TO fintwin_risk;

-- One row per scored posting (a user's side of it), never rewritten: what was said about that
-- posting when it happened. UNIQUE (account_id, transfer_id) makes a redelivered or replayed
-- txn.posted score once, whatever the inbox did. flags: [{code, message, points}]; anomaly:
-- {method, score, threshold, flagged}. Money in minor units of `currency`.
CREATE TABLE risk.assessments (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL,
    account_id     uuid NOT NULL,
    transfer_id    uuid NOT NULL,
    seq            bigint NOT NULL, -- the ledger line's seq: orders a user's postings
    kind           text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
    amount         bigint NOT NULL CHECK (amount <> 0), -- signed: < 0 left the account
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance_after  bigint NOT NULL,
    score          int NOT NULL CHECK (score BETWEEN 0 AND 100),
    alert_level    text NOT NULL CHECK (alert_level IN ('low', 'medium', 'high')),
    flags          jsonb NOT NULL,
    anomaly        jsonb NOT NULL,
    alerted        boolean NOT NULL, -- whether this posting raised risk.alert
    posted_at      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assessments_one_per_posting UNIQUE (account_id, transfer_id)
);
-- History, newest first, per user and per account (keyset on (seq, id)).
CREATE INDEX assessments_user_recent ON risk.assessments (user_id, seq DESC, id DESC);
CREATE INDEX assessments_account_recent ON risk.assessments (account_id, seq DESC, id DESC);
REVOKE UPDATE, TRUNCATE ON risk.assessments FROM fintwin_risk;

-- The latest score of each account: what GET /api/risk/score answers. Written by an atomic
-- upsert that never goes back in time (a late event for an older posting, seq below the
-- row's, leaves it alone); a re-run (analyze) rescores at the account's latest seq.
-- body: the reply's msgpack map {id, account_id, score, ...} as it was computed.
CREATE TABLE risk.scores (
    account_id  uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    seq         bigint NOT NULL, -- the ledger seq the score reflects (0: no posting yet)
    score       int NOT NULL CHECK (score BETWEEN 0 AND 100),
    alert_level text NOT NULL CHECK (alert_level IN ('low', 'medium', 'high')),
    body        bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scores_user ON risk.scores (user_id, score DESC);
REVOKE TRUNCATE ON risk.scores FROM fintwin_risk;

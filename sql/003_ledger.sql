-- 003: the double-entry ledger (issue 4) for the transaction worker (schema ledger).
-- The role fintwin_transaction gets DML on these tables through 001's default privileges;
-- the posting history (transfers, entries) is append-only for it: UPDATE and DELETE are
-- revoked below, so even a buggy worker cannot rewrite what happened.
--
-- Money is bigint minor units of the row's ISO 4217 currency (the worker knows exponents).
-- Lock order (ARCHITECTURE, "Data"): a posting changes balances with conditional UPDATEs in
-- the order (owner IS NULL, id): user accounts by id first, then the per-currency external
-- account. One fixed total order means two postings can never wait on each other in a cycle,
-- and the hot external row is held for the shortest possible time.

CREATE TABLE ledger.accounts (
    id         uuid PRIMARY KEY,
    owner      uuid, -- NULL only for the per-currency external account
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    kind       text NOT NULL CHECK (kind IN ('checking', 'savings', 'wallet', 'external')),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The external account goes negative as money enters the system; no user account ever
    -- does (the last line of defence behind the worker's conditional UPDATE).
    balance    bigint NOT NULL DEFAULT 0,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_balance_nonnegative CHECK (owner IS NULL OR balance >= 0),
    CONSTRAINT accounts_external_kind CHECK ((owner IS NULL) = (kind = 'external')),
    CONSTRAINT accounts_external_not_default CHECK (owner IS NOT NULL OR NOT is_default)
);
-- Exactly one default account per user, one external account per currency: opened lazily
-- with INSERT ... ON CONFLICT DO NOTHING, so concurrent first uses agree on one row.
CREATE UNIQUE INDEX accounts_one_default ON ledger.accounts (owner) WHERE is_default;
CREATE UNIQUE INDEX accounts_one_external ON ledger.accounts (currency) WHERE owner IS NULL;
-- A user's accounts (GET /api/accounts, ownership checks, recipient lookup by user id).
CREATE INDEX accounts_owner ON ledger.accounts (owner, currency) WHERE owner IS NOT NULL;

-- One row per posting. seq is a total order (pagination never reorders).
CREATE TABLE ledger.transfers (
    id           uuid PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
    amount       bigint NOT NULL CHECK (amount > 0),
    currency     char(3) NOT NULL,
    from_account uuid NOT NULL REFERENCES ledger.accounts (id),
    to_account   uuid NOT NULL REFERENCES ledger.accounts (id),
    note         text CHECK (char_length(note) <= 200),
    initiator    uuid NOT NULL, -- the user whose request posted it
    idem_key     text,          -- the Idempotency-Key it was posted under, if any
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfers_distinct_accounts CHECK (from_account <> to_account)
);

-- The double-entry lines: one per account a posting touched; the lines of one transfer sum
-- to zero (checked at commit by the constraint triggers below). balance_after is the
-- account's balance right after this line.
CREATE TABLE ledger.entries (
    seq           bigserial PRIMARY KEY,
    transfer_id   uuid NOT NULL REFERENCES ledger.transfers (id),
    account_id    uuid NOT NULL REFERENCES ledger.accounts (id),
    amount        bigint NOT NULL CHECK (amount <> 0),
    balance_after bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entries_one_line_per_account UNIQUE (transfer_id, account_id)
);
-- History per account and across a user's accounts, newest first.
CREATE INDEX entries_account_seq ON ledger.entries (account_id, seq DESC);

-- At commit: the transfer has exactly two lines, they sum to zero, the credit equals the
-- transfer's amount, and every line is in the transfer's currency. Fired for the transfer
-- row and for every entry row, so neither a transfer without lines nor a stray line added
-- to an old transfer can commit.
CREATE FUNCTION ledger.check_transfer_balanced() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    tid uuid;
    n int;
    total numeric;
    credit bigint;
    foreign_lines int;
    t ledger.transfers%ROWTYPE;
BEGIN
    IF TG_TABLE_NAME = 'entries' THEN
        tid := NEW.transfer_id;
    ELSE
        tid := NEW.id;
    END IF;
    SELECT * INTO t FROM ledger.transfers WHERE id = tid;
    SELECT count(*), coalesce(sum(e.amount::numeric), 0), max(e.amount),
           count(*) FILTER (WHERE a.currency <> t.currency)
      INTO n, total, credit, foreign_lines
      FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
     WHERE e.transfer_id = tid;
    IF n <> 2 OR total <> 0 OR credit <> t.amount OR foreign_lines <> 0 THEN
        RAISE EXCEPTION 'ledger: transfer % is unbalanced (% lines, sum %)', tid, n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER transfers_balanced AFTER INSERT ON ledger.transfers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_transfer_balanced();
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON ledger.entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_transfer_balanced();

-- Idempotency records, one per (user, key). key is namespaced by the worker: 'k:' + the
-- client's Idempotency-Key, or 'r:' + the RPC request id when the client sent none (so a
-- request redelivered after a crash between commit and ack replays instead of posting
-- twice). The row is inserted in_flight in the same transaction as the posting and marked
-- done with the reply before that transaction commits: a crash before commit leaves
-- nothing. request_hash = SHA-256 of the method and the canonical body.
-- Kept 7 days: expired rows are ignored (and reused) by the worker, which also deletes a
-- bounded batch of them now and then.
CREATE TABLE ledger.idempotency (
    user_id      uuid NOT NULL,
    key          text NOT NULL CHECK (char_length(key) BETWEEN 3 AND 300),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    state        text NOT NULL CHECK (state IN ('in_flight', 'done')),
    status       int CHECK (status BETWEEN 100 AND 599),
    body         bytea,  -- the msgpack reply body
    headers      jsonb,  -- extra reply headers (none stored today)
    transfer_id  uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_done_has_reply CHECK (state <> 'done' OR (status IS NOT NULL
                                                                    AND body IS NOT NULL))
);
CREATE INDEX idempotency_created ON ledger.idempotency (created_at);

REVOKE UPDATE, DELETE, TRUNCATE ON ledger.transfers, ledger.entries FROM fintwin_transaction;
REVOKE DELETE, TRUNCATE ON ledger.accounts FROM fintwin_transaction;

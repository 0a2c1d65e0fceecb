-- 005: a posting in two database calls, and postings written only by the database's code.
--
-- Before this, txn.create sent about a dozen statements per posting (resolve each account,
-- two conditional UPDATEs, the transfer, its entries, one outbox row per user, the
-- idempotency reply), each a round trip and a protocol exchange the server pays CPU for;
-- the benchmark of issue 4 measured about 1.7 ms of PostgreSQL CPU per transfer against
-- 0.55 ms per pgbench transaction. Now the worker makes two calls inside its transaction
-- (after claiming the idempotency key, see 003):
--   1. ledger.posting_accounts: resolves both accounts, opening a default or external one
--      when missing, and locks the two rows in the fixed order (owner IS NULL, id) that 003
--      describes, returning their balances and the posting's timestamp;
--   2. the worker checks the amount against those balances and builds the reply and the
--      events, then ledger.post_write moves the balances, writes the transfer, its two
--      entries (-amount, +amount: balanced by construction), the txn.posted outbox rows
--      and the stored idempotency reply.
--
-- The worker's role can no longer INSERT transfers or entries, nor UPDATE accounts: the
-- two SECURITY DEFINER functions below are its only way to change a balance or the
-- history, so every balance change has its entry and every entry pair sums to zero. The
-- deferred triggers of 003 still check every posting at commit, now with index lookups
-- only (the old check joined accounts and cost 0.43 ms of the 1.7 ms per transfer that
-- pg_stat_statements showed in tests/bench/ledger.sh with LEDGER_BENCH_PGSS=1).

-- At commit: the transfer has exactly two lines, -amount on from_account and +amount on
-- to_account (so they sum to zero and the credit is the amount), and both accounts are
-- in the transfer's currency. An entry whose transfer was inserted by this same
-- transaction is left to that transfer's own trigger, which runs at the same commit and
-- sees every line; any other entry (a stray line added to an old transfer) is checked in
-- full and fails.
CREATE OR REPLACE FUNCTION ledger.check_transfer_balanced() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t ledger.transfers%ROWTYPE;
    tid uuid;
    mine boolean;
    n int;
    ok boolean;
    same_currency int;
BEGIN
    IF TG_TABLE_NAME = 'entries' THEN
        SELECT x.xmin = pg_current_xact_id()::xid INTO mine
          FROM ledger.transfers x WHERE x.id = NEW.transfer_id;
        IF mine THEN
            RETURN NULL;
        END IF;
        tid := NEW.transfer_id;
    ELSE
        tid := NEW.id;
    END IF;
    SELECT * INTO t FROM ledger.transfers WHERE id = tid;
    SELECT count(*),
           bool_and(CASE WHEN e.account_id = t.from_account THEN e.amount = -t.amount
                         WHEN e.account_id = t.to_account THEN e.amount = t.amount
                         ELSE false END)
      INTO n, ok
      FROM ledger.entries e WHERE e.transfer_id = t.id;
    SELECT count(*) INTO same_currency
      FROM ledger.accounts a
     WHERE a.id IN (t.from_account, t.to_account) AND a.currency = t.currency;
    IF t.id IS NULL OR n <> 2 OR NOT ok OR same_currency <> 2 THEN
        RAISE EXCEPTION 'ledger: transfer % is unbalanced (% lines)', t.id, n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$fn$;

-- The user's default account, opened in p_currency when missing (concurrent first uses
-- agree on one row through accounts_one_default: a second INSERT waits for the first and
-- does nothing, and the following SELECT, a new snapshot under READ COMMITTED, sees it).
CREATE FUNCTION ledger.default_account(p_user uuid, p_currency text)
RETURNS ledger.accounts
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    a ledger.accounts;
BEGIN
    SELECT * INTO a FROM ledger.accounts WHERE owner = p_user AND is_default;
    IF NOT FOUND THEN
        INSERT INTO ledger.accounts (id, owner, name, kind, currency, is_default)
        VALUES (gen_random_uuid(), p_user, 'Main account', 'checking', p_currency, true)
        ON CONFLICT DO NOTHING;
        SELECT * INTO STRICT a FROM ledger.accounts WHERE owner = p_user AND is_default;
    END IF;
    RETURN a;
END
$fn$;

-- The external account of p_currency, opened when missing (same pattern).
CREATE FUNCTION ledger.external_account(p_currency text)
RETURNS ledger.accounts
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    a ledger.accounts;
BEGIN
    SELECT * INTO a FROM ledger.accounts WHERE owner IS NULL AND currency = p_currency;
    IF NOT FOUND THEN
        INSERT INTO ledger.accounts (id, owner, name, kind, currency, is_default)
        VALUES (gen_random_uuid(), NULL, 'External', 'external', p_currency, false)
        ON CONFLICT DO NOTHING;
        SELECT * INTO STRICT a FROM ledger.accounts WHERE owner IS NULL AND currency = p_currency;
    END IF;
    RETURN a;
END
$fn$;

-- The two accounts of a posting by p_user, locked, with their balances.
--   p_account: the caller's account the request names (NULL or p_user: their default
--              account, opened in p_default_currency when missing); owned by p_user or
--              problem = 'account_not_found'.
--   p_kind:    'transfer': the destination is p_to, any user's account id, or else a user id
--              meaning that user's account in the source's currency (the default one first,
--              then the oldest): 'recipient_not_found', 'currency_mismatch', 'same_account';
--              'deposit' / 'withdrawal': the destination is the currency's external account.
-- On a problem nothing is locked and the other columns are NULL. created_at is now() (the
-- transaction's start, which is also the transfer row's created_at) as RFC 3339 UTC.
CREATE FUNCTION ledger.posting_accounts(
    p_user uuid, p_account uuid, p_kind text, p_to uuid, p_default_currency text,
    OUT problem text, OUT src_id uuid, OUT src_currency text, OUT src_balance bigint,
    OUT dst_id uuid, OUT dst_owner uuid, OUT dst_balance bigint, OUT created_at text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    s ledger.accounts;
    d ledger.accounts;
    r record;
BEGIN
    IF p_account IS NULL OR p_account = p_user THEN
        s := ledger.default_account(p_user, p_default_currency);
    ELSE
        SELECT * INTO s FROM ledger.accounts WHERE id = p_account AND owner = p_user;
        IF NOT FOUND THEN
            problem := 'account_not_found';
            RETURN;
        END IF;
    END IF;
    IF p_kind = 'transfer' THEN
        SELECT * INTO d FROM ledger.accounts WHERE id = p_to AND owner IS NOT NULL;
        IF FOUND THEN
            IF d.currency <> s.currency THEN
                problem := 'currency_mismatch';
                RETURN;
            END IF;
        ELSE
            SELECT * INTO d FROM ledger.accounts WHERE owner = p_to AND currency = s.currency
             ORDER BY is_default DESC, created_at, id LIMIT 1;
            IF NOT FOUND THEN
                problem := 'recipient_not_found';
                RETURN;
            END IF;
        END IF;
        IF d.id = s.id THEN
            problem := 'same_account';
            RETURN;
        END IF;
    ELSIF p_kind IN ('deposit', 'withdrawal') THEN
        d := ledger.external_account(s.currency);
    ELSE
        RAISE EXCEPTION 'ledger.posting_accounts: unknown kind %', p_kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The fixed lock order: rows are locked as the sort hands them over, and FOR UPDATE
    -- returns each row's latest version once it is locked.
    FOR r IN SELECT a.id, a.balance FROM ledger.accounts a WHERE a.id IN (s.id, d.id)
              ORDER BY a.owner IS NULL, a.id FOR UPDATE LOOP
        IF r.id = s.id THEN
            src_balance := r.balance;
        ELSE
            dst_balance := r.balance;
        END IF;
    END LOOP;
    src_id := s.id;
    src_currency := s.currency;
    dst_id := d.id;
    dst_owner := d.owner;
    created_at := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
END
$fn$;

-- Writes a posting whose accounts ledger.posting_accounts locked in this transaction:
-- p_from loses p_amount and ends at p_from_after, p_to gains it and ends at p_to_after.
-- Each balance moves only from exactly the value the caller computed from (so the entries'
-- balance_after always tell the truth); a user balance below zero still fails the CHECK.
-- p_events: a JSON array of txn.posted data objects, one per affected user (user_id in
-- each). The idempotency record (p_idem_user, p_idem_key) must be in_flight; it is marked
-- done with status 201 and p_body.
CREATE FUNCTION ledger.post_write(
    p_transfer uuid, p_kind text, p_amount bigint, p_currency text, p_from uuid, p_to uuid,
    p_from_after bigint, p_to_after bigint, p_note text, p_initiator uuid, p_client_key text,
    p_events jsonb, p_idem_user uuid, p_idem_key text, p_body bytea)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'ledger.post_write: amount must be positive'
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger.accounts SET balance = p_from_after
     WHERE id = p_from AND balance = p_from_after + p_amount;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger.post_write: account % is not at the expected balance', p_from
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger.accounts SET balance = p_to_after
     WHERE id = p_to AND balance = p_to_after - p_amount;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger.post_write: account % is not at the expected balance', p_to
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ledger.transfers (id, kind, amount, currency, from_account, to_account, note,
                                  initiator, idem_key)
    VALUES (p_transfer, p_kind, p_amount, p_currency, p_from, p_to, p_note, p_initiator,
            p_client_key);
    INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after)
    VALUES (p_transfer, p_from, -p_amount, p_from_after),
           (p_transfer, p_to, p_amount, p_to_after);
    INSERT INTO ledger.outbox (id, type, user_id, data)
    SELECT gen_random_uuid(), 'txn.posted', (e ->> 'user_id')::uuid, e
      FROM jsonb_array_elements(p_events) AS e;
    UPDATE ledger.idempotency SET state = 'done', status = 201, body = p_body,
                                  transfer_id = p_transfer
     WHERE user_id = p_idem_user AND key = p_idem_key AND state = 'in_flight';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger.post_write: idempotency record is not in flight'
            USING ERRCODE = 'check_violation';
    END IF;
END
$fn$;

REVOKE ALL ON FUNCTION ledger.posting_accounts(uuid, uuid, text, uuid, text),
    ledger.post_write(uuid, text, bigint, text, uuid, uuid, bigint, bigint, text, uuid, text,
                      jsonb, uuid, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.posting_accounts(uuid, uuid, text, uuid, text),
    ledger.post_write(uuid, text, bigint, text, uuid, uuid, bigint, bigint, text, uuid, text,
                      jsonb, uuid, text, bytea) TO fintwin_transaction;
REVOKE INSERT ON ledger.transfers, ledger.entries FROM fintwin_transaction;
REVOKE UPDATE ON ledger.accounts FROM fintwin_transaction;

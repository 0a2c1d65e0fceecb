-- 012: postings in batches: one database transaction and two calls for many postings.
--
-- Before, every txn.create was its own transaction: claim the key, ledger.posting_accounts,
-- ledger.post_write, COMMIT. tests/bench/ledger.sh showed the transaction worker bound by
-- its serial commits (each waits for its WAL flush) with the machine far from busy. Now the
-- worker takes every txn.create the broker has already delivered (workers/runtime: a batch
-- method) and posts them together (workers/transaction/post.c):
--   1. ledger.batch_begin claims every item's idempotency key, resolves every item's two
--      accounts, then locks all of the batch's accounts in the one fixed order of 003
--      (owner IS NULL, id), so batches on several workers never wait on each other in a
--      cycle, and returns each item's claim, accounts and their balances before the batch;
--   2. the worker decides each item in arrival order against running balances (an
--      insufficient-funds item fails alone, the next item sees the balances the earlier ones
--      left), builds each reply and the events;
--   3. ledger.batch_write writes every posting, its entries, the events and every stored
--      reply set-based, after checking that each entry's balance_after follows from the
--      balance before the batch and the entries before it, and that no user balance ever
--      goes below zero on the way.
-- A failure of batch_write (a constraint) rolls the whole batch back; the worker then posts
-- each item alone, so one bad item fails alone. 005's posting_accounts and post_write are
-- replaced: a single txn.create is a batch of one.

-- One idempotency claim (003's rules; the worker's C code did this in up to three
-- statements): 'new' (claimed in_flight: run the request), 'replay' (status, body, error_code
-- of the stored reply), 'mismatch' (same key, another request), 'in_flight' (the record is
-- held and not done). The INSERT waits for a concurrent holder of the key to commit or roll
-- back. A record older than p_ttl is expired and reused.
CREATE FUNCTION ledger.idem_claim(p_user uuid, p_key text, p_hash bytea, p_ttl interval,
                                  OUT claim text, OUT status int, OUT body bytea,
                                  OUT error_code text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r ledger.idempotency;
BEGIN
    INSERT INTO ledger.idempotency (user_id, key, request_hash, state)
    VALUES (p_user, p_key, p_hash, 'in_flight') ON CONFLICT DO NOTHING;
    IF FOUND THEN
        claim := 'new';
        RETURN;
    END IF;
    -- Taken, and its holder has committed. FOR UPDATE keeps a sweep from deleting it under
    -- us and serialises the expired reuse below.
    SELECT * INTO r FROM ledger.idempotency WHERE user_id = p_user AND key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        claim := 'in_flight'; -- swept between the INSERT and the SELECT: the client retries
        RETURN;
    END IF;
    IF r.created_at < now() - p_ttl THEN
        UPDATE ledger.idempotency SET request_hash = p_hash, state = 'in_flight', status = NULL,
               body = NULL, headers = NULL, transfer_id = NULL, error_code = NULL,
               created_at = now()
         WHERE user_id = p_user AND key = p_key;
        claim := 'new';
        RETURN;
    END IF;
    IF r.request_hash <> p_hash THEN
        claim := 'mismatch';
    ELSIF r.state <> 'done' THEN
        claim := 'in_flight';
    ELSE
        claim := 'replay';
        status := r.status;
        body := r.body;
        error_code := r.error_code;
    END IF;
END
$fn$;

-- 010's ledger.posting_accounts without the locks: the two accounts of a posting by p_user
-- (opening a default or external account when missing), or a problem. Same rules, same
-- problems: 'account_not_found', 'recipient_not_found', 'currency_mismatch' (both currencies
-- named), 'same_account'.
CREATE FUNCTION ledger.posting_resolve(
    p_user uuid, p_account uuid, p_kind text, p_to uuid, p_default_currency text,
    OUT problem text, OUT src_id uuid, OUT src_currency text, OUT dst_id uuid,
    OUT dst_owner uuid, OUT dst_currency text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    s ledger.accounts;
    d ledger.accounts;
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
        IF NOT FOUND THEN
            -- The hot path (a user id whose account in this currency is in use): one lookup.
            SELECT * INTO d FROM ledger.accounts WHERE owner = p_to AND currency = s.currency
             ORDER BY is_default DESC, created_at, id LIMIT 1;
            IF NOT FOUND OR (d.is_default AND d.balance = 0) THEN
                -- No account yet (first receipt), or an empty default account that follows
                -- the profile's currency: let ledger.default_account settle it, then choose.
                IF EXISTS (SELECT 1 FROM auth.currency_preferences WHERE user_id = p_to) THEN
                    PERFORM ledger.default_account(p_to, p_default_currency);
                END IF;
                SELECT * INTO d FROM ledger.accounts WHERE owner = p_to
                 ORDER BY currency = s.currency DESC, is_default DESC, created_at, id LIMIT 1;
                IF NOT FOUND THEN
                    problem := 'recipient_not_found';
                    RETURN;
                END IF;
            END IF;
        END IF;
        IF d.currency <> s.currency THEN
            problem := 'currency_mismatch';
            src_currency := s.currency;
            dst_currency := d.currency;
            RETURN;
        END IF;
        IF d.id = s.id THEN
            problem := 'same_account';
            RETURN;
        END IF;
    ELSIF p_kind IN ('deposit', 'withdrawal') THEN
        d := ledger.external_account(s.currency);
    ELSE
        RAISE EXCEPTION 'ledger.posting_resolve: unknown kind %', p_kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    src_id := s.id;
    src_currency := s.currency;
    dst_id := d.id;
    dst_owner := d.owner;
    dst_currency := d.currency;
END
$fn$;

-- Step 1 of a batch. Item i (1-based, the arrays' order) is p_users[i]'s request: key
-- p_keys[i] with hash p_hashes[i]; p_problems[i], when not NULL, is a refusal the worker
-- decided before looking anything up (an id that is not a UUID): the key is claimed and the
-- problem returned. Keys are claimed in (user, key) order, the accounts then locked in 003's
-- order, so two batches never wait on each other in a cycle. One row per item, in item order:
--   claim 'new' with problem, or with the accounts (src_owner is p_users[i]) and their
--   balances as they are before this batch writes anything; or a claim's other outcome with
--   the stored reply for 'replay'. created_at is the transaction's now() (every transfer's
--   created_at) as RFC 3339 UTC.
-- The worker must not send the same (user, key) twice in one call.
CREATE FUNCTION ledger.batch_begin(
    p_users uuid[], p_keys text[], p_hashes bytea[], p_problems text[], p_accounts uuid[],
    p_kinds text[], p_tos uuid[], p_default_currency text, p_ttl interval)
RETURNS TABLE (ord int, claim text, status int, body bytea, error_code text, problem text,
               src_id uuid, src_currency text, src_balance bigint, dst_id uuid,
               dst_owner uuid, dst_currency text, dst_balance bigint, created_at text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off
SET enable_mergejoin = off AS $fn$
DECLARE
    n int := cardinality(p_users);
    c record;
    res record;
    claims text[] := array_fill(NULL::text, ARRAY[n]);
    statuses int[] := array_fill(NULL::int, ARRAY[n]);
    bodies bytea[] := array_fill(NULL::bytea, ARRAY[n]);
    codes text[] := array_fill(NULL::text, ARRAY[n]);
    problems text[] := array_fill(NULL::text, ARRAY[n]);
    srcs uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    src_curs text[] := array_fill(NULL::text, ARRAY[n]);
    dsts uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    dst_owners uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    dst_curs text[] := array_fill(NULL::text, ARRAY[n]);
    ids uuid[] := '{}';
    fresh int[];
    lock_ids uuid[];
    lock_bals bigint[];
    ts text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
    IF n IS NULL OR n = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_keys) <> n OR cardinality(p_hashes) <> n OR cardinality(p_problems) <> n
       OR cardinality(p_accounts) <> n OR cardinality(p_kinds) <> n
       OR cardinality(p_tos) <> n THEN
        RAISE EXCEPTION 'ledger.batch_begin: arrays of different lengths'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every fresh key in one statement (in (user, key) order: a key a concurrent batch holds
    -- is waited for in that order); the keys already there go through idem_claim one by one.
    WITH claimed AS (
        INSERT INTO ledger.idempotency (user_id, key, request_hash, state)
        SELECT u.usr, u.k, u.h, 'in_flight'
          FROM unnest(p_users, p_keys, p_hashes) AS u(usr, k, h)
         ORDER BY u.usr, u.k
        ON CONFLICT DO NOTHING
        RETURNING user_id, key)
    SELECT array_agg(u.i) INTO fresh
      FROM unnest(p_users, p_keys) WITH ORDINALITY AS u(usr, k, i)
      JOIN claimed cl ON cl.user_id = u.usr AND cl.key = u.k;
    FOR c IN SELECT u.i FROM unnest(p_users, p_keys) WITH ORDINALITY AS u(usr, k, i)
              ORDER BY u.usr, u.k LOOP
        IF c.i = ANY (fresh) THEN
            claims[c.i] := 'new';
            CONTINUE;
        END IF;
        res := ledger.idem_claim(p_users[c.i], p_keys[c.i], p_hashes[c.i], p_ttl);
        claims[c.i] := res.claim;
        statuses[c.i] := res.status;
        bodies[c.i] := res.body;
        codes[c.i] := res.error_code;
    END LOOP;
    -- The accounts of the common postings in one statement: the caller's default account in
    -- use (balance <> 0) or an own account by id, and the currency's external account, an
    -- account by id, or the recipient user's account in this currency when it is in use.
    -- Whatever this does not settle (an empty default account, a first receipt, a problem)
    -- goes through posting_resolve, whose rules these are.
    FOR c IN
        SELECT u.i, s.id AS s_id, s.currency AS s_cur, d.id AS d_id, d.owner AS d_owner
          FROM unnest(p_users, p_accounts, p_kinds, p_tos, p_problems, claims)
               WITH ORDINALITY AS u(usr, acct, kind, dst, problem, claim, i)
         CROSS JOIN LATERAL (
               SELECT a.id, a.currency FROM ledger.accounts a
                WHERE (u.acct IS NULL OR u.acct = u.usr) AND a.owner = u.usr AND a.is_default
                  AND a.balance <> 0
               UNION ALL
               SELECT a.id, a.currency FROM ledger.accounts a
                WHERE u.acct IS NOT NULL AND u.acct <> u.usr AND a.id = u.acct
                  AND a.owner = u.usr) s
         CROSS JOIN LATERAL (
               SELECT x.* FROM (
                   SELECT e.id, e.owner, e.currency, 1 AS pri, false AS unused
                     FROM ledger.accounts e
                    WHERE u.kind IN ('deposit', 'withdrawal') AND e.owner IS NULL
                      AND e.currency = s.currency
                   UNION ALL
                   SELECT a.id, a.owner, a.currency, 2, false FROM ledger.accounts a
                    WHERE u.kind = 'transfer' AND a.id = u.dst AND a.owner IS NOT NULL
                   UNION ALL
                   (SELECT a.id, a.owner, a.currency, 3, a.is_default AND a.balance = 0
                      FROM ledger.accounts a
                     WHERE u.kind = 'transfer' AND a.owner = u.dst AND a.currency = s.currency
                     ORDER BY a.is_default DESC, a.created_at, a.id LIMIT 1)) x
                ORDER BY x.pri LIMIT 1) d
         WHERE u.claim = 'new' AND u.problem IS NULL AND NOT d.unused
           AND d.currency = s.currency AND d.id <> s.id LOOP
        srcs[c.i] := c.s_id;
        src_curs[c.i] := c.s_cur;
        dsts[c.i] := c.d_id;
        dst_owners[c.i] := c.d_owner;
        dst_curs[c.i] := c.s_cur;
        ids := ids || c.s_id || c.d_id;
    END LOOP;
    FOR i IN 1 .. n LOOP
        IF claims[i] <> 'new' OR srcs[i] IS NOT NULL THEN
            CONTINUE;
        END IF;
        IF p_problems[i] IS NOT NULL THEN
            problems[i] := p_problems[i];
            CONTINUE;
        END IF;
        res := ledger.posting_resolve(p_users[i], p_accounts[i], p_kinds[i], p_tos[i],
                                      p_default_currency);
        problems[i] := res.problem;
        srcs[i] := res.src_id;
        src_curs[i] := res.src_currency;
        dsts[i] := res.dst_id;
        dst_owners[i] := res.dst_owner;
        dst_curs[i] := res.dst_currency;
        IF res.problem IS NULL THEN
            ids := ids || res.src_id || res.dst_id;
        END IF;
    END LOOP;
    -- The fixed lock order: rows are locked as the sort hands them over, and FOR UPDATE
    -- returns each row's latest version once it is locked.
    SELECT array_agg(l.id), array_agg(l.balance) INTO lock_ids, lock_bals
      FROM (SELECT a.id, a.balance FROM ledger.accounts a WHERE a.id = ANY (ids)
             ORDER BY a.owner IS NULL, a.id FOR UPDATE) l;
    FOR i IN 1 .. n LOOP
        ord := i;
        claim := claims[i];
        status := statuses[i];
        body := bodies[i];
        error_code := codes[i];
        problem := problems[i];
        src_id := srcs[i];
        src_currency := src_curs[i];
        dst_id := dsts[i];
        dst_owner := dst_owners[i];
        dst_currency := dst_curs[i];
        src_balance := NULL;
        dst_balance := NULL;
        IF claims[i] = 'new' AND problems[i] IS NULL THEN
            src_balance := lock_bals[array_position(lock_ids, srcs[i])];
            dst_balance := lock_bals[array_position(lock_ids, dsts[i])];
        END IF;
        created_at := ts;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- Step 3 of a batch: writes the postings, in order, whose accounts batch_begin locked in
-- this transaction, and settles the claimed keys.
--   Posting j: p_transfers[j] moves p_amounts[j] (> 0) of p_currencies[j] from p_froms[j]
--   (ending at p_from_afters[j]) to p_tos[j] (ending at p_to_afters[j]); p_to_addressed[j]
--   is what the sender addressed (kept when it is not the account itself, as in 010).
--   Every balance_after must equal the balance before the batch plus that account's entries
--   up to and including this one, and no user account may go below zero on the way: else
--   nothing is written (check_violation).
--   p_events: a JSON array of txn.posted data objects (user_id in each), to the outbox.
--   Key k: (p_idem_users[k], p_idem_keys[k]) must be in_flight; it is marked done with
--   p_statuses[k] and p_bodies[k] (msgpack, or the refusal's message when p_error_codes[k]
--   is not NULL) and p_idem_transfers[k].
-- The worker calls it with named arguments (p_transfers => $1, ...).
-- Both batch functions join the batch's arrays with tables that grow by thousands of rows a
-- minute, whose statistics are always stale: the planner chose to hash the whole idempotency
-- table for the settling UPDATE (0.16 of 0.35 ms per posting in batch_write, measured with
-- pg_stat_statements under tests/bench/ledger.sh). Every statement in them is a handful of
-- key lookups, so their plans are pinned to index lookups in nested loops.
CREATE FUNCTION ledger.batch_write(
    p_transfers uuid[], p_kinds text[], p_amounts bigint[], p_currencies text[],
    p_froms uuid[], p_tos uuid[], p_from_afters bigint[], p_to_afters bigint[],
    p_notes text[], p_initiators uuid[], p_client_keys text[], p_to_addressed uuid[],
    p_events jsonb, p_idem_users uuid[], p_idem_keys text[], p_statuses int[],
    p_bodies bytea[], p_error_codes text[], p_idem_transfers uuid[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off
SET enable_mergejoin = off AS $fn$
DECLARE
    bad int;
    settled int;
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_amounts) AS a WHERE a IS NULL OR a <= 0) THEN
        RAISE EXCEPTION 'ledger.batch_write: amounts must be positive'
            USING ERRCODE = 'check_violation';
    END IF;
    -- Already held when batch_begin ran in this transaction (then a no-op); taken in the
    -- fixed order otherwise, so the check below reads balances nobody else can move.
    PERFORM 1 FROM ledger.accounts a WHERE a.id = ANY (p_froms || p_tos)
      ORDER BY a.owner IS NULL, a.id FOR UPDATE;
    WITH t AS (
        SELECT * FROM unnest(p_froms, p_tos, p_amounts, p_from_afters, p_to_afters)
               WITH ORDINALITY AS t(src, dst, amount, src_after, dst_after, j)),
    legs AS (
        SELECT j, 0 AS side, src AS acct, -amount AS delta, src_after AS after FROM t
        UNION ALL
        SELECT j, 1, dst, amount, dst_after FROM t)
    SELECT count(*) INTO bad
      FROM (SELECT l.after, a.owner,
                   a.balance + sum(l.delta) OVER (PARTITION BY l.acct ORDER BY l.j, l.side)
                       AS expected
              FROM legs l JOIN ledger.accounts a ON a.id = l.acct) x
     WHERE x.after IS DISTINCT FROM x.expected OR (x.owner IS NOT NULL AND x.after < 0);
    IF bad > 0 THEN
        RAISE EXCEPTION 'ledger.batch_write: % entries do not follow from the balances', bad
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger.accounts a SET balance = a.balance + d.delta
      FROM (SELECT x.acct, sum(x.delta) AS delta
              FROM (SELECT u.src AS acct, -u.amount AS delta
                      FROM unnest(p_froms, p_amounts) AS u(src, amount)
                    UNION ALL
                    SELECT u.dst, u.amount FROM unnest(p_tos, p_amounts) AS u(dst, amount)) x
             GROUP BY x.acct) d
     WHERE a.id = d.acct;
    INSERT INTO ledger.transfers (id, kind, amount, currency, from_account, to_account, note,
                                  initiator, idem_key, to_addressed)
    SELECT u.id, u.kind, u.amount, u.currency, u.src, u.dst, u.note, u.initiator, u.idem_key,
           nullif(u.addressed, u.dst)
      FROM unnest(p_transfers, p_kinds, p_amounts, p_currencies, p_froms, p_tos, p_notes,
                  p_initiators, p_client_keys, p_to_addressed)
           WITH ORDINALITY AS u(id, kind, amount, currency, src, dst, note, initiator,
                                idem_key, addressed, j)
     ORDER BY u.j;
    INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after)
    SELECT x.id, x.acct, x.amount, x.after
      FROM (SELECT u.id, u.src AS acct, -u.amount AS amount, u.src_after AS after, u.j, 0 AS side
              FROM unnest(p_transfers, p_froms, p_amounts, p_from_afters)
                   WITH ORDINALITY AS u(id, src, amount, src_after, j)
            UNION ALL
            SELECT u.id, u.dst, u.amount, u.dst_after, u.j, 1
              FROM unnest(p_transfers, p_tos, p_amounts, p_to_afters)
                   WITH ORDINALITY AS u(id, dst, amount, dst_after, j)) x
     ORDER BY x.j, x.side;
    INSERT INTO ledger.outbox (id, type, user_id, data)
    SELECT gen_random_uuid(), 'txn.posted', (e ->> 'user_id')::uuid, e
      FROM jsonb_array_elements(coalesce(p_events, '[]')) AS e;
    UPDATE ledger.idempotency i
       SET state = 'done', status = u.status, body = u.body, error_code = u.code,
           transfer_id = u.transfer
      FROM unnest(p_idem_users, p_idem_keys, p_statuses, p_bodies, p_error_codes,
                  p_idem_transfers) AS u(usr, key, status, body, code, transfer)
     WHERE i.user_id = u.usr AND i.key = u.key AND i.state = 'in_flight';
    GET DIAGNOSTICS settled = ROW_COUNT;
    IF settled <> coalesce(cardinality(p_idem_keys), 0) THEN
        RAISE EXCEPTION 'ledger.batch_write: % of % idempotency records were not in flight',
            coalesce(cardinality(p_idem_keys), 0) - settled, coalesce(cardinality(p_idem_keys), 0)
            USING ERRCODE = 'check_violation';
    END IF;
END
$fn$;

DROP FUNCTION ledger.posting_accounts(uuid, uuid, text, uuid, text);
DROP FUNCTION ledger.post_write(uuid, text, bigint, text, uuid, uuid, bigint, bigint, text, uuid,
                                text, jsonb, uuid, text, bytea, uuid);

REVOKE ALL ON FUNCTION ledger.idem_claim(uuid, text, bytea, interval),
    ledger.posting_resolve(uuid, uuid, text, uuid, text),
    ledger.batch_begin(uuid[], text[], bytea[], text[], uuid[], text[], uuid[], text, interval),
    ledger.batch_write(uuid[], text[], bigint[], text[], uuid[], uuid[], bigint[], bigint[],
                       text[], uuid[], text[], uuid[], jsonb, uuid[], text[], int[], bytea[],
                       text[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.idem_claim(uuid, text, bytea, interval),
    ledger.batch_begin(uuid[], text[], bytea[], text[], uuid[], text[], uuid[], text, interval),
    ledger.batch_write(uuid[], text[], bigint[], text[], uuid[], uuid[], bigint[], bigint[],
                       text[], uuid[], text[], uuid[], jsonb, uuid[], text[], int[], bytea[],
                       text[], uuid[]) TO fintwin_transaction;

-- 010: every user's default account, in the currency they chose, whatever the order of events;
-- transfers remember what the sender addressed.
--
-- Before, the default account was opened lazily in LEDGER_DEFAULT_CURRENCY by whichever came
-- first: a read of /api/accounts or the profile.updated event. A EUR user whose first read beat
-- the event kept a USD account, and a USD sender's transfer to them then succeeded in USD. A
-- transfer to a newly registered user's id answered 404 until that user opened an account.
-- Now:
--   * The ledger reads the profile's currency itself, through auth.currency_preferences (a
--     read-only view, as ARCHITECTURE allows for data another worker needs), so an account
--     opened at any moment is opened in the currency the user has chosen by then.
--   * A default account that is still empty (balance 0 and no entry ever) follows the
--     profile's currency: ledger.default_account re-denominates it before anyone uses it.
--     Once it has an entry its currency is fixed; a user who changes currency later opens
--     another account (POST /api/accounts).
--   * A user with no profile currency yet gets the default account in the p_currency the
--     caller passes (LEDGER_DEFAULT_CURRENCY): the auth worker announces user.registered and
--     the ledger opens the account then; a transfer addressed to a registered user's id opens
--     it too (first receipt), so nobody registered answers 404 recipient_not_found.
--   * Opening a default account writes the event account.default_ready {user_id, account_id,
--     currency, first_completion: false}; the auth worker stores the id (GET /api/auth/me's
--     default_account_id) and the notification worker welcomes a user on the copy the ledger
--     writes for a first profile completion (first_completion: true), with the account id.

CREATE VIEW auth.currency_preferences AS
    SELECT id AS user_id, currency_preference FROM auth.users;
-- Like 004's view: only SELECT, only for the reader (a simple view is auto-updatable).
REVOKE ALL ON auth.currency_preferences FROM PUBLIC, fintwin_auth;
GRANT USAGE ON SCHEMA auth TO fintwin_transaction;
GRANT SELECT ON auth.currency_preferences TO fintwin_transaction;

-- What the sender addressed as the destination of a transfer when it was not the account
-- itself (a user id); NULL when it was the account id.
ALTER TABLE ledger.transfers ADD COLUMN to_addressed uuid;

-- The user's default account: re-denominated to the profile's currency while empty, opened
-- (in that currency, else p_currency) when missing. SECURITY DEFINER: the worker's role may
-- not UPDATE accounts (005). Concurrent first uses agree on one row through
-- accounts_one_default (005 says how).
CREATE OR REPLACE FUNCTION ledger.default_account(p_user uuid, p_currency text)
RETURNS ledger.accounts
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    a ledger.accounts;
    pref text;
    opened uuid;
BEGIN
    SELECT * INTO a FROM ledger.accounts WHERE owner = p_user AND is_default;
    IF FOUND AND a.balance <> 0 THEN
        RETURN a; -- the hot path: an account in use keeps its currency
    END IF;
    SELECT currency_preference INTO pref FROM auth.currency_preferences WHERE user_id = p_user;
    IF FOUND AND a.id IS NOT NULL THEN
        IF pref IS NOT NULL AND pref <> a.currency THEN
            -- Locked, then checked again in a new snapshot: a posting that committed in
            -- between has left an entry (and this UPDATE waited for it).
            SELECT * INTO a FROM ledger.accounts WHERE id = a.id FOR UPDATE;
            IF a.balance = 0 AND NOT EXISTS (SELECT 1 FROM ledger.entries e
                                              WHERE e.account_id = a.id) THEN
                UPDATE ledger.accounts SET currency = pref WHERE id = a.id RETURNING * INTO a;
            END IF;
        END IF;
        RETURN a;
    END IF;
    IF a.id IS NOT NULL THEN
        RETURN a;
    END IF;
    INSERT INTO ledger.accounts (id, owner, name, kind, currency, is_default)
    VALUES (gen_random_uuid(), p_user, 'Main account', 'checking', coalesce(pref, p_currency),
            true)
    ON CONFLICT DO NOTHING
    RETURNING id INTO opened;
    SELECT * INTO STRICT a FROM ledger.accounts WHERE owner = p_user AND is_default;
    IF opened IS NOT NULL THEN
        INSERT INTO ledger.outbox (id, type, user_id, data)
        VALUES (gen_random_uuid(), 'account.default_ready', p_user,
                jsonb_build_object('user_id', p_user, 'account_id', a.id,
                                   'currency', a.currency, 'first_completion', false));
    END IF;
    RETURN a;
END
$fn$;
REVOKE ALL ON FUNCTION ledger.default_account(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.default_account(uuid, text) TO fintwin_transaction;

-- 005's ledger.posting_accounts, with these changes:
--   * p_to a registered user's id: that user's default account is opened (first receipt) or
--     re-denominated while empty before the destination is chosen;
--   * a user id whose accounts are all in other currencies: 'currency_mismatch' (was
--     'recipient_not_found'), and with any 'currency_mismatch' src_currency and dst_currency
--     name both currencies.
DROP FUNCTION ledger.posting_accounts(uuid, uuid, text, uuid, text);
CREATE FUNCTION ledger.posting_accounts(
    p_user uuid, p_account uuid, p_kind text, p_to uuid, p_default_currency text,
    OUT problem text, OUT src_id uuid, OUT src_currency text, OUT src_balance bigint,
    OUT dst_id uuid, OUT dst_owner uuid, OUT dst_balance bigint, OUT created_at text,
    OUT dst_currency text)
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

-- 005's ledger.post_write plus p_to_addressed (transfers.to_addressed).
DROP FUNCTION ledger.post_write(uuid, text, bigint, text, uuid, uuid, bigint, bigint, text, uuid,
                                text, jsonb, uuid, text, bytea);
CREATE FUNCTION ledger.post_write(
    p_transfer uuid, p_kind text, p_amount bigint, p_currency text, p_from uuid, p_to uuid,
    p_from_after bigint, p_to_after bigint, p_note text, p_initiator uuid, p_client_key text,
    p_events jsonb, p_idem_user uuid, p_idem_key text, p_body bytea, p_to_addressed uuid)
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
                                  initiator, idem_key, to_addressed)
    VALUES (p_transfer, p_kind, p_amount, p_currency, p_from, p_to, p_note, p_initiator,
            p_client_key, nullif(p_to_addressed, p_to));
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
                      jsonb, uuid, text, bytea, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.posting_accounts(uuid, uuid, text, uuid, text),
    ledger.post_write(uuid, text, bigint, text, uuid, uuid, bigint, bigint, text, uuid, text,
                      jsonb, uuid, text, bytea, uuid) TO fintwin_transaction;

-- 009: an Idempotency-Key stores a refusal as well as a success.
-- Before, a posting refused after its key was claimed (insufficient funds, an unknown or
-- foreign account, a currency mismatch) rolled the claim back with the refusal, so a later
-- copy of the same request (the client's retry, or the redelivery of an attempt whose worker
-- died) ran again and could post: one key, a 422 answered and a 201 applied. Like a success,
-- a refusal is now stored with the key in the transaction that decided it, and every later
-- copy replays it. Only validation done before the key is claimed is not stored.
-- error_code NULL: body is the msgpack reply body; else body is the error's message
-- (UTF-8 text) and status its 4xx status.
ALTER TABLE ledger.idempotency ADD COLUMN error_code text
    CHECK (error_code ~ '^[a-z][a-z0-9_]{0,63}$');
ALTER TABLE ledger.idempotency ADD CONSTRAINT idempotency_refusal_is_4xx
    CHECK (error_code IS NULL OR status BETWEEN 400 AND 499);

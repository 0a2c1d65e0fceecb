-- 011: revocations of access tokens kept in PostgreSQL, so a logout survives a Redis restart.
-- Before, logout's only record of a revoked access token was the Redis key ft:deny:<jti>, and
-- Redis runs without persistence: after a restart (or a flush) a token logged out before it
-- was accepted again until it expired. Now logout writes the revocation here in its
-- transaction (and the Redis key, as before, which the gateway reads). The auth worker
-- copies the unexpired rows back into Redis whenever the marker ft:denylist:seeded is
-- missing, then sets it; the gateway refuses authenticated requests while the marker is
-- missing (proto/kvkeys.h), so nothing revoked gets through in between. Rows are deleted by
-- the auth worker once the token has expired.
CREATE TABLE auth.revoked_tokens (
    jti        uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL, -- the access token's exp plus the gateway's leeway
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires ON auth.revoked_tokens (expires_at);

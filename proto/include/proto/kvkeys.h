/*
 * proto/kvkeys.h — Redis keys that the gateway and the workers share.
 *
 *   ft:deny:<jti>          an access token revoked by logout (the auth worker writes it, with
 *                          the token's remaining lifetime as TTL; the gateway refuses a token
 *                          whose key exists)
 *   ft:denylist:seeded     present while Redis holds every revocation: the auth worker sets it
 *                          after copying auth.revoked_tokens into Redis. Redis keeps no data
 *                          across a restart (and a flush empties it), so the key's absence
 *                          means "the denylist may be incomplete": the gateway then refuses
 *                          every authenticated request (503 auth_unavailable) until the auth
 *                          worker has re-seeded, about a second later.
 */
#ifndef PROTO_KVKEYS_H
#define PROTO_KVKEYS_H

#define PROTO_KV_DENY_PREFIX "ft:deny:"
#define PROTO_KV_DENY_SEEDED "ft:denylist:seeded"

#endif

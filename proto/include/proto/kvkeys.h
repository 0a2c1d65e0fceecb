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
 *   ft:rpc:deliveries:<id> how often request <id> came back after a delivery that ended without
 *                          an ack (the worker runtime counts redeliveries only; the key
 *                          expires with the request's deadline). A request whose handling
 *                          kills its worker is dead-lettered on its PROTO_RPC_MAX_DELIVERIES-th
 *                          delivery (proto/topology.h).
 */
#ifndef PROTO_KVKEYS_H
#define PROTO_KVKEYS_H

#define PROTO_KV_DENY_PREFIX           "ft:deny:"
#define PROTO_KV_DENY_SEEDED           "ft:denylist:seeded"
#define PROTO_KV_RPC_DELIVERIES_PREFIX "ft:rpc:deliveries:"

#endif

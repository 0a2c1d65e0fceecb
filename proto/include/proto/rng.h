/*
 * proto/rng.h — the seeded pseudo-random generator every deterministic computation uses (the
 * twin's Monte Carlo, the risk worker's Isolation Forest): xoshiro256** (Blackman and Vigna),
 * its four words seeded through splitmix64, so the same seed gives the same stream on every
 * machine. Not for secrets (ids and keys come from proto/uuid.h's getrandom). Header-only, so
 * the hot loops that draw from it inline it. A state belongs to one thread.
 */
#ifndef PROTO_RNG_H
#define PROTO_RNG_H

#include <stdint.h>

/* splitmix64: the next value of the stream whose state is *x (advanced). */
static inline uint64_t proto_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t proto_rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Seeds a xoshiro256** state: its four words are the first four splitmix64(seed) values. */
static inline void proto_rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        s[i] = proto_splitmix64(&seed);
}

/* xoshiro256**: the next 64 bits of state s (advanced). */
static inline uint64_t proto_rng_next(uint64_t s[4])
{
    uint64_t result = proto_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = proto_rotl64(s[3], 45);
    return result;
}

#endif

/*
 * A small deterministic PRNG for property tests (xorshift64*), so a
 * failing seed can be replayed. Freestanding, header-only.
 */
#ifndef PVTIMER_TESTS_RNG_H
#define PVTIMER_TESTS_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

/* A value with a random number of significant bits, so that small, large
 * and edge magnitudes are all exercised. */
static inline uint64_t rng_wide(struct rng *r)
{
    unsigned int bits = (unsigned int)(rng_next(r) % 65);
    uint64_t v = rng_next(r);
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

#endif /* PVTIMER_TESTS_RNG_H */

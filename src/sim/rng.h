/*
 * The simulator's random numbers: xoshiro256** seeded by splitmix64 from
 * (seed, stream), so that each random process of a world has a stream of
 * its own and the same seed always gives the same run.
 */
#ifndef PVTIMER_SIM_RNG_H
#define PVTIMER_SIM_RNG_H

#include <math.h>
#include <stdint.h>

struct sim_rng {
    uint64_t s[4];
};

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed,
                                uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3] << 45 | s[3] >> 19;
    return result;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

static inline double sim_rng_uniform(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_unit(r);
}

/* Exponential with the given mean. */
static inline double sim_rng_exp(struct sim_rng *r, double mean)
{
    return -mean * log1p(-sim_rng_unit(r));
}

/* Log-normal with the given median and shape sigma (Box-Muller). */
static inline double sim_rng_lognormal(struct sim_rng *r, double median,
                                       double sigma)
{
    double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
    double z = sqrt(-2 * log1p(-u1)) * cos(6.283185307179586 * u2);
    return median * exp(sigma * z);
}

#endif /* PVTIMER_SIM_RNG_H */

/*
 * The simulator's random numbers: xoshiro256** seeded by splitmix64 from
 * (seed, stream), so that each random process of a world has a stream of
 * its own and the same seed always gives the same run.
 */
#ifndef PVTIMER_SIM_RNG_H
#define PVTIMER_SIM_RNG_H

#include <math.h>
#include <stdint.h>

struct pvt_sim_rng {
    uint64_t s[4];
};

static inline uint64_t pvt_sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void pvt_sim_rng_seed(struct pvt_sim_rng *r, uint64_t seed,
                                    uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = pvt_sim_splitmix64(&x);
}

static inline uint64_t pvt_sim_rng_next(struct pvt_sim_rng *r)
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
static inline double pvt_sim_rng_unit(struct pvt_sim_rng *r)
{
    return (double)(pvt_sim_rng_next(r) >> 11) * 0x1.0p-53;
}

static inline double pvt_sim_rng_uniform(struct pvt_sim_rng *r, double lo,
                                         double hi)
{
    return lo + (hi - lo) * pvt_sim_rng_unit(r);
}

/* Exponential with the given mean. */
static inline double pvt_sim_rng_exp(struct pvt_sim_rng *r, double mean)
{
    return -mean * log1p(-pvt_sim_rng_unit(r));
}

/*
 * The standard normal quantile (inverse CDF) at u in (0, 1): Acklam's
 * rational approximation, relative error below 1.2e-9.
 */
static inline double pvt_sim_normal_quantile(double u)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double q, r;

    if (u < 0.02425) {
        q = sqrt(-2 * log(u));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
                c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (u > 1 - 0.02425) {
        q = sqrt(-2 * log1p(-u));
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
                 c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    q = u - 0.5;
    r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r +
            a[5]) *
           q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

#endif /* PVTIMER_SIM_RNG_H */

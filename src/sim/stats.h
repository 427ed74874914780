/*
 * Simulator statistics: log-linear histograms of ns magnitudes (32
 * sub-buckets per power of two: quantiles within about 3 %), with exact
 * count, max and signed sum.
 */
#ifndef PVTIMER_SIM_STATS_H
#define PVTIMER_SIM_STATS_H

#include <stdint.h>

#define PVT_SIM_HIST_SUB     32
#define PVT_SIM_HIST_BUCKETS (PVT_SIM_HIST_SUB * 61)

struct pvt_sim_hist {
    uint64_t count;
    uint64_t negative; /* samples below zero */
    uint64_t max_abs;
    int64_t min, max; /* signed extremes */
    double sum;       /* signed */
    uint64_t bucket[PVT_SIM_HIST_BUCKETS];
};

/* The bucket of magnitude a: values below PVT_SIM_HIST_SUB have a bucket
 * each; above, each power of two [2^e, 2^(e+1)) is cut in
 * PVT_SIM_HIST_SUB equal parts. */
static inline unsigned int pvt__sim_hist_bucket(uint64_t a)
{
    unsigned int e;

    if (a < PVT_SIM_HIST_SUB)
        return (unsigned int)a;
    e = 64u - (unsigned int)__builtin_clzll(a) - 6; /* a >> e in [32, 64) */
    return (e + 1) * PVT_SIM_HIST_SUB +
           (unsigned int)((a >> e) - PVT_SIM_HIST_SUB);
}

/* Add a sample (inline: the model adds several per interrupt). */
static inline void pvt_sim_hist_add(struct pvt_sim_hist *h, int64_t v)
{
    uint64_t a = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;

    if (h->count == 0 || v < h->min)
        h->min = v;
    if (h->count == 0 || v > h->max)
        h->max = v;
    if (a > h->max_abs)
        h->max_abs = a;
    if (v < 0)
        h->negative++;
    h->count++;
    h->sum += (double)v;
    h->bucket[pvt__sim_hist_bucket(a)]++;
}
/* Quantile of |v|, q in [0, 1]: the upper end of the bucket holding it,
 * clamped to the exact max. 0 when empty. */
uint64_t pvt_sim_hist_quantile(const struct pvt_sim_hist *h, double q);
double pvt_sim_hist_mean(const struct pvt_sim_hist *h);
/* How many samples had |v| of at least v (to the bucket resolution). */
uint64_t pvt_sim_hist_count_from(const struct pvt_sim_hist *h, uint64_t v);

#endif /* PVTIMER_SIM_STATS_H */

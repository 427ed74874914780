/*
 * Log-linear histograms for the simulator.
 */
#include "stats.h"

static unsigned int fls64(uint64_t x)
{
    return x ? 64u - (unsigned int)__builtin_clzll(x) : 0u;
}

/* Values below PVT_SIM_HIST_SUB have a bucket each; above, each power of two
 * [2^e, 2^(e+1)) is cut in PVT_SIM_HIST_SUB equal parts. */
static unsigned int bucket_of(uint64_t v)
{
    unsigned int e;

    if (v < PVT_SIM_HIST_SUB)
        return (unsigned int)v;
    e = fls64(v) - 6; /* v >> e is in [32, 64) */
    return (e + 1) * PVT_SIM_HIST_SUB +
           (unsigned int)((v >> e) - PVT_SIM_HIST_SUB);
}

static uint64_t bucket_hi(unsigned int b)
{
    unsigned int e;
    uint64_t m;

    if (b < PVT_SIM_HIST_SUB)
        return b;
    e = b / PVT_SIM_HIST_SUB - 1;
    m = b % PVT_SIM_HIST_SUB + PVT_SIM_HIST_SUB;
    if (e >= 58)
        return UINT64_MAX;
    return ((m + 1) << e) - 1;
}

void pvt_sim_hist_add(struct pvt_sim_hist *h, int64_t v)
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
    h->bucket[bucket_of(a)]++;
}

uint64_t pvt_sim_hist_quantile(const struct pvt_sim_hist *h, double q)
{
    uint64_t need, seen = 0, hi;
    unsigned int b;

    if (h->count == 0)
        return 0;
    if (q >= 1)
        return h->max_abs;
    need = (uint64_t)(q * (double)h->count);
    if ((double)need < q * (double)h->count)
        need++;
    if (need == 0)
        need = 1;
    for (b = 0; b < PVT_SIM_HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= need)
            break;
    }
    hi = bucket_hi(b < PVT_SIM_HIST_BUCKETS ? b : PVT_SIM_HIST_BUCKETS - 1);
    return hi < h->max_abs ? hi : h->max_abs;
}

double pvt_sim_hist_mean(const struct pvt_sim_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0;
}

uint64_t pvt_sim_hist_count_from(const struct pvt_sim_hist *h, uint64_t v)
{
    uint64_t n = 0;
    unsigned int b;

    for (b = bucket_of(v); b < PVT_SIM_HIST_BUCKETS; b++)
        n += h->bucket[b];
    return n;
}

/*
 * Log-linear histograms for the simulator.
 */
#include "stats.h"

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

    for (b = pvt__sim_hist_bucket(v); b < PVT_SIM_HIST_BUCKETS; b++)
        n += h->bucket[b];
    return n;
}

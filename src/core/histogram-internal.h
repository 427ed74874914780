/*
 * The histogram's bucket index inline, for the timer queue's expiry path
 * (internal to the core, not installed).
 */
#ifndef PVTIMER_CORE_HISTOGRAM_INTERNAL_H
#define PVTIMER_CORE_HISTOGRAM_INTERNAL_H

#include "pvtimer/histogram.h"

#include "util.h"

/* pvt_hist_bucket (histogram.h): 0 -> 0, [2^(k-1), 2^k) -> k (the bit
 * length of v), the last bucket for everything larger. */
static inline unsigned int pvt__hist_bucket(uint64_t v)
{
    unsigned int k = pvt__fls64(v);
    return k < PVT_HIST_BUCKETS - 1 ? k : PVT_HIST_BUCKETS - 1;
}

/* The least value in bucket k, and one past the greatest (UINT64_MAX for
 * the last, which holds everything larger). */
static inline uint64_t pvt__hist_bucket_lo(unsigned int k)
{
    return k ? 1ull << (k - 1) : 0;
}

static inline uint64_t pvt__hist_bucket_end(unsigned int k)
{
    return k >= PVT_HIST_BUCKETS - 1 ? UINT64_MAX : 1ull << k;
}

#endif /* PVTIMER_CORE_HISTOGRAM_INTERNAL_H */

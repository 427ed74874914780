/*
 * pvtimer: fixed-size logarithmic histograms of nanosecond values, for the
 * lateness and device-error statistics every run reports.
 *
 * Buckets are powers of two: bucket 0 holds the value 0, bucket k (k >= 1)
 * holds [2^(k-1), 2^k) ns, up to bucket PVT_HIST_BUCKETS - 2 =
 * [2^36, 2^37) ns (68.7 s .. 137 s), so 1 ns to 100 s is covered; the last
 * bucket takes everything larger. Integer-only, no allocation, so it lives
 * in the freestanding core. Exact count, min, max and sum are kept beside
 * the buckets.
 *
 * A signed histogram keeps two of them: values below zero (by magnitude)
 * and values at or above zero.
 *
 * Calling context: a histogram is plain data, not locked; whoever owns it
 * (a timer queue, in its interrupt) adds to it, and readers take a copy
 * under the owner's serialisation. The query functions are pure.
 */
#ifndef PVTIMER_HISTOGRAM_H
#define PVTIMER_HISTOGRAM_H

#include "pvtimer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PVT_HIST_BUCKETS 39 /* 0, 37 powers of two, overflow */

struct pvt_hist {
    uint64_t count;
    uint64_t min, max; /* valid when count > 0 */
    uint64_t sum;      /* saturating */
    uint64_t bucket[PVT_HIST_BUCKETS];
};

struct pvt_shist {
    struct pvt_hist neg; /* |v| of values < 0 */
    struct pvt_hist pos; /* values >= 0 */
};

/* Zero a histogram. Returns 0 or -PVT_EINVAL. */
int pvt_hist_init(struct pvt_hist *h);
int pvt_shist_init(struct pvt_shist *h);

/* The bucket index of v. */
unsigned int pvt_hist_bucket(uint64_t v);

/*
 * The range [lo, hi] of bucket k (hi inclusive; the overflow bucket's hi is
 * UINT64_MAX). Returns 0 or -PVT_EINVAL (NULL, k out of range).
 */
int pvt_hist_bucket_range(unsigned int k, uint64_t *lo, uint64_t *hi);

/* Record one value. Does nothing for NULL. */
void pvt_hist_add(struct pvt_hist *h, uint64_t v);
void pvt_shist_add(struct pvt_shist *h, int64_t v);

/*
 * An upper estimate of the q-quantile, q = permille / 1000 (500 = median,
 * 990 = p99, 1000 = max): the smallest value v such that at least
 * ceil(q * count) recorded values are <= v's bucket, reported as that
 * bucket's upper bound clamped to the exact max (so p100 is exact and no
 * estimate exceeds the max). Returns 0 (and 0 in *v for an empty
 * histogram), or -PVT_EINVAL (NULL, permille > 1000).
 */
int pvt_hist_quantile(const struct pvt_hist *h, unsigned int permille,
                      uint64_t *v);

/* Add every count of src into dst. Returns 0 or -PVT_EINVAL. */
int pvt_hist_merge(struct pvt_hist *dst, const struct pvt_hist *src);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_HISTOGRAM_H */

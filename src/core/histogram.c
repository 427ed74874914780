/*
 * Power-of-two histograms of ns values.
 */
#include "pvtimer/histogram.h"

#include "histogram-internal.h"
#include "util.h"

int pvt_hist_init(struct pvt_hist *h)
{
    if (!h)
        return -PVT_EINVAL;
    *h = (struct pvt_hist){0};
    return 0;
}

int pvt_shist_init(struct pvt_shist *h)
{
    if (!h)
        return -PVT_EINVAL;
    pvt_hist_init(&h->neg);
    pvt_hist_init(&h->pos);
    return 0;
}

unsigned int pvt_hist_bucket(uint64_t v)
{
    /* 0 -> 0; [2^(k-1), 2^k) -> k, which is the bit length of v */
    return pvt__hist_bucket(v);
}

int pvt_hist_bucket_range(unsigned int k, uint64_t *lo, uint64_t *hi)
{
    if (!lo || !hi || k >= PVT_HIST_BUCKETS)
        return -PVT_EINVAL;
    if (k == 0) {
        *lo = *hi = 0;
    } else {
        *lo = 1ull << (k - 1);
        *hi = k == PVT_HIST_BUCKETS - 1 ? UINT64_MAX : (1ull << k) - 1;
    }
    return 0;
}

void pvt_hist_add(struct pvt_hist *h, uint64_t v)
{
    if (!h)
        return;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (h->count == 0 || v > h->max)
        h->max = v;
    h->count++;
    h->sum = pvt_add_sat_u64(h->sum, v);
    h->bucket[pvt__hist_bucket(v)]++;
}

void pvt_shist_add(struct pvt_shist *h, int64_t v)
{
    if (!h)
        return;
    if (v < 0)
        /* the magnitude, computed without negating INT64_MIN */
        pvt_hist_add(&h->neg, 0u - (uint64_t)v);
    else
        pvt_hist_add(&h->pos, (uint64_t)v);
}

int pvt_hist_quantile(const struct pvt_hist *h, unsigned int permille,
                      uint64_t *v)
{
    uint64_t need, rem, seen = 0, lo, hi;
    unsigned int k;

    if (!h || !v || permille > 1000)
        return -PVT_EINVAL;
    if (h->count == 0) {
        *v = 0;
        return 0;
    }
    /* ceil(count * permille / 1000) values, at least one; count * 1000
     * could overflow only past 1.8e16 samples: split to stay exact */
    need = pvt__div64_u64_rem(h->count, 1000, &rem) * permille +
           (uint32_t)(rem * permille + 999) / 1000u; /* < 2^20 */
    if (need == 0)
        need = 1;
    for (k = 0; k < PVT_HIST_BUCKETS; k++) {
        seen += h->bucket[k];
        if (seen >= need)
            break;
    }
    pvt_hist_bucket_range(k < PVT_HIST_BUCKETS ? k : PVT_HIST_BUCKETS - 1, &lo,
                          &hi);
    *v = hi < h->max ? hi : h->max;
    if (*v < h->min)
        *v = h->min;
    return 0;
}

int pvt_hist_merge(struct pvt_hist *dst, const struct pvt_hist *src)
{
    unsigned int k;

    if (!dst || !src)
        return -PVT_EINVAL;
    if (src->count == 0)
        return 0;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum = pvt_add_sat_u64(dst->sum, src->sum);
    for (k = 0; k < PVT_HIST_BUCKETS; k++)
        dst->bucket[k] += src->bucket[k];
    return 0;
}

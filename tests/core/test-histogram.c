/*
 * Log2 histograms: bucket boundaries, exact count/min/max/sum, quantile
 * estimates on distributions worked out by hand, signed values (INT64_MIN),
 * merging, error paths.
 *
 * Expected values come from the bucket definition in histogram.h, restated
 * here independently: bucket 0 = {0}, bucket k = [2^(k-1), 2^k - 1] for
 * k in [1, 37], bucket 38 = [2^37, UINT64_MAX].
 */
#include "pvtimer/histogram.h"
#include "rng.h"
#include "runner/test.h"

#define TOP_BUCKET (PVT_HIST_BUCKETS - 1) /* the overflow bucket */

/* The bucket of v by the definition: the number of halvings to reach 0. */
static unsigned int ref_bucket(uint64_t v)
{
    unsigned int k = 0;

    while (v) {
        v >>= 1;
        k++;
    }
    return k < TOP_BUCKET ? k : TOP_BUCKET;
}

/* The upper bound of v's bucket by the definition: 2^k - 1, or UINT64_MAX
 * for the overflow bucket. */
static uint64_t ref_upper(uint64_t v)
{
    unsigned int k = ref_bucket(v);

    if (k == TOP_BUCKET)
        return UINT64_MAX;
    return k == 0 ? 0 : (1ull << k) - 1;
}

/* ceil(count * permille / 1000), at least 1, for small counts. */
static uint64_t ref_need(uint64_t count, unsigned int permille)
{
    uint64_t need = (count * permille + 999) / 1000;
    return need ? need : 1;
}

static void add_range(struct pvt_hist *h, uint64_t from, uint64_t to)
{
    uint64_t v;

    for (v = from; v <= to; v++)
        pvt_hist_add(h, v);
}

static uint64_t quantile(const struct pvt_hist *h, unsigned int permille)
{
    uint64_t v = 0xdeadbeef;

    ASSERT_OK(pvt_hist_quantile(h, permille, &v));
    return v;
}

TEST_IMPL(hist_bucket_boundaries)
{
    uint64_t lo, hi;
    unsigned int k;

    ASSERT_UEQ(PVT_HIST_BUCKETS, 39);
    ASSERT_UEQ(pvt_hist_bucket(0), 0);
    ASSERT_UEQ(pvt_hist_bucket(1), 1);
    ASSERT_UEQ(pvt_hist_bucket(2), 2);
    ASSERT_UEQ(pvt_hist_bucket(3), 2);
    ASSERT_UEQ(pvt_hist_bucket(4), 3);
    ASSERT_UEQ(pvt_hist_bucket(1023), 10);
    ASSERT_UEQ(pvt_hist_bucket(1024), 11);
    /* 2^36 ns (68.7 s) .. 2^37 - 1 ns (137.4 s) is the last real bucket:
     * 100 s is in it, 2^37 ns and everything above overflow */
    ASSERT_UEQ(pvt_hist_bucket(1ull << 36), 37);
    ASSERT_UEQ(pvt_hist_bucket(100 * PVT_NSEC_PER_SEC), 37);
    ASSERT_UEQ(pvt_hist_bucket((1ull << 37) - 1), 37);
    ASSERT_UEQ(pvt_hist_bucket(1ull << 37), 38);
    ASSERT_UEQ(pvt_hist_bucket(1ull << 63), 38);
    ASSERT_UEQ(pvt_hist_bucket(UINT64_MAX), 38);

    /* every power of two starts a bucket, the value before it ends one */
    for (k = 1; k <= 37; k++) {
        ASSERT_UEQ(pvt_hist_bucket(1ull << (k - 1)), k);
        ASSERT_UEQ(pvt_hist_bucket((1ull << k) - 1), k);
    }

    /* ranges: contiguous, and each bound maps back to its bucket */
    ASSERT_OK(pvt_hist_bucket_range(0, &lo, &hi));
    ASSERT_UEQ(lo, 0);
    ASSERT_UEQ(hi, 0);
    ASSERT_OK(pvt_hist_bucket_range(1, &lo, &hi));
    ASSERT_UEQ(lo, 1);
    ASSERT_UEQ(hi, 1);
    ASSERT_OK(pvt_hist_bucket_range(37, &lo, &hi));
    ASSERT_UEQ(lo, 1ull << 36);
    ASSERT_UEQ(hi, (1ull << 37) - 1);
    ASSERT_OK(pvt_hist_bucket_range(38, &lo, &hi));
    ASSERT_UEQ(lo, 1ull << 37);
    ASSERT_UEQ(hi, UINT64_MAX);
    for (k = 0; k < PVT_HIST_BUCKETS; k++) {
        uint64_t next_lo, next_hi;

        ASSERT_OK(pvt_hist_bucket_range(k, &lo, &hi));
        ASSERT_ULE(lo, hi);
        ASSERT_UEQ(pvt_hist_bucket(lo), k);
        ASSERT_UEQ(pvt_hist_bucket(hi), k);
        if (k + 1 < PVT_HIST_BUCKETS) {
            ASSERT_OK(pvt_hist_bucket_range(k + 1, &next_lo, &next_hi));
            ASSERT_UEQ(next_lo, hi + 1);
        }
    }

    ASSERT_ERR(pvt_hist_bucket_range(PVT_HIST_BUCKETS, &lo, &hi), PVT_EINVAL);
    ASSERT_ERR(pvt_hist_bucket_range(0, NULL, &hi), PVT_EINVAL);
    ASSERT_ERR(pvt_hist_bucket_range(0, &lo, NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(hist_bucket_random)
{
    struct rng r;
    uint64_t v, lo, hi;
    unsigned int i;

    rng_seed(&r, 0x4157);
    for (i = 0; i < 20000; i++) {
        v = rng_wide(&r);
        ASSERT_UEQ(pvt_hist_bucket(v), ref_bucket(v));
        ASSERT_OK(pvt_hist_bucket_range(pvt_hist_bucket(v), &lo, &hi));
        ASSERT_ULE(lo, v);
        ASSERT_ULE(v, hi);
    }
    RETURN_OK();
}

TEST_IMPL(hist_add_counts)
{
    struct pvt_hist h;
    unsigned int k;

    /* init clears whatever was there */
    h.count = 7;
    h.min = 3;
    h.bucket[5] = 9;
    ASSERT_OK(pvt_hist_init(&h));
    ASSERT_UEQ(h.count, 0);
    ASSERT_UEQ(h.sum, 0);
    for (k = 0; k < PVT_HIST_BUCKETS; k++)
        ASSERT_UEQ(h.bucket[k], 0);

    /* the first value is both min and max, even when it is large */
    pvt_hist_add(&h, 1000);
    ASSERT_UEQ(h.min, 1000);
    ASSERT_UEQ(h.max, 1000);
    pvt_hist_add(&h, 0);
    pvt_hist_add(&h, 0);
    pvt_hist_add(&h, 1ull << 37);
    pvt_hist_add(&h, 7);
    ASSERT_UEQ(h.count, 5);
    ASSERT_UEQ(h.min, 0);
    ASSERT_UEQ(h.max, 1ull << 37);
    ASSERT_UEQ(h.sum, 1000 + (1ull << 37) + 7);
    ASSERT_UEQ(h.bucket[0], 2);
    ASSERT_UEQ(h.bucket[3], 1);  /* 7 in [4, 7] */
    ASSERT_UEQ(h.bucket[10], 1); /* 1000 in [512, 1023] */
    ASSERT_UEQ(h.bucket[38], 1);

    /* the sum saturates rather than wrapping */
    pvt_hist_add(&h, UINT64_MAX);
    pvt_hist_add(&h, UINT64_MAX);
    ASSERT_UEQ(h.sum, UINT64_MAX);
    ASSERT_UEQ(h.max, UINT64_MAX);
    ASSERT_UEQ(h.bucket[38], 3);
    ASSERT_UEQ(h.count, 7);

    pvt_hist_add(NULL, 5); /* does nothing, does not crash */
    ASSERT_ERR(pvt_hist_init(NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(hist_quantile_1_to_100)
{
    struct pvt_hist h;
    unsigned int pm;

    ASSERT_OK(pvt_hist_init(&h));
    add_range(&h, 1, 100);
    /*
     * 1..100 fill the buckets [1] 1, [2,3] 2, [4,7] 4, [8,15] 8,
     * [16,31] 16, [32,63] 32, [64,127] 37 values: cumulative 1, 3, 7, 15,
     * 31, 63, 100.
     */
    ASSERT_UEQ(h.bucket[1], 1);
    ASSERT_UEQ(h.bucket[6], 32);
    ASSERT_UEQ(h.bucket[7], 37);
    ASSERT_UEQ(h.sum, 5050);
    /* p50: 50 values needed, the 50th is in [32, 63]: its upper bound */
    ASSERT_UEQ(quantile(&h, 500), 63);
    /* p99: the 99th value is in [64, 127], whose bound 127 is clamped to
     * the exact max, 100 */
    ASSERT_UEQ(quantile(&h, 990), 100);
    ASSERT_UEQ(quantile(&h, 1000), 100);
    /* p0 still needs one value: the first, 1, in bucket [1, 1] */
    ASSERT_UEQ(quantile(&h, 0), 1);
    ASSERT_UEQ(quantile(&h, 10), 1);   /* need ceil(0.1) = 1 */
    ASSERT_UEQ(quantile(&h, 11), 3);   /* need ceil(1.1) = 2 */
    ASSERT_UEQ(quantile(&h, 100), 15); /* the 10th value, 10, in [8, 15] */
    ASSERT_UEQ(quantile(&h, 310), 31); /* exactly 31 values: [16, 31] */
    ASSERT_UEQ(quantile(&h, 311), 63); /* need ceil(31.1) = 32 */
    ASSERT_UEQ(quantile(&h, 630), 63);
    ASSERT_UEQ(quantile(&h, 631), 100); /* need 64: [64, 127], clamped */

    /* every permille: the upper bound of the bucket holding the
     * ceil(q * 100)-th value (which is that value itself), clamped to max */
    for (pm = 0; pm <= 1000; pm++) {
        uint64_t x = ref_need(100, pm);
        uint64_t want = ref_upper(x) < 100 ? ref_upper(x) : 100;
        uint64_t got = quantile(&h, pm);

        ASSERT_UEQ(got, want);
        /* an upper estimate within the value's bucket */
        ASSERT_UGE(got, x);
        ASSERT_ULE(got, 2 * x - 1);
    }
    RETURN_OK();
}

TEST_IMPL(hist_quantile_edges)
{
    struct pvt_hist h;
    uint64_t v;
    unsigned int i;

    /* empty: 0 for any quantile */
    ASSERT_OK(pvt_hist_init(&h));
    v = 5;
    ASSERT_OK(pvt_hist_quantile(&h, 500, &v));
    ASSERT_UEQ(v, 0);
    ASSERT_OK(pvt_hist_quantile(&h, 1000, &v));
    ASSERT_UEQ(v, 0);

    /* one value: every quantile is that value (bucket bound clamped to
     * max, which is also min) */
    pvt_hist_add(&h, 5000);
    ASSERT_UEQ(quantile(&h, 0), 5000);
    ASSERT_UEQ(quantile(&h, 500), 5000);
    ASSERT_UEQ(quantile(&h, 1000), 5000);

    /* only zeros */
    ASSERT_OK(pvt_hist_init(&h));
    pvt_hist_add(&h, 0);
    pvt_hist_add(&h, 0);
    ASSERT_UEQ(quantile(&h, 1000), 0);

    /* 1997 ones, a 2 and a 4 (1999 values): p99.9 needs
     * ceil(1999 * 0.999) = ceil(1997.001) = 1998 values, so the 2, in
     * [2, 3]; rounding the need down would give 1 */
    ASSERT_OK(pvt_hist_init(&h));
    for (i = 0; i < 1997; i++)
        pvt_hist_add(&h, 1);
    pvt_hist_add(&h, 2);
    pvt_hist_add(&h, 4);
    ASSERT_UEQ(quantile(&h, 999), 3);
    ASSERT_UEQ(quantile(&h, 998), 1); /* ceil(1995.002) = 1996 */
    ASSERT_UEQ(quantile(&h, 1000), 4);

    /* the overflow bucket: its bound is UINT64_MAX, clamped to the max */
    ASSERT_OK(pvt_hist_init(&h));
    pvt_hist_add(&h, 1ull << 37);
    pvt_hist_add(&h, 1ull << 40);
    ASSERT_UEQ(quantile(&h, 500), 1ull << 40);
    ASSERT_UEQ(quantile(&h, 1000), 1ull << 40);
    pvt_hist_add(&h, UINT64_MAX);
    ASSERT_UEQ(quantile(&h, 1000), UINT64_MAX);

    /* a 100 s value in the [2^36, 2^37) bucket beside 1 ns values: p50 is
     * 1, p100 exactly 100 s (not the bucket's bound, 137.4 s) */
    ASSERT_OK(pvt_hist_init(&h));
    pvt_hist_add(&h, 1);
    pvt_hist_add(&h, 1);
    pvt_hist_add(&h, 100 * PVT_NSEC_PER_SEC);
    pvt_hist_add(&h, 100 * PVT_NSEC_PER_SEC - 1);
    ASSERT_UEQ(quantile(&h, 500), 1);
    ASSERT_UEQ(quantile(&h, 750), 100 * PVT_NSEC_PER_SEC);
    ASSERT_UEQ(quantile(&h, 1000), 100 * PVT_NSEC_PER_SEC);

    /* errors */
    ASSERT_ERR(pvt_hist_quantile(NULL, 500, &v), PVT_EINVAL);
    ASSERT_ERR(pvt_hist_quantile(&h, 500, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_hist_quantile(&h, 1001, &v), PVT_EINVAL);
    RETURN_OK();
}

/* Counts far past what count * 1000 can hold in 64 bits: the need must
 * still be exact. Filled by hand (10^18 adds would take years). */
TEST_IMPL(hist_quantile_huge_count)
{
    struct pvt_hist h;
    const uint64_t n = 1000000000000000000ull; /* 10^18; x 1000 > 2^64 */

    ASSERT_OK(pvt_hist_init(&h));
    h.count = n;
    h.bucket[5] = n - 1; /* values in [16, 31] */
    h.bucket[10] = 1;    /* one value, 1000, in [512, 1023] */
    h.min = 16;
    h.max = 1000;
    /* p99.9 needs 999 * 10^15 values, all within [16, 31] */
    ASSERT_UEQ(quantile(&h, 999), 31);
    /* p100 needs all of them: the last is the max */
    ASSERT_UEQ(quantile(&h, 1000), 1000);

    /* 10^18 + 1 values: p99.9 needs 10^15 * 999 + ceil(999 / 1000) =
     * 999 * 10^15 + 1 of them. With exactly that many in [16, 31] it is
     * 31; with one fewer the needed value is the 1000 (a need rounded
     * down, or computed in an overflowing count * 1000, would say 31) */
    h.count = n + 1;
    h.bucket[5] = 999 * (n / 1000) + 1;
    h.bucket[10] = h.count - h.bucket[5];
    ASSERT_UEQ(quantile(&h, 999), 31);
    h.bucket[5]--;
    h.bucket[10]++;
    ASSERT_UEQ(quantile(&h, 999), 1000);
    ASSERT_UEQ(quantile(&h, 1000), 1000);
    RETURN_OK();
}

/* Random data: every estimate is an upper bound of the exact quantile
 * within its bucket, found from the sorted values by counting (the values
 * are drawn from few distinct ones so that counting them is cheap). */
TEST_IMPL(hist_quantile_random)
{
    static const uint64_t vals[] = {
        0,    1,    2,         3,          900,        1023,      1024,
        4095, 5000, 123456789, 1ull << 36, 1ull << 37, UINT64_MAX};
    uint64_t mult[PVT_ARRAY_SIZE(vals)];
    struct pvt_hist h;
    struct rng r;
    unsigned int round, i, pm;

    rng_seed(&r, 77);
    for (round = 0; round < 50; round++) {
        uint64_t n = 0, max = 0, min = UINT64_MAX;

        ASSERT_OK(pvt_hist_init(&h));
        for (i = 0; i < PVT_ARRAY_SIZE(vals); i++) {
            mult[i] = rng_next(&r) % 4 == 0 ? 0 : rng_next(&r) % 40;
            if (mult[i]) {
                max = vals[i];
                if (min == UINT64_MAX)
                    min = vals[i];
            }
            for (uint64_t j = 0; j < mult[i]; j++)
                pvt_hist_add(&h, vals[i]);
            n += mult[i];
        }
        ASSERT_UEQ(h.count, n);
        if (n == 0)
            continue;
        ASSERT_UEQ(h.max, max);
        ASSERT_UEQ(h.min, min);
        for (pm = 0; pm <= 1000; pm += 7) {
            uint64_t need = ref_need(n, pm), seen = 0, x = 0, got, want;

            for (i = 0; i < PVT_ARRAY_SIZE(vals); i++) {
                seen += mult[i];
                if (seen >= need) {
                    x = vals[i];
                    break;
                }
            }
            want = ref_upper(x) < max ? ref_upper(x) : max;
            got = quantile(&h, pm);
            ASSERT_UEQ(got, want);
            ASSERT_UGE(got, x);
        }
        ASSERT_UEQ(quantile(&h, 1000), max);
    }
    RETURN_OK();
}

TEST_IMPL(hist_signed)
{
    struct pvt_shist s;

    s.neg.count = 3; /* init clears */
    ASSERT_OK(pvt_shist_init(&s));
    ASSERT_UEQ(s.neg.count, 0);
    ASSERT_UEQ(s.pos.count, 0);

    /* INT64_MIN's magnitude, 2^63, cannot be negated in int64_t */
    pvt_shist_add(&s, INT64_MIN);
    ASSERT_UEQ(s.neg.count, 1);
    ASSERT_UEQ(s.neg.max, 1ull << 63);
    ASSERT_UEQ(s.neg.min, 1ull << 63);
    ASSERT_UEQ(s.neg.bucket[38], 1);
    pvt_shist_add(&s, -1);
    pvt_shist_add(&s, -1000);
    ASSERT_UEQ(s.neg.count, 3);
    ASSERT_UEQ(s.neg.min, 1);
    ASSERT_UEQ(s.neg.bucket[1], 1);
    ASSERT_UEQ(s.neg.bucket[10], 1);
    ASSERT_UEQ(s.neg.sum, (1ull << 63) + 1001);
    ASSERT_UEQ(s.pos.count, 0);

    /* zero counts as non-negative */
    pvt_shist_add(&s, 0);
    pvt_shist_add(&s, INT64_MAX);
    pvt_shist_add(&s, 5);
    ASSERT_UEQ(s.pos.count, 3);
    ASSERT_UEQ(s.pos.bucket[0], 1);
    ASSERT_UEQ(s.pos.bucket[3], 1);
    ASSERT_UEQ(s.pos.bucket[38], 1);
    ASSERT_UEQ(s.pos.min, 0);
    ASSERT_UEQ(s.pos.max, (uint64_t)INT64_MAX);
    ASSERT_UEQ(s.neg.count, 3);

    /* magnitudes' quantiles */
    {
        uint64_t v;
        ASSERT_OK(pvt_hist_quantile(&s.neg, 1000, &v));
        ASSERT_UEQ(v, 1ull << 63);
        ASSERT_OK(pvt_hist_quantile(&s.neg, 500, &v));
        /* need ceil(1.5) = 2: the 1000, reported as its bucket's bound */
        ASSERT_UEQ(v, 1023);
    }

    pvt_shist_add(NULL, -5);
    ASSERT_ERR(pvt_shist_init(NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(hist_merge)
{
    struct pvt_hist a, b, all, empty, copy;
    unsigned int k;

    ASSERT_OK(pvt_hist_init(&a));
    ASSERT_OK(pvt_hist_init(&b));
    ASSERT_OK(pvt_hist_init(&all));
    ASSERT_OK(pvt_hist_init(&empty));
    add_range(&a, 40, 100);
    add_range(&b, 1, 39);
    add_range(&all, 1, 100);

    /* merging 1..39 into 40..100 gives the histogram of 1..100 */
    ASSERT_OK(pvt_hist_merge(&a, &b));
    ASSERT_UEQ(a.count, 100);
    ASSERT_UEQ(a.min, 1);
    ASSERT_UEQ(a.max, 100);
    ASSERT_UEQ(a.sum, 5050);
    for (k = 0; k < PVT_HIST_BUCKETS; k++)
        ASSERT_UEQ(a.bucket[k], all.bucket[k]);
    ASSERT_UEQ(quantile(&a, 500), 63);

    /* an empty source changes nothing (its min/max are not valid) */
    copy = a;
    ASSERT_OK(pvt_hist_merge(&a, &empty));
    ASSERT_UEQ(a.count, copy.count);
    ASSERT_UEQ(a.min, 1);
    ASSERT_UEQ(a.max, 100);
    ASSERT_UEQ(a.sum, copy.sum);
    for (k = 0; k < PVT_HIST_BUCKETS; k++)
        ASSERT_UEQ(a.bucket[k], copy.bucket[k]);

    /* into an empty destination: min and max come from the source, even
     * though the destination's (invalid) min is 0 */
    ASSERT_OK(pvt_hist_merge(&empty, &b));
    ASSERT_UEQ(empty.count, 39);
    ASSERT_UEQ(empty.min, 1);
    ASSERT_UEQ(empty.max, 39);
    ASSERT_OK(pvt_hist_init(&empty));
    ASSERT_OK(pvt_hist_init(&copy));
    pvt_hist_add(&copy, 500);
    ASSERT_OK(pvt_hist_merge(&empty, &copy));
    ASSERT_UEQ(empty.min, 500);
    ASSERT_UEQ(empty.max, 500);

    /* the sum saturates */
    ASSERT_OK(pvt_hist_init(&b));
    pvt_hist_add(&b, UINT64_MAX - 10);
    ASSERT_OK(pvt_hist_merge(&a, &b));
    ASSERT_UEQ(a.sum, UINT64_MAX);
    ASSERT_UEQ(a.max, UINT64_MAX - 10);
    ASSERT_UEQ(a.min, 1);
    ASSERT_UEQ(a.count, 101);

    ASSERT_ERR(pvt_hist_merge(NULL, &b), PVT_EINVAL);
    ASSERT_ERR(pvt_hist_merge(&a, NULL), PVT_EINVAL);
    RETURN_OK();
}

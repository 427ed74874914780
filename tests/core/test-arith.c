/*
 * The core's internal arithmetic for targets without 64-bit registers or a
 * 128-bit type: util.h's div64 and ctz helpers and int128.h.
 *
 * The portable paths (*_bits) are built on every target, so they are
 * checked here on the host too, where the plain operators are the
 * reference. Expected values are derived by hand in the comments; random
 * operands are checked against the compiler's __int128 where it has one,
 * and everywhere against the defining identities (n = q * d + r, r < d),
 * computed with the helpers' own multiply, which the hand values check.
 */
#include "pvtimer/base.h"
#include "rng.h"
#include "runner/test.h"

/* internal headers of the core, not installed */
#include "../../src/core/int128.h"

#define I128(hi, lo) ((struct pvt__i128){(hi), (lo)})

static bool i128_eq(struct pvt__i128 a, struct pvt__i128 b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

#ifdef __SIZEOF_INT128__
typedef __int128 s128;
typedef unsigned __int128 u128;

static bool i128_is(struct pvt__i128 a, u128 ref)
{
    return a.hi == (uint64_t)(ref >> 64) && a.lo == (uint64_t)ref;
}

static u128 to_u128(struct pvt__i128 a)
{
    return (u128)a.hi << 64 | a.lo;
}

/* -1, 0 or 1 as a <, ==, > b */
static int order_s(s128 a, s128 b)
{
    return a < b ? -1 : a > b;
}

static int order_u(u128 a, u128 b)
{
    return a < b ? -1 : a > b;
}
#endif

TEST_IMPL(arith_div64_by_hand)
{
    uint64_t rem;

    ASSERT_UEQ(pvt__div64_u64_bits(7, 2, &rem), 3);
    ASSERT_UEQ(rem, 1);
    ASSERT_UEQ(pvt__div64_u64_bits(2, 7, &rem), 0);
    ASSERT_UEQ(rem, 2);
    ASSERT_UEQ(pvt__div64_u64_bits(0, 1, &rem), 0);
    ASSERT_UEQ(rem, 0);
    /* 2^64 - 1 = 3 * 5 * 17 * 257 * 641 * 65537 * 6700417 */
    ASSERT_UEQ(pvt__div64_u64_bits(UINT64_MAX, 641ull * 6700417, &rem),
               3ull * 5 * 17 * 257 * 65537);
    ASSERT_UEQ(rem, 0);
    ASSERT_UEQ(pvt__div64_u64_bits(UINT64_MAX, 1, &rem), UINT64_MAX);
    ASSERT_UEQ(pvt__div64_u64_bits(UINT64_MAX, UINT64_MAX, &rem), 1);
    ASSERT_UEQ(rem, 0);
    /* (2^64 - 1) / 2^63 = 1 rem 2^63 - 1 */
    ASSERT_UEQ(pvt__div64_u64_bits(UINT64_MAX, 1ull << 63, &rem), 1);
    ASSERT_UEQ(rem, (1ull << 63) - 1);
    /* 10^6 << 32 / 10^6 = 2^32: pvt_pvclock_tsc_khz's dividend */
    ASSERT_UEQ(pvt__div64_u64_bits(1000000ull << 32, 1000000, &rem),
               1ull << 32);
    ASSERT_UEQ(rem, 0);
    /* the dispatchers agree with the operators whatever the target */
    ASSERT_UEQ(pvt__div64_u64(1000000000007ull, 1000), 1000000000);
    ASSERT_UEQ(pvt__div64_u64_rem(1000000000007ull, 1000, &rem), 1000000000);
    ASSERT_UEQ(rem, 7);
    /* signed: towards zero, as C's `/` */
    ASSERT_EQ(pvt__div64_s64_bits(-7, 2), -3);
    ASSERT_EQ(pvt__div64_s64_bits(7, -2), -3);
    ASSERT_EQ(pvt__div64_s64_bits(-7, -2), 3);
    ASSERT_EQ(pvt__div64_s64_bits(-49, 50), 0);
    ASSERT_EQ(pvt__div64_s64_bits(INT64_MIN, 1), INT64_MIN);
    ASSERT_EQ(pvt__div64_s64_bits(INT64_MIN, 2), -(1ll << 62));
    ASSERT_EQ(pvt__div64_s64_bits(INT64_MIN, INT64_MIN), 1);
    ASSERT_EQ(pvt__div64_s64_bits(INT64_MAX, INT64_MIN), 0);
    ASSERT_EQ(pvt__div64_s64(-100, 50), -2);
    RETURN_OK();
}

TEST_IMPL(arith_div64_random)
{
    struct rng r;
    int i;

    rng_seed(&r, 0xd1f64);
    for (i = 0; i < 200000; i++) {
        uint64_t n = rng_wide(&r), d = rng_wide(&r), q, rem;
        int64_t sn = (int64_t)rng_wide(&r), sd = (int64_t)rng_wide(&r);
        if (d == 0)
            d = 1;
        q = pvt__div64_u64_bits(n, d, &rem);
        ASSERT_ULT(rem, d);
        ASSERT_TRUE(i128_eq(
            pvt__i128_add(pvt__u128_mul_u64(q, d), I128(0, rem)), I128(0, n)));
        ASSERT_UEQ(q, n / d); /* the plain operator, on this target */
        ASSERT_UEQ(rem, n % d);
        /* both signs, as often */
        if (rng_next(&r) & 1)
            sn = -sn;
        if (rng_next(&r) & 1)
            sd = -sd;
        if (sd == 0 || (sn == INT64_MIN && sd == -1))
            continue;
        ASSERT_EQ(pvt__div64_s64_bits(sn, sd), sn / sd);
    }
    RETURN_OK();
}

TEST_IMPL(arith_ctz64)
{
    unsigned int k;

    ASSERT_UEQ(pvt__ctz64(1), 0);
    ASSERT_UEQ(pvt__ctz64(UINT64_MAX), 0);
    ASSERT_UEQ(pvt__ctz64(0x100000000ull), 32);
    ASSERT_UEQ(pvt__ctz64(0x8000000000000000ull), 63);
    ASSERT_UEQ(pvt__ctz64(0x0000000180000000ull), 31);
    for (k = 0; k < 64; k++)
        ASSERT_UEQ(pvt__ctz64((UINT64_MAX << k) | (1ull << 63)), k);
    RETURN_OK();
}

TEST_IMPL(arith_int128_by_hand)
{
    const struct pvt__i128 zero = I128(0, 0), minus1 = I128(-1ull, -1ull);
    struct pvt__i128 a;

    /* products: (2^64 - 1)^2 = 2^128 - 2^65 + 1 */
    ASSERT_TRUE(i128_eq(pvt__u128_mul_u64(UINT64_MAX, UINT64_MAX),
                        I128(UINT64_MAX - 1, 1)));
    /* (2^32 - 1)^2 = 2^64 - 2^33 + 1 */
    ASSERT_TRUE(i128_eq(pvt__u128_mul_u64(0xffffffffu, 0xffffffffu),
                        I128(0, 0xfffffffe00000001ull)));
    /* (2^64 - 1) * (2^32 + 1) = 2^96 + (2^64 - 2^32 - 1): carries out of
     * the middle column */
    ASSERT_TRUE(i128_eq(pvt__u128_mul_u64(UINT64_MAX, 0x100000001ull),
                        I128(1ull << 32, 0xfffffffeffffffffull)));
    ASSERT_TRUE(i128_eq(pvt__u128_mul_u64(0x8000000080000000ull, 4),
                        I128(2, 0x200000000ull)));
    /* signed: (-2^63)^2 = 2^126; -2^63 * (2^63 - 1) = -2^126 + 2^63 */
    ASSERT_TRUE(
        i128_eq(pvt__i128_mul_s64(INT64_MIN, INT64_MIN), I128(1ull << 62, 0)));
    ASSERT_TRUE(i128_eq(pvt__i128_mul_s64(INT64_MIN, INT64_MAX),
                        I128(0xc000000000000000ull, 1ull << 63)));
    ASSERT_TRUE(i128_eq(pvt__i128_mul_s64(-1, 1), minus1));
    ASSERT_TRUE(i128_eq(pvt__i128_mul_s64(-3, -5), I128(0, 15)));
    ASSERT_TRUE(i128_eq(pvt__i128_mul_s64(-3, 0), zero));

    /* sums, carries and borrows across the halves */
    ASSERT_TRUE(
        i128_eq(pvt__i128_add(I128(0, UINT64_MAX), I128(0, 1)), I128(1, 0)));
    ASSERT_TRUE(
        i128_eq(pvt__i128_sub(I128(1, 0), I128(0, 1)), I128(0, UINT64_MAX)));
    ASSERT_TRUE(i128_eq(pvt__i128_add(minus1, I128(0, 1)), zero));
    ASSERT_TRUE(i128_eq(pvt__i128_neg(I128(0, 1)), minus1));
    ASSERT_TRUE(i128_eq(pvt__i128_from_s64(-2), I128(-1ull, -2ull)));
    ASSERT_EQ(pvt__i128_to_s64(pvt__i128_from_s64(INT64_MIN)), INT64_MIN);

    /* order: -1 below 0 as signed, above it as unsigned */
    ASSERT_EQ(pvt__i128_cmp(minus1, zero), -1);
    ASSERT_EQ(pvt__u128_cmp(minus1, zero), 1);
    ASSERT_EQ(pvt__i128_cmp(I128(0, 2), I128(0, 1)), 1);
    ASSERT_EQ(pvt__i128_cmp(I128(5, 7), I128(5, 7)), 0);
    ASSERT_TRUE(pvt__i128_is_neg(minus1));
    ASSERT_FALSE(pvt__i128_is_neg(I128(INT64_MAX, UINT64_MAX)));

    /* shifts: 1 << 127; -2^64 >> 1 = -2^63; -3 >> 1 = -2 (floor) */
    ASSERT_TRUE(i128_eq(pvt__i128_shl(I128(0, 1), 127), I128(1ull << 63, 0)));
    ASSERT_TRUE(i128_eq(pvt__i128_shl(I128(0, 3), 63), I128(1, 1ull << 63)));
    ASSERT_TRUE(
        i128_eq(pvt__i128_sar(I128(-1ull, 0), 1), I128(-1ull, 1ull << 63)));
    ASSERT_TRUE(i128_eq(pvt__i128_sar(pvt__i128_from_s64(-3), 1),
                        pvt__i128_from_s64(-2)));
    ASSERT_TRUE(i128_eq(pvt__i128_sar(minus1, 100), minus1));
    ASSERT_TRUE(i128_eq(pvt__i128_sar(I128(1ull << 62, 0), 126), I128(0, 1)));
    ASSERT_TRUE(i128_eq(pvt__u128_shr(minus1, 127), I128(0, 1)));
    ASSERT_TRUE(i128_eq(pvt__u128_shr(I128(1, 0), 1), I128(0, 1ull << 63)));
    ASSERT_UEQ(pvt__u128_clz(zero), 128);
    ASSERT_UEQ(pvt__u128_clz(I128(0, 1)), 127);
    ASSERT_UEQ(pvt__u128_clz(minus1), 0);

    /* division: 2^127 / 3 = 0x2aaa...aa (32 digits) remainder 2 */
    ASSERT_TRUE(i128_eq(pvt__u128_div(I128(1ull << 63, 0), I128(0, 3)),
                        I128(0x2aaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaaaaull)));
    /* (2^96 + 5) / 2^32 = 2^64 */
    ASSERT_TRUE(i128_eq(pvt__u128_div(I128(1ull << 32, 5), I128(0, 1ull << 32)),
                        I128(1, 0)));
    /* 10^30 / 10^12 = 10^18 (10^30 from the product the hand values check) */
    a = pvt__u128_mul_u64(1000000000000000ull, 1000000000000000ull);
    ASSERT_TRUE(i128_eq(pvt__u128_div(a, I128(0, 1000000000000ull)),
                        I128(0, 1000000000000000000ull)));
    /* a divisor above the dividend; equal ones; a 64-bit pair */
    ASSERT_TRUE(i128_eq(pvt__u128_div(I128(1, 0), I128(1, 1)), zero));
    ASSERT_TRUE(i128_eq(pvt__u128_div(I128(9, 9), I128(9, 9)), I128(0, 1)));
    ASSERT_TRUE(i128_eq(pvt__u128_div(I128(0, 100), I128(0, 7)), I128(0, 14)));
    /* signed, towards zero: -7 / 2 = -3; -(2^100 + 1) / 2^40 = -2^60 */
    ASSERT_TRUE(i128_eq(pvt__i128_div(pvt__i128_from_s64(-7), I128(0, 2)),
                        pvt__i128_from_s64(-3)));
    ASSERT_TRUE(i128_eq(
        pvt__i128_div(pvt__i128_neg(I128(1ull << 36, 1)), I128(0, 1ull << 40)),
        pvt__i128_from_s64(-(1ll << 60))));
    RETURN_OK();
}

TEST_IMPL(arith_int128_random)
{
    struct rng r;
    int i;

    rng_seed(&r, 0x128);
    for (i = 0; i < 50000; i++) {
        uint64_t a = rng_wide(&r), b = rng_wide(&r), c = rng_wide(&r);
        int64_t sa = (int64_t)rng_wide(&r), sb = (int64_t)rng_wide(&r);
        unsigned int k = (unsigned int)(rng_next(&r) % 128);
        struct pvt__i128 n = I128(rng_wide(&r), c), d, q, rem;
        if (rng_next(&r) & 1)
            sa = -sa;
        if (rng_next(&r) & 1)
            sb = -sb;
        d = rng_next(&r) & 1 ? I128(0, b) : I128(rng_wide(&r), b);
        if (pvt__i128_is_zero(d))
            d = I128(0, 1);
        /* n = q * d + rem with rem < d, modulo 2^128: q * d from 64-bit
         * pieces when the divisor has one half */
        q = pvt__u128_div(n, d);
        if (d.hi == 0) {
            struct pvt__i128 qd = pvt__u128_mul_u64(q.lo, d.lo);
            qd.hi += q.hi * d.lo;
            rem = pvt__i128_sub(n, qd);
            ASSERT_EQ(pvt__u128_cmp(rem, d), -1);
        }
#ifdef __SIZEOF_INT128__
        ASSERT_TRUE(i128_is(pvt__u128_mul_u64(a, b), (u128)a * b));
        ASSERT_TRUE(i128_is(pvt__i128_mul_s64(sa, sb), (u128)((s128)sa * sb)));
        ASSERT_TRUE(i128_is(pvt__i128_add(n, d), to_u128(n) + to_u128(d)));
        ASSERT_TRUE(i128_is(pvt__i128_sub(n, d), to_u128(n) - to_u128(d)));
        ASSERT_TRUE(i128_is(pvt__i128_shl(n, k), to_u128(n) << k));
        ASSERT_TRUE(i128_is(pvt__u128_shr(n, k), to_u128(n) >> k));
        ASSERT_TRUE(
            i128_is(pvt__i128_sar(n, k), (u128)((s128)to_u128(n) >> k)));
        ASSERT_EQ(pvt__i128_cmp(n, d),
                  order_s((s128)to_u128(n), (s128)to_u128(d)));
        ASSERT_EQ(pvt__u128_cmp(n, d), order_u(to_u128(n), to_u128(d)));
        ASSERT_TRUE(i128_is(q, to_u128(n) / to_u128(d)));
        /* signed division by a positive divisor (the fit's den > 0) */
        d.hi &= INT64_MAX;
        if (!pvt__i128_is_zero(d) && !i128_eq(n, I128(1ull << 63, 0)))
            ASSERT_TRUE(i128_is(pvt__i128_div(n, d),
                                (u128)((s128)to_u128(n) / (s128)to_u128(d))));
#else
        (void)a;
        (void)sa;
        (void)sb;
        (void)k;
#endif
    }
    RETURN_OK();
}

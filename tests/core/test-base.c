/*
 * base.h: saturating additions, the 64x32 multiply-shift, error strings.
 * Reference values come from 128-bit arithmetic in the test.
 */
#include "pvtimer/base.h"
#include "rng.h"
#include "runner/test.h"

typedef unsigned __int128 u128;

static uint64_t ref_mul_shr(uint64_t a, uint32_t mul, unsigned int shift,
                            bool ceil)
{
    u128 p = (u128)a * mul;
    u128 q = p >> shift;
    if (ceil && (p & (((u128)1 << shift) - 1)))
        q++;
    return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

TEST_IMPL(base_add_sat)
{
    ASSERT_EQ(pvt_add_sat_s64(1, 2), 3);
    ASSERT_EQ(pvt_add_sat_s64(INT64_MAX, 1), INT64_MAX);
    ASSERT_EQ(pvt_add_sat_s64(INT64_MAX - 5, 5), INT64_MAX);
    ASSERT_EQ(pvt_add_sat_s64(INT64_MIN, -1), INT64_MIN);
    ASSERT_EQ(pvt_add_sat_s64(-5, 3), -2);
    ASSERT_UEQ(pvt_add_sat_u64(UINT64_MAX - 1, 1), UINT64_MAX);
    ASSERT_UEQ(pvt_add_sat_u64(UINT64_MAX - 1, 2), UINT64_MAX);
    ASSERT_UEQ(pvt_add_sat_u64(UINT64_MAX, UINT64_MAX), UINT64_MAX);
    ASSERT_UEQ(pvt_add_sat_u64(40, 2), 42);
    RETURN_OK();
}

TEST_IMPL(base_mul_shr_edges)
{
    /* hand-derived: (2^64 - 1) * 2 >> 1 = 2^64 - 1 */
    ASSERT_UEQ(pvt_mul_u64_u32_shr(UINT64_MAX, 2, 1), UINT64_MAX);
    /* the largest operands, against 128-bit arithmetic */
    ASSERT_UEQ(pvt_mul_u64_u32_shr(UINT64_MAX, UINT32_MAX, 32),
               ref_mul_shr(UINT64_MAX, UINT32_MAX, 32, false));
    /* does not fit: saturates */
    ASSERT_UEQ(pvt_mul_u64_u32_shr(UINT64_MAX, 3, 0), UINT64_MAX);
    ASSERT_UEQ(pvt_mul_u64_u32_shr(1ull << 63, 4, 1), UINT64_MAX);
    ASSERT_UEQ(pvt_mul_u64_u32_shr(0, UINT32_MAX, 7), 0);
    ASSERT_UEQ(pvt_mul_u64_u32_shr(1000, 1, 0), 1000);
    /* 3 * 3 / 2 = 4.5: floor 4, ceil 5 */
    ASSERT_UEQ(pvt_mul_u64_u32_shr(3, 3, 1), 4);
    ASSERT_UEQ(pvt_mul_u64_u32_shr_ceil(3, 3, 1), 5);
    ASSERT_UEQ(pvt_mul_u64_u32_shr_ceil(4, 3, 2), 3);
    ASSERT_UEQ(pvt_mul_u64_u32_shr_ceil(UINT64_MAX, UINT32_MAX, 63),
               ref_mul_shr(UINT64_MAX, UINT32_MAX, 63, true));
    RETURN_OK();
}

TEST_IMPL(base_mul_shr_random)
{
    struct rng r;
    int i;

    rng_seed(&r, 0x5eed);
    for (i = 0; i < 200000; i++) {
        uint64_t a = rng_wide(&r);
        uint32_t mul = (uint32_t)rng_wide(&r);
        unsigned int shift = (unsigned int)(rng_next(&r) % 64);
        ASSERT_UEQ(pvt_mul_u64_u32_shr(a, mul, shift),
                   ref_mul_shr(a, mul, shift, false));
        ASSERT_UEQ(pvt_mul_u64_u32_shr_ceil(a, mul, shift),
                   ref_mul_shr(a, mul, shift, true));
    }
    RETURN_OK();
}

TEST_IMPL(base_strerror)
{
    ASSERT_STR_EQ(pvt_strerror(-PVT_EINVAL), "invalid argument");
    ASSERT_STR_EQ(pvt_strerror(PVT_EINVAL), "invalid argument");
    ASSERT_STR_EQ(pvt_strerror(-PVT_ETIME), "deadline in the past or refused");
    ASSERT_STR_EQ(pvt_strerror(0), "success");
    ASSERT_STR_EQ(pvt_strerror(12345), "unknown error");
    ASSERT_STR_EQ(pvt_strerror(INT32_MIN), "unknown error");
    RETURN_OK();
}

/*
 * Internal helpers of the freestanding core (not installed).
 */
#ifndef PVTIMER_CORE_UTIL_H
#define PVTIMER_CORE_UTIL_H

#include "pvtimer/base.h"

/* strcmp without libc. */
static inline int pvt__strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

/* 64-bit registers (taken as: 64-bit pointers); see the div64 helpers. */
#if UINTPTR_MAX > 0xffffffffu
#define PVT__REGS64 1
#else
#define PVT__REGS64 0
#endif

/* Number of significant bits of x (0 for 0), like Linux's fls64(). */
static inline unsigned int pvt__fls64(uint64_t x)
{
    return x ? 64u - (unsigned int)__builtin_clzll(x) : 0u;
}

/*
 * Trailing zero bits of x, for x != 0 (like Linux's __ffs64()). On a
 * 32-bit target __builtin_ctzll() is a libgcc call (__ctzdi2); two 32-bit
 * counts are inline everywhere.
 */
static inline unsigned int pvt__ctz64(uint64_t x)
{
#if PVT__REGS64
    return (unsigned int)__builtin_ctzll(x);
#else
    uint32_t lo = (uint32_t)x;

    if (lo)
        return (unsigned int)__builtin_ctz(lo);
    return 32u + (unsigned int)__builtin_ctz((uint32_t)(x >> 32));
#endif
}

/*
 * 64-bit division without libgcc. On a 32-bit target `/` and `%` on 64-bit
 * operands become calls to libgcc (__udivdi3, __umoddi3, __udivmoddi4,
 * __divdi3, __moddi3), which a freestanding guest would have to link; the
 * core divides 64-bit numbers only through these helpers, as Linux does
 * with div64.h. PVT__REGS64 is 1 where the target has 64-bit registers
 * (taken as: 64-bit pointers): there the helpers are the plain operators
 * and the generated code is unchanged. Elsewhere the *_bits() versions do
 * the work with shifts, compares and subtractions, which every 32-bit
 * target has inline. (pvclock.c uses PVT__REGS64 for 8-byte atomics too.)
 */

/*
 * n / d with *rem = n % d, for d != 0 and any n: restoring division, one
 * step per quotient bit (at most 64), after lining up the divisor's top bit
 * with the dividend's. The portable path of the helpers below; built on
 * every target so that the tests can check it on the host.
 */
static inline uint64_t pvt__div64_u64_bits(uint64_t n, uint64_t d,
                                           uint64_t *rem)
{
    uint64_t q = 0;
    int i, steps;

    if (d > n) {
        *rem = n;
        return 0;
    }
    /* n >= d > 0: the quotient has fls(n) - fls(d) + 1 bits at most */
    steps = (int)pvt__fls64(n) - (int)pvt__fls64(d);
    d <<= steps;
    for (i = steps; i >= 0; i--) {
        q <<= 1;
        if (n >= d) {
            n -= d;
            q |= 1;
        }
        d >>= 1;
    }
    *rem = n;
    return q;
}

/* n / d and *rem = n % d, d != 0 (the caller's to ensure, as for `/`). */
static inline uint64_t pvt__div64_u64_rem(uint64_t n, uint64_t d, uint64_t *rem)
{
#if PVT__REGS64
    *rem = n % d;
    return n / d;
#else
    return pvt__div64_u64_bits(n, d, rem);
#endif
}

/* n / d, d != 0. */
static inline uint64_t pvt__div64_u64(uint64_t n, uint64_t d)
{
#if PVT__REGS64
    return n / d;
#else
    uint64_t rem;
    return pvt__div64_u64_bits(n, d, &rem);
#endif
}

/* n / d rounded towards zero, as C's `/`, for d != 0 and not INT64_MIN / -1
 * (whose quotient does not fit): the portable path, on the magnitudes. */
static inline int64_t pvt__div64_s64_bits(int64_t n, int64_t d)
{
    /* -(uint64_t)INT64_MIN is 2^63, exactly */
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
    uint64_t rem, q = pvt__div64_u64_bits(un, ud, &rem);

    /* back to int64_t modulo 2^64 (GCC's rule), so that INT64_MIN / 1,
     * whose magnitude is 2^63, comes out right too */
    return (n < 0) != (d < 0) ? (int64_t)(0 - q) : (int64_t)q;
}

/* n / d as C's `/` (same conditions). */
static inline int64_t pvt__div64_s64(int64_t n, int64_t d)
{
#if PVT__REGS64
    return n / d;
#else
    return pvt__div64_s64_bits(n, d);
#endif
}

/*
 * ceil((x << shift) / div) for shift <= 32 and div != 0, saturating at
 * UINT64_MAX, with 64-bit operations only (no libgcc 128-bit division in
 * the freestanding core). The dividend has at most 96 bits and is split in
 * three 32-bit digits; schoolbook long division by a 32-bit divisor keeps
 * every partial dividend (remainder << 32 | digit) below 2^64.
 */
static inline uint64_t pvt__shl_div_ceil(uint64_t x, unsigned int shift,
                                         uint32_t div)
{
    uint64_t d2, d1, d0, q2, q1, q0, r, t;
    /* the 96-bit number x << shift as digits d2:d1:d0 of 32 bits each */
    if (shift == 0) {
        d2 = 0;
        d1 = x >> 32;
        d0 = x & 0xffffffffu;
    } else {
        uint64_t hi = x >> (64 - shift); /* bits above 64, < 2^32 */
        uint64_t lo = x << shift;
        d2 = hi;
        d1 = lo >> 32;
        d0 = lo & 0xffffffffu;
    }
    q2 = pvt__div64_u64_rem(d2, div, &r);
    t = (r << 32) | d1;
    q1 = pvt__div64_u64_rem(t, div, &r);
    t = (r << 32) | d0;
    q0 = pvt__div64_u64_rem(t, div, &r);
    /* quotient = q2 * 2^64 + q1 * 2^32 + q0, with q1, q0 < 2^32 + ... */
    if (q2 != 0 || (q1 >> 32) != 0)
        return UINT64_MAX;
    t = (q1 << 32) + q0;
    if (t < q0)
        return UINT64_MAX;
    if (r != 0)
        return t == UINT64_MAX ? UINT64_MAX : t + 1;
    return t;
}

/*
 * (a * mul + add) >> shift for shift <= 32 and add < 2^32, with the low
 * `shift` bits of the sum in *rem (may be NULL). The sum has at most 97
 * bits: it is kept as top (weight 2^32) and bottom (32 bits). Saturates at
 * UINT64_MAX.
 */
static inline uint64_t pvt__mul_add_shr(uint64_t a, uint32_t mul, uint64_t add,
                                        unsigned int shift, uint64_t *rem)
{
#if PVT__REGS64 && defined(__SIZEOF_INT128__)
    /* one 64 x 32 multiply: the same value (every clock read takes it) */
    unsigned __int128 p = (unsigned __int128)a * mul + add;

    if (shift > 32)
        shift = 32;
    if (rem)
        *rem = (uint64_t)p & ((1ull << shift) - 1);
    p >>= shift;
    return (uint64_t)(p >> 64) ? UINT64_MAX : (uint64_t)p;
#else
    uint64_t lo = (a & 0xffffffffu) * mul;
    uint64_t hi = (a >> 32) * mul;
    uint64_t bottom = (lo & 0xffffffffu) + add; /* < 2^33 */
    uint64_t top = hi + (lo >> 32) + (bottom >> 32);

    bottom &= 0xffffffffu;
    if (rem)
        *rem = shift >= 32 ? bottom : bottom & ((1ull << shift) - 1);
    if (shift >= 32)
        return top;
    if (top >> (32 + shift))
        return UINT64_MAX;
    return (top << (32 - shift)) | (bottom >> shift);
#endif
}

#endif /* PVTIMER_CORE_UTIL_H */

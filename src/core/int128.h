/*
 * 128-bit integers in two 64-bit halves, for the drift estimator's sums
 * and its one division (internal, not installed).
 *
 * Plain C on 64-bit halves, so the core builds where the compiler has no
 * 128-bit type (32-bit targets): a value is hi * 2^64 + lo in two's
 * complement, read as signed by the pvt__i128_* functions and as unsigned
 * by the pvt__u128_* ones, like one register read either way. Every
 * operation is exact modulo 2^128; the ranges below say when that is the
 * mathematical result. Products are formed from 32-bit pieces and the
 * division by shift and subtract, so nothing here needs libgcc.
 */
#ifndef PVTIMER_CORE_INT128_H
#define PVTIMER_CORE_INT128_H

#include "util.h"

struct pvt__i128 {
    uint64_t hi;
    uint64_t lo;
};

static inline struct pvt__i128 pvt__i128_from_s64(int64_t v)
{
    struct pvt__i128 r = {v < 0 ? UINT64_MAX : 0, (uint64_t)v};
    return r;
}

/* The low 64 bits as int64_t: the value itself when it is in
 * [INT64_MIN, INT64_MAX]. */
static inline int64_t pvt__i128_to_s64(struct pvt__i128 a)
{
    return (int64_t)a.lo;
}

static inline bool pvt__i128_is_neg(struct pvt__i128 a)
{
    return (a.hi >> 63) != 0;
}

static inline bool pvt__i128_is_zero(struct pvt__i128 a)
{
    return (a.hi | a.lo) == 0;
}

/* a + b and a - b, signed or unsigned alike (modulo 2^128). */
static inline struct pvt__i128 pvt__i128_add(struct pvt__i128 a,
                                             struct pvt__i128 b)
{
    struct pvt__i128 r;

    r.lo = a.lo + b.lo;
    r.hi = a.hi + b.hi + (r.lo < a.lo);
    return r;
}

static inline struct pvt__i128 pvt__i128_sub(struct pvt__i128 a,
                                             struct pvt__i128 b)
{
    struct pvt__i128 r;

    r.lo = a.lo - b.lo;
    r.hi = a.hi - b.hi - (a.lo < b.lo);
    return r;
}

static inline struct pvt__i128 pvt__i128_neg(struct pvt__i128 a)
{
    struct pvt__i128 zero = {0, 0};
    return pvt__i128_sub(zero, a);
}

/* -1, 0 or 1 as a <, ==, > b: signed, and unsigned. */
static inline int pvt__i128_cmp(struct pvt__i128 a, struct pvt__i128 b)
{
    if (a.hi != b.hi)
        return (int64_t)a.hi < (int64_t)b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static inline int pvt__u128_cmp(struct pvt__i128 a, struct pvt__i128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* a << n for n < 128: a * 2^n, signed or unsigned, when it fits. */
static inline struct pvt__i128 pvt__i128_shl(struct pvt__i128 a, unsigned int n)
{
    struct pvt__i128 r;

    if (n == 0)
        return a;
    if (n >= 64) {
        r.hi = a.lo << (n - 64);
        r.lo = 0;
    } else {
        r.hi = (a.hi << n) | (a.lo >> (64 - n));
        r.lo = a.lo << n;
    }
    return r;
}

/* a >> n for n < 128, unsigned (zeros in) and signed (the sign in: floor
 * of a / 2^n, as GCC's >> on a negative __int128). */
static inline struct pvt__i128 pvt__u128_shr(struct pvt__i128 a, unsigned int n)
{
    struct pvt__i128 r;

    if (n == 0)
        return a;
    if (n >= 64) {
        r.lo = a.hi >> (n - 64);
        r.hi = 0;
    } else {
        r.lo = (a.lo >> n) | (a.hi << (64 - n));
        r.hi = a.hi >> n;
    }
    return r;
}

static inline struct pvt__i128 pvt__i128_sar(struct pvt__i128 a, unsigned int n)
{
    /* an arithmetic shift is the logical one of the complement, complemented:
     * ~(~a >> n) fills with ones exactly where the sign is 1 */
    if (pvt__i128_is_neg(a)) {
        struct pvt__i128 c = {~a.hi, ~a.lo};
        c = pvt__u128_shr(c, n);
        c.hi = ~c.hi;
        c.lo = ~c.lo;
        return c;
    }
    return pvt__u128_shr(a, n);
}

/* a * b, unsigned 64 x 64 -> 128 bits, from four 32 x 32 -> 64 products. */
static inline struct pvt__i128 pvt__u128_mul_u64(uint64_t a, uint64_t b)
{
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32;
    uint64_t b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    /* the weight-2^32 column: three numbers below 2^32 */
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    struct pvt__i128 r;

    r.lo = (mid << 32) | (p00 & 0xffffffffu);
    r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return r;
}

/* a * b, signed 64 x 64 -> 128 bits (always fits). As unsigned numbers a
 * negative a is a + 2^64, so the unsigned product carries an extra
 * b * 2^64 (and likewise for b), taken off the high half. */
static inline struct pvt__i128 pvt__i128_mul_s64(int64_t a, int64_t b)
{
    struct pvt__i128 r = pvt__u128_mul_u64((uint64_t)a, (uint64_t)b);

    if (a < 0)
        r.hi -= (uint64_t)b;
    if (b < 0)
        r.hi -= (uint64_t)a;
    return r;
}

/* Leading zero bits of a (128 for 0). */
static inline unsigned int pvt__u128_clz(struct pvt__i128 a)
{
    if (a.hi)
        return 64u - pvt__fls64(a.hi);
    return 128u - pvt__fls64(a.lo);
}

/*
 * n / d, unsigned, for d != 0: floor, any n. A dividend of 64 bits takes
 * one 64-bit division (pvt__div64_u64); a wider one one shift-and-subtract
 * step per quotient bit, as pvt__div64_u64_bits does.
 */
static inline struct pvt__i128 pvt__u128_div(struct pvt__i128 n,
                                             struct pvt__i128 d)
{
    struct pvt__i128 q = {0, 0};
    int i, steps;

    if (pvt__u128_cmp(d, n) > 0)
        return q;
    if (n.hi == 0) {
        q.lo = pvt__div64_u64(n.lo, d.lo);
        return q;
    }
    steps = (int)pvt__u128_clz(d) - (int)pvt__u128_clz(n);
    d = pvt__i128_shl(d, (unsigned int)steps);
    for (i = steps; i >= 0; i--) {
        if (pvt__u128_cmp(n, d) >= 0) {
            n = pvt__i128_sub(n, d);
            if (i >= 64)
                q.hi |= 1ull << (i - 64);
            else
                q.lo |= 1ull << i;
        }
        d = pvt__u128_shr(d, 1);
    }
    return q;
}

/* num / den rounded towards zero (as C's `/`), signed, for den > 0 and
 * num > -2^127. */
static inline struct pvt__i128 pvt__i128_div(struct pvt__i128 num,
                                             struct pvt__i128 den)
{
    bool neg = pvt__i128_is_neg(num);
    struct pvt__i128 q = pvt__u128_div(neg ? pvt__i128_neg(num) : num, den);

    return neg ? pvt__i128_neg(q) : q;
}

#endif /* PVTIMER_CORE_INT128_H */

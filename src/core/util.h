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
}

/*
 * 8-byte atomics that compile inline on every target the core builds for.
 * With PVT__REGS64 they are GCC's __atomic builtins with the order asked
 * for. On a 32-bit target an 8-byte __atomic access needs the FPU or SSE
 * (or libatomic), which a kernel compiled with -mgeneral-regs-only does not
 * have, and C11 _Atomic on a 64-bit value becomes a libatomic call; there
 * every access is the __sync compare-and-swap (cmpxchg8b on x86, inline),
 * a full barrier whatever the order asked for, which is also how a value
 * is loaded (a swap of 0 for 0) and stored.
 */
#if PVT__REGS64
static inline uint64_t pvt__atomic_load_u64(uint64_t *p, int order)
{
    return __atomic_load_n(p, order);
}

/* *p = v if *p == *expected (true); otherwise *expected = *p (false). */
static inline bool pvt__atomic_cas_u64(uint64_t *p, uint64_t *expected,
                                       uint64_t v, int order)
{
    return __atomic_compare_exchange_n(p, expected, v, false, order,
                                       __ATOMIC_RELAXED);
}

static inline void pvt__atomic_store_u64(uint64_t *p, uint64_t v, int order)
{
    __atomic_store_n(p, v, order);
}

static inline void pvt__atomic_inc_u64(uint64_t *p)
{
    (void)__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}
#else
static inline bool pvt__atomic_cas_u64(uint64_t *p, uint64_t *expected,
                                       uint64_t v, int order)
{
    uint64_t seen = __sync_val_compare_and_swap(p, *expected, v);

    (void)order;
    if (seen == *expected)
        return true;
    *expected = seen;
    return false;
}

static inline uint64_t pvt__atomic_load_u64(uint64_t *p, int order)
{
    (void)order;
    return __sync_val_compare_and_swap(p, 0, 0);
}

static inline void pvt__atomic_store_u64(uint64_t *p, uint64_t v, int order)
{
    uint64_t old = pvt__atomic_load_u64(p, order);

    while (!pvt__atomic_cas_u64(p, &old, v, order))
        ;
}

static inline void pvt__atomic_inc_u64(uint64_t *p)
{
    uint64_t old = pvt__atomic_load_u64(p, __ATOMIC_RELAXED);

    while (!pvt__atomic_cas_u64(p, &old, old + 1, __ATOMIC_RELAXED))
        ;
}
#endif

/*
 * Raise *p to v unless it is already higher; returns the value now there
 * (max(old, v)). Relaxed is enough for a never-backwards guard: every
 * update of the one location only increases it, so if read A completes
 * before read B starts (on any CPUs), coherence makes B see A's store or a
 * later one. *clamped, if not NULL, is set when v was below the value.
 */
static inline uint64_t pvt__atomic_max_u64(uint64_t *p, uint64_t v,
                                           bool *clamped)
{
    uint64_t last = pvt__atomic_load_u64(p, __ATOMIC_RELAXED);

    do {
        if (v <= last) {
            if (clamped)
                *clamped = v < last;
            return last;
        }
    } while (!pvt__atomic_cas_u64(p, &last, v, __ATOMIC_RELAXED));
    if (clamped)
        *clamped = false;
    return v;
}

/*
 * 8-byte fields read and written only inside a sequence count (a seqlock):
 * relaxed, and on a 32-bit target two 32-bit halves, each a relaxed atomic.
 * A pair torn by a concurrent writer is a load that saw the writer's
 * stores, which the sequence count's re-check catches like any other
 * (Linux reads such fields plainly).
 */
#if PVT__REGS64
static inline uint64_t pvt__seq_load_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void pvt__seq_store_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
#else
/* A 32-bit view of the 64-bit fields (may_alias: the object is a uint64_t) */
typedef uint32_t __attribute__((__may_alias__)) pvt__half_t;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PVT__LO 0
#define PVT__HI 1
#else
#define PVT__LO 1
#define PVT__HI 0
#endif

static inline uint64_t pvt__seq_load_u64(const uint64_t *p)
{
    const pvt__half_t *h = (const pvt__half_t *)p;
    uint32_t lo = __atomic_load_n(&h[PVT__LO], __ATOMIC_RELAXED);
    uint32_t hi = __atomic_load_n(&h[PVT__HI], __ATOMIC_RELAXED);

    return (uint64_t)hi << 32 | lo;
}

static inline void pvt__seq_store_u64(uint64_t *p, uint64_t v)
{
    pvt__half_t *h = (pvt__half_t *)p;

    __atomic_store_n(&h[PVT__LO], (uint32_t)v, __ATOMIC_RELAXED);
    __atomic_store_n(&h[PVT__HI], (uint32_t)(v >> 32), __ATOMIC_RELAXED);
}
#endif

/* A spin-wait hint (pause), for retry loops. */
static inline void pvt__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* PVTIMER_CORE_UTIL_H */

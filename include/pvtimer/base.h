/*
 * pvtimer: basic types, error codes and overflow-safe arithmetic.
 *
 * Self-contained C11 that needs only the compiler's freestanding headers, so
 * it is usable from the freestanding core, a guest kernel and host programs.
 */
#ifndef PVTIMER_BASE_H
#define PVTIMER_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes. Every public function returns 0 (or a documented non-negative
 * value) on success and one of these, negated, on failure. The numbers are
 * Linux's errno values, so on a Linux host -PVT_EINVAL == -EINVAL; the core
 * cannot include <errno.h> because it is freestanding.
 */
#define PVT_ENOENT     2  /* no such object (name not found, not registered) */
#define PVT_EAGAIN     11 /* try again (pvclock page kept changing) */
#define PVT_EBUSY      16 /* object in use (current clocksource, attached) */
#define PVT_EEXIST     17 /* already registered */
#define PVT_EINVAL     22 /* invalid argument */
#define PVT_ERANGE     34 /* value out of range */
#define PVT_ETIME      62 /* deadline in the past / device refused it */
#define PVT_EOVERFLOW  75 /* result does not fit */
#define PVT_EOPNOTSUPP 95 /* device lacks the operation the request needs */

/*
 * Return a short constant description of a pvtimer error code (either sign).
 * Unknown codes give "unknown error". Never NULL.
 */
const char *pvt_strerror(int err);

#define PVT_NSEC_PER_USEC 1000LL
#define PVT_NSEC_PER_MSEC 1000000LL
#define PVT_NSEC_PER_SEC  1000000000LL

/* Guest monotonic time is signed 64-bit ns; this is "never". */
#define PVT_TIME_MAX INT64_MAX

#define PVT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Saturating signed addition: a + b clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t pvt_add_sat_s64(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Saturating unsigned addition: a + b clamped to UINT64_MAX. */
static inline uint64_t pvt_add_sat_u64(uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return UINT64_MAX;
    return r;
}

/*
 * (a * mul) >> shift without losing bits, for shift in [0, 63]. The product
 * is formed in two 64-bit halves (a = ah * 2^32 + al):
 *   a * mul = ah * mul * 2^32 + al * mul,
 * each partial product fits in 64 bits because both factors are < 2^32.
 * The result saturates to UINT64_MAX when it does not fit in 64 bits. Works on
 * any target without a 128-bit type; this is pvclock's "64x32 multiply".
 */
#if defined(__SIZEOF_INT128__) && UINTPTR_MAX > 0xffffffffu
/* 64-bit targets with a 128-bit type: one multiply, the same values. */
#define PVT__HAVE_U128 1
__extension__ typedef unsigned __int128 pvt__u128;
#else
#define PVT__HAVE_U128 0
#endif

static inline uint64_t pvt_mul_u64_u32_shr(uint64_t a, uint32_t mul,
                                           unsigned int shift)
{
#if PVT__HAVE_U128
    pvt__u128 q = ((pvt__u128)a * mul) >> shift;

    return (uint64_t)(q >> 64) ? UINT64_MAX : (uint64_t)q;
#else
    uint64_t lo = (a & 0xffffffffu) * mul; /* < 2^64 */
    uint64_t hi = (a >> 32) * mul;         /* < 2^64, weight 2^32 */
    /* full product = hi * 2^32 + lo, a 96-bit number: top = hi + (lo >> 32) */
    uint64_t top = hi + (lo >> 32);     /* weight 2^32, cannot overflow */
    uint64_t bottom = lo & 0xffffffffu; /* weight 1 */
    if (shift >= 32) {
        return top >> (shift - 32);
    }
    /* result = (top * 2^32 + bottom) >> shift = top << (32 - shift) + ... */
    if (top >> (32 + shift) != 0)
        return UINT64_MAX;
    return (top << (32 - shift)) | (bottom >> shift);
#endif
}

/*
 * Like pvt_mul_u64_u32_shr but rounds up: the smallest r with
 * r * 2^shift >= a * mul. Saturates to UINT64_MAX.
 */
static inline uint64_t pvt_mul_u64_u32_shr_ceil(uint64_t a, uint32_t mul,
                                                unsigned int shift)
{
#if PVT__HAVE_U128
    pvt__u128 p = (pvt__u128)a * mul, q = p >> shift;
    uint64_t r = (uint64_t)q;

    if ((uint64_t)(q >> 64) || r == UINT64_MAX || shift == 0)
        return (uint64_t)(q >> 64) ? UINT64_MAX : r;
    return (p & (((pvt__u128)1 << shift) - 1)) ? r + 1 : r;
#else
    uint64_t r = pvt_mul_u64_u32_shr(a, mul, shift);
    uint64_t lo = (a & 0xffffffffu) * mul;
    uint64_t hi = (a >> 32) * mul;
    uint64_t low_bits;
    if (r == UINT64_MAX || shift == 0)
        return r;
    /* the bits shifted out: the low `shift` bits of the 96-bit product */
    if (shift <= 32) {
        low_bits = lo & ((1ull << shift) - 1);
    } else {
        uint64_t top = hi + (lo >> 32);
        low_bits = (lo & 0xffffffffu) | (top & ((1ull << (shift - 32)) - 1));
    }
    return low_bits ? r + 1 : r;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_BASE_H */

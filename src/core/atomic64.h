/*
 * Internal atomics of the freestanding core (not installed): 8-byte
 * atomics and seqlock field accessors that compile inline on every target
 * the core builds for, with no libatomic and no libgcc.
 */
#ifndef PVTIMER_CORE_ATOMIC64_H
#define PVTIMER_CORE_ATOMIC64_H

#include "util.h" /* PVT__REGS64 */

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

#endif /* PVTIMER_CORE_ATOMIC64_H */

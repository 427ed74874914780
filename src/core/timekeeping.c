/*
 * The guest's monotonic clock: anchor + converted counter delta, never
 * backwards, continuous across clocksource switches; read by every vCPU at
 * once while one changes it.
 *
 * Concurrency. The anchor (cs, cycle_last, base_ns, frac) is guarded by a
 * sequence count, as Linux's timekeeping guards its tk_read_base:
 *
 *   writer                              reader
 *   W1 seq even -> odd (CAS, relaxed)   R1 s1 = seq            (acquire)
 *   F1 fence               (release)    R2 anchor, counter     (relaxed)
 *   W2 anchor fields       (relaxed)    F2 fence               (acquire)
 *   W3 seq = odd + 1       (release)    R3 s2 = seq            (relaxed)
 *                                       retry if s1 odd or s2 != s1
 *
 * (the argument is pvclock.c's, there for the page's version). The counter
 * is read inside the section, as Linux does: a counter value read before a
 * writer moved the anchor past it would look like a step backwards.
 * Writing is a try-lock, never a wait, on the sequence count itself (W1 is
 * a compare-and-swap from even): update(), and a reader that sees a delta
 * past a quarter of the counter's range, fold only if they get it, and
 * otherwise leave the fold to its holder; set_clocksource() and resume()
 * retry a bounded number of times. A reader retries a bounded number of
 * times too, then returns last_ns: a writer that stopped in the middle
 * (a preempted vCPU, or the code an interrupt interrupted) never hangs it.
 *
 * last_ns, the never-backwards guard, is an atomic max (atomic64.h)
 * outside the sequence count, as pvclock's last-value guard; backwards and
 * stale are atomic counters. On a 32-bit target the 8-byte fields go
 * through atomic64.h: halves inside the sequence count, cmpxchg8b outside.
 */
#include "pvtimer/timekeeping.h"

#include "atomic64.h"
#include "pvtimer/clockevent.h"
#include "timekeeping-internal.h"
#include "util.h"

static bool cs_usable(const struct pvt_clocksource *cs)
{
    return cs && cs->read && cs->mult != 0 && cs->max_cycles != 0 &&
           cs->shift <= PVT_CS_MAX_SHIFT;
}

/* ---- the sequence count -------------------------------------------------- */

/* What a reader takes from the anchor, with the counter read inside. */
struct snap {
    struct pvt_clocksource *cs;
    uint64_t cycle_last;
    int64_t base_ns;
    uint64_t frac;
    uint32_t seq;
};

static struct pvt_clocksource *cs_of(const struct pvt_timekeeper *tk)
{
    return __atomic_load_n(&tk->cs, __ATOMIC_RELAXED);
}

/*
 * A consistent copy of the anchor and, unless cycles is NULL, a counter
 * value read inside the same section. False after PVT_TK_MAX_RETRIES
 * attempts that a writer disturbed. (The clock read's own copy is written
 * out in read_clock_with, which keeps the anchor in registers.)
 */
static inline bool snap_take(const struct pvt_timekeeper *tk, struct snap *s,
                             uint64_t *cycles)
{
    uint32_t i, s2;

    for (i = 0; i < PVT_TK_MAX_RETRIES; i++) {
        s->seq = __atomic_load_n(&tk->seq, __ATOMIC_ACQUIRE);
        if (s->seq & 1u) {
            pvt__cpu_relax();
            continue;
        }
        s->cs = cs_of(tk);
        s->cycle_last = pvt__seq_load_u64(&tk->cycle_last);
        s->base_ns = (int64_t)pvt__seq_load_u64((const uint64_t *)&tk->base_ns);
        s->frac = pvt__seq_load_u64(&tk->frac);
        if (cycles)
            *cycles = s->cs->read(s->cs) & s->cs->mask;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        s2 = __atomic_load_n(&tk->seq, __ATOMIC_RELAXED);
        if (s2 == s->seq)
            return true;
        pvt__cpu_relax();
    }
    return false;
}

/* The write side, if nobody holds it: seq from even to odd. */
static bool write_try(struct pvt_timekeeper *tk, uint32_t *seq)
{
    uint32_t s = __atomic_load_n(&tk->seq, __ATOMIC_RELAXED);

    if ((s & 1u) ||
        !__atomic_compare_exchange_n(&tk->seq, &s, s + 1u, false,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return false;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* F1 */
    *seq = s + 1u;
    return true;
}

/* The write side, waiting for a holder (bounded): false if it never let
 * go. Holders only fold a reading (no callbacks, no waits). */
static bool write_begin(struct pvt_timekeeper *tk, uint32_t *seq)
{
    uint32_t i;

    for (i = 0; i < PVT_TK_MAX_RETRIES; i++) {
        if (write_try(tk, seq))
            return true;
        pvt__cpu_relax();
    }
    return false;
}

static void write_end(struct pvt_timekeeper *tk, uint32_t seq)
{
    __atomic_store_n(&tk->seq, seq + 1u, __ATOMIC_RELEASE); /* W3 */
}

/* Store the anchor (the write side held, or no reader yet). */
static void anchor_set(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                       uint64_t cycles, int64_t ns, uint64_t frac)
{
    __atomic_store_n(&tk->cs, cs, __ATOMIC_RELAXED);
    pvt__seq_store_u64(&tk->cycle_last, cycles);
    pvt__seq_store_u64((uint64_t *)&tk->base_ns, (uint64_t)ns);
    pvt__seq_store_u64(&tk->frac, frac);
}

static void anchor(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                   int64_t ns)
{
    anchor_set(tk, cs, cs->read(cs) & cs->mask, ns, 0);
}

static int64_t last_ns(struct pvt_timekeeper *tk)
{
    return (int64_t)pvt__atomic_load_u64((uint64_t *)&tk->last_ns,
                                         __ATOMIC_RELAXED);
}

/* ---- reading ------------------------------------------------------------- */

int pvt_timekeeper_init(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                        int64_t start_ns)
{
    if (!tk || !cs_usable(cs) || start_ns < 0)
        return -PVT_EINVAL;
    tk->seq = 0;
    anchor(tk, cs, start_ns);
    pvt__atomic_store_u64((uint64_t *)&tk->last_ns, (uint64_t)start_ns,
                          __ATOMIC_RELAXED);
    tk->cs_generation = 0;
    pvt__atomic_store_u64(&tk->backwards, 0, __ATOMIC_RELAXED);
    pvt__atomic_store_u64(&tk->stale, 0, __ATOMIC_RELAXED);
    tk->listeners = NULL;
    return 0;
}

/*
 * The ns a delta of counter cycles (at most half the range) adds to an
 * anchor whose sub-ns part is frac, and the new sub-ns remainder in *rem.
 * The product of a delta up to max_cycles fits 64 bits (cs_usable: shift
 * <= PVT_CS_MAX_SHIFT), so the 96-bit one is only taken beyond: the same
 * result either way.
 */
static inline __attribute__((always_inline)) uint64_t scale(
    const struct pvt_clocksource *cs, uint64_t delta, uint64_t frac,
    uint64_t *rem)
{
    uint64_t sum;

    if (PVT__REGS64 && delta <= cs->max_cycles &&
        !__builtin_add_overflow(delta * cs->mult, frac, &sum)) {
        *rem = sum & ((1ull << cs->shift) - 1);
        return sum >> cs->shift;
    }
    return pvt__mul_add_shr(delta, cs->mult, frac, cs->shift, rem);
}

/* base_ns + off, saturating at INT64_MAX. */
static inline int64_t anchor_plus(int64_t base_ns, uint64_t off)
{
    return off > (uint64_t)INT64_MAX ? INT64_MAX
                                     : pvt_add_sat_s64(base_ns, (int64_t)off);
}

/*
 * The guest ns at counter value `cycles` from anchor s, with the sub-ns
 * remainder in *rem; false (and nothing else) when the counter is behind
 * the anchor (a delta past half the range).
 */
static inline bool convert(const struct snap *s, uint64_t cycles, int64_t *now,
                           uint64_t *rem, uint64_t *delta)
{
    const struct pvt_clocksource *cs = s->cs;

    *delta = (cycles - s->cycle_last) & cs->mask;
    if (*delta > (cs->mask >> 1))
        return false;
    *now = anchor_plus(s->base_ns, scale(cs, *delta, s->frac, rem));
    return true;
}

/*
 * The guard: never below the last value returned. A plain load and store,
 * not a compare-and-swap: one vCPU's readings never go backwards, even on
 * a counter that steps back; across vCPUs the clock is as monotonic as its
 * clocksource, which the pvclock reader's last-value guard makes it when
 * the pages do not promise a stable TSC (pvclock.h). A locked
 * read-modify-write of one shared line on every read would double a
 * read's cost (measured: 10 to 20 ns) and make every vCPU's clock reads
 * contend, the cost Linux's PVCLOCK_TSC_STABLE_BIT exists to avoid. Two
 * vCPUs storing at once may leave the smaller value: the guard is then
 * weaker for a moment, never wrong.
 */
static int64_t guard(struct pvt_timekeeper *tk, int64_t now)
{
    int64_t last = last_ns(tk);

    if (now >= last) {
        if (now > last)
            pvt__atomic_store_u64((uint64_t *)&tk->last_ns, (uint64_t)now,
                                  __ATOMIC_RELAXED);
        return now;
    }
    pvt__atomic_inc_u64(&tk->backwards);
    return last;
}

/* A reading behind the anchor: the clock holds. */
static int64_t held(struct pvt_timekeeper *tk)
{
    pvt__atomic_inc_u64(&tk->backwards);
    return last_ns(tk);
}

/* Move the anchor to a reading if the write side is free and the anchor
 * is still the one read from, seq (out of line: reads rarely fold). */
static __attribute__((noinline)) void fold(struct pvt_timekeeper *tk,
                                           uint32_t seq_read,
                                           struct pvt_clocksource *cs,
                                           uint64_t cycles, int64_t now,
                                           uint64_t rem)
{
    uint32_t seq;

    if (write_try(tk, &seq)) {
        if (seq == seq_read + 1u)
            anchor_set(tk, cs, cycles, now, rem);
        write_end(tk, seq);
    }
}

/* The rare ends of a read, out of line so that the common one keeps
 * nothing but the anchor in registers: a writer that never let go, and a
 * counter behind the anchor. */
static __attribute__((noinline)) int64_t read_stale(struct pvt_timekeeper *tk)
{
    pvt__atomic_inc_u64(&tk->stale);
    return last_ns(tk);
}

static __attribute__((noinline)) int64_t read_held(struct pvt_timekeeper *tk)
{
    return held(tk);
}

/*
 * Read the clock; when `accumulate` (update), or when the delta has passed
 * a quarter of the counter's range, move the anchor to this reading (fold).
 *
 * The hot path of every clock read and programming: snap_take written
 * out so that the anchor stays in registers. The anchor's fields are
 * loaded after the counter, still inside the section (between the two
 * loads of seq), so that only the clocksource and seq live across the
 * driver's call; then convert()'s arithmetic (scale).
 */
static inline __attribute__((always_inline)) int64_t read_clock_with(
    struct pvt_timekeeper *tk, bool accumulate, struct pvt_clockevent *pair,
    uint64_t *dnow)
{
    struct pvt_clocksource *cs;
    uint64_t cycles, cycle_last, frac, delta, rem;
    int64_t base_ns, now;
    uint32_t i = 0, seq;

    for (;;) {
        seq = __atomic_load_n(&tk->seq, __ATOMIC_ACQUIRE);
        if (!(seq & 1u)) {
            cs = cs_of(tk);
            if (pair && pair->paired_cs == cs)
                /* one counter read for both clocks (clockevent.h) */
                *dnow = pair->read_paired(pair, &cycles);
            else
                cycles = cs->read(cs);
            /* loaded again rather than kept across the driver's call: a
             * writer that changed it meanwhile changed seq too */
            cs = cs_of(tk);
            cycle_last = pvt__seq_load_u64(&tk->cycle_last);
            base_ns =
                (int64_t)pvt__seq_load_u64((const uint64_t *)&tk->base_ns);
            frac = pvt__seq_load_u64(&tk->frac);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (__atomic_load_n(&tk->seq, __ATOMIC_RELAXED) == seq)
                break;
        }
        pvt__cpu_relax();
        if (++i >= PVT_TK_MAX_RETRIES)
            return read_stale(tk);
    }
    cycles &= cs->mask;
    delta = (cycles - cycle_last) & cs->mask;
    if (delta > (cs->mask >> 1))
        return read_held(tk);
    now = anchor_plus(base_ns, scale(cs, delta, frac, &rem));
    if (accumulate || delta > (cs->mask >> 2))
        fold(tk, seq, cs, cycles, now, rem);
    return guard(tk, now);
}

static inline __attribute__((always_inline)) int64_t read_clock(
    struct pvt_timekeeper *tk, bool accumulate)
{
    return read_clock_with(tk, accumulate, NULL, NULL);
}

int64_t pvt__timekeeper_now(struct pvt_timekeeper *tk)
{
    return read_clock(tk, false);
}

int64_t pvt__timekeeper_update(struct pvt_timekeeper *tk)
{
    return read_clock(tk, true);
}

int64_t pvt__timekeeper_now_paired(struct pvt_timekeeper *tk,
                                   struct pvt_clockevent *dev, uint64_t *dnow)
{
    int64_t now;

    if (dev->read_paired && dev->paired_cs == cs_of(tk)) {
        *dnow = UINT64_MAX; /* (replaced unless the clocksource switched) */
        now = read_clock_with(tk, false, dev, dnow);
        if (*dnow != UINT64_MAX)
            return now;
    } else {
        now = read_clock(tk, false);
    }
    /* not paired: guest first, then device (a delay makes it late) */
    *dnow = dev->read_timebase(dev);
    return now;
}

int64_t pvt_timekeeper_now(struct pvt_timekeeper *tk)
{
    if (!tk || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    return read_clock(tk, false);
}

int64_t pvt_timekeeper_update(struct pvt_timekeeper *tk)
{
    if (!tk || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    return read_clock(tk, true);
}

/* ---- changes ------------------------------------------------------------- */

static void tell(struct pvt_timekeeper *tk, enum pvt_timekeeper_event what)
{
    struct pvt_timekeeper_listener *l;

    for (l = tk->listeners; l; l = l->next)
        l->fn(l, what);
}

/*
 * Under the write side: the current time from the anchor the holder sees
 * (nobody changes it meanwhile), guarded, as update() would fold it.
 */
static int64_t now_locked(struct pvt_timekeeper *tk)
{
    struct snap s;
    uint64_t cycles, rem, delta;
    int64_t now;

    s.cs = cs_of(tk);
    s.cycle_last = pvt__seq_load_u64(&tk->cycle_last);
    s.base_ns = (int64_t)pvt__seq_load_u64((const uint64_t *)&tk->base_ns);
    s.frac = pvt__seq_load_u64(&tk->frac);
    cycles = s.cs->read(s.cs) & s.cs->mask;
    if (!convert(&s, cycles, &now, &rem, &delta))
        return held(tk);
    return guard(tk, now);
}

int pvt_timekeeper_set_clocksource(struct pvt_timekeeper *tk,
                                   struct pvt_clocksource *cs)
{
    uint32_t seq;

    if (!tk || !cs_usable(cs) || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    if (cs == cs_of(tk))
        return 0;
    if (!write_begin(tk, &seq))
        return -PVT_EAGAIN;
    anchor(tk, cs, now_locked(tk));
    __atomic_store_n(&tk->cs_generation, tk->cs_generation + 1u,
                     __ATOMIC_RELAXED);
    write_end(tk, seq);
    tell(tk, PVT_TK_CLOCKSOURCE);
    return 0;
}

int pvt_timekeeper_resume(struct pvt_timekeeper *tk)
{
    uint32_t seq;

    if (!tk || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    if (!write_begin(tk, &seq))
        return -PVT_EAGAIN;
    anchor(tk, cs_of(tk), last_ns(tk));
    write_end(tk, seq);
    tell(tk, PVT_TK_RESUME);
    return 0;
}

int pvt_timekeeper_add_listener(struct pvt_timekeeper *tk,
                                struct pvt_timekeeper_listener *l)
{
    struct pvt_timekeeper_listener *p;

    if (!tk || !l || !l->fn || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    for (p = tk->listeners; p; p = p->next)
        if (p == l)
            return -PVT_EBUSY;
    l->next = tk->listeners;
    tk->listeners = l;
    return 0;
}

int pvt_timekeeper_remove_listener(struct pvt_timekeeper *tk,
                                   struct pvt_timekeeper_listener *l)
{
    struct pvt_timekeeper_listener **pos;

    if (!tk || !l)
        return -PVT_EINVAL;
    for (pos = &tk->listeners; *pos; pos = &(*pos)->next) {
        if (*pos == l) {
            *pos = l->next;
            l->next = NULL;
            return 0;
        }
    }
    return -PVT_ENOENT;
}

void pvt_timekeeper_follow(void *ctx, struct pvt_clocksource *old,
                           struct pvt_clocksource *new_cs)
{
    (void)old;
    if (ctx && new_cs)
        pvt_timekeeper_set_clocksource(ctx, new_cs);
}

int pvt__timekeeper_ns_to_cycles(const struct pvt_timekeeper *tk, int64_t ns,
                                 uint64_t *cycles)
{
    struct snap s;
    uint64_t c;

    if (!snap_take(tk, &s, NULL))
        return -PVT_EAGAIN;
    if (ns <= s.base_ns) {
        *cycles = s.cycle_last;
        return 0;
    }
    /* ignoring frac (>= 0) can only make the answer later, never earlier;
     * a counter of ns (a pvclock: mult 1, shift 0) needs no division */
    if (s.cs->mult == 1 && s.cs->shift == 0)
        c = (uint64_t)(ns - s.base_ns);
    else
        c = pvt__shl_div_ceil((uint64_t)(ns - s.base_ns), s.cs->shift,
                              s.cs->mult);
    if (c > (s.cs->mask >> 1))
        return -PVT_ERANGE;
    *cycles = (s.cycle_last + c) & s.cs->mask;
    return 0;
}

int pvt_timekeeper_ns_to_cycles(const struct pvt_timekeeper *tk, int64_t ns,
                                uint64_t *cycles)
{
    if (!tk || !cycles || !cs_usable(cs_of(tk)))
        return -PVT_EINVAL;
    return pvt__timekeeper_ns_to_cycles(tk, ns, cycles);
}

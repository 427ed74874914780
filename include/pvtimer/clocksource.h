/*
 * pvtimer: clocksources (something the guest reads) and their registry.
 *
 * A clocksource is a free-running counter of `mask + 1` states read through a
 * callback. Cycles convert to ns with a fixed-point multiplier:
 *
 *     ns = (cycles * mult) >> shift
 *
 * Deltas between two reads are taken modulo the counter width,
 * (now - last) & mask, so a counter that wraps past its mask still gives the
 * right delta as long as fewer than mask + 1 cycles elapsed.
 *
 * The plain product cycles * mult must fit in 64 bits, so one conversion
 * covers at most `max_cycles` = min(mask, UINT64_MAX / mult) cycles, which is
 * `max_ns` nanoseconds: pvt_clocksource_init() computes both. Callers that
 * hold a reading longer than that must accumulate (the timekeeper does; its
 * conversion is 96-bit and never overflows, see timekeeping.h).
 *
 * Calling context: the conversions (calc_mult_shift, cyc2ns, delta,
 * ns2cyc) are pure. init writes only the clocksource, before it is used.
 * A clocksource's read() is the driver's: the timekeeper may call it in
 * any context, interrupts included. The registry (pvt_cs_registry_*) is
 * not locked: the caller serialises it with the timekeeper's
 * clocksource switches.
 */
#ifndef PVTIMER_CLOCKSOURCE_H
#define PVTIMER_CLOCKSOURCE_H

#include "pvtimer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The counter never stops and is valid over its whole range. */
#define PVT_CS_CONTINUOUS (1u << 0)
/* Precise and continuous enough to drive high-resolution (oneshot) timers. */
#define PVT_CS_VALID_FOR_HRES (1u << 1)

#define PVT_CS_MAX_SHIFT 32u /* shifts above this are rejected */

struct pvt_clocksource {
    /* ---- filled in by the driver ---- */
    const char *name;
    /* Current counter value; only the bits in `mask` are meaningful. */
    uint64_t (*read)(struct pvt_clocksource *cs);
    void *priv;     /* the driver's context, untouched by the core */
    uint64_t mask;  /* 2^bits - 1, bits in [1, 64] */
    uint32_t mult;  /* ns = cycles * mult >> shift; non-zero */
    uint32_t shift; /* [0, PVT_CS_MAX_SHIFT] */
    int rating;     /* higher is better; 1 jiffies, 300 TSC, 400 pvclock */
    uint32_t flags; /* PVT_CS_* */

    /* ---- computed by pvt_clocksource_init() ---- */
    uint64_t max_cycles; /* largest delta cyc2ns converts without overflow */
    uint64_t max_ns;     /* max_cycles in ns */

    /* ---- owned by the registry ---- */
    struct pvt_clocksource *next;
    bool registered;
};

/*
 * Compute mult and shift so that  to_value = (from_value * mult) >> shift
 * converts a frequency `from` (Hz) to a frequency `to` (Hz), with the
 * largest shift (best precision) for which maxsec seconds' worth of `from`
 * ticks can be multiplied by mult without overflowing 64 bits. Gives the
 * same mult and shift as Linux's clocks_calc_mult_shift() for the same
 * inputs. For a clocksource, from = counter Hz, to = PVT_NSEC_PER_SEC; for a
 * clockevent device, from = PVT_NSEC_PER_SEC, to = device Hz.
 *
 * Returns 0, or -PVT_EINVAL if mult or shift is NULL, from or to is 0, or
 * maxsec is 0; -PVT_ERANGE if no shift in [1, 32] gives a usable mult.
 */
int pvt_calc_mult_shift(uint32_t *mult, uint32_t *shift, uint32_t from,
                        uint32_t to, uint32_t maxsec);

/*
 * Validate a clocksource the driver filled in and compute max_cycles and
 * max_ns. Returns 0, or -PVT_EINVAL for a NULL cs, name or read, a zero
 * mask, a mask that is not 2^n - 1, mult == 0, or shift > PVT_CS_MAX_SHIFT.
 */
int pvt_clocksource_init(struct pvt_clocksource *cs);

/*
 * Fill mult/shift from the counter frequency `hz` (exact for conversions of
 * up to `maxsec` seconds; 0 chooses as Linux does: the counter's whole
 * range, mask / hz seconds, at least 1, capped at 600 for counters wider
 * than 32 bits), then pvt_clocksource_init(). A frequency above UINT32_MAX
 * (a TSC over 4.29 GHz) is scaled in kHz, as Linux's
 * __clocksource_register_scale(cs, 1000, khz) does. Returns 0, -PVT_EINVAL
 * (as above, or hz == 0), or -PVT_ERANGE.
 */
int pvt_clocksource_init_hz(struct pvt_clocksource *cs, uint64_t hz,
                            uint32_t maxsec);

/*
 * Convert a cycle count to ns with cs's mult/shift. Exact for
 * cycles <= cs->max_cycles; larger counts are computed without overflow
 * (96-bit) and saturate at UINT64_MAX. cs must be initialised.
 */
static inline uint64_t pvt_clocksource_cyc2ns(const struct pvt_clocksource *cs,
                                              uint64_t cycles)
{
    if (cycles <= cs->max_cycles)
        return (cycles * cs->mult) >> cs->shift;
    return pvt_mul_u64_u32_shr(cycles, cs->mult, cs->shift);
}

/* Wrap-safe delta between two readings: (now - last) & mask. */
static inline uint64_t pvt_clocksource_delta(const struct pvt_clocksource *cs,
                                             uint64_t now, uint64_t last)
{
    return (now - last) & cs->mask;
}

/*
 * The smallest cycle count that converts to at least `ns` nanoseconds
 * (rounding up, so a deadline made from it is never early). Saturates at
 * UINT64_MAX. Returns 0 or -PVT_EINVAL (NULL argument or uninitialised cs).
 */
int pvt_clocksource_ns2cyc(const struct pvt_clocksource *cs, uint64_t ns,
                           uint64_t *cycles);

/* ---------------------------------------------------------------------- */
/* Registry: the clocksources a guest has, and which one is in use.        */

/*
 * Called when the current clocksource changes (old may be NULL on the first
 * registration). The callee takes over timekeeping from old to new.
 */
typedef void (*pvt_cs_registry_switch_fn)(void *ctx,
                                          struct pvt_clocksource *old,
                                          struct pvt_clocksource *new_cs);

struct pvt_cs_registry {
    struct pvt_clocksource *list; /* sorted by rating, best first */
    struct pvt_clocksource *current;
    struct pvt_clocksource *override; /* user choice, or NULL */
    bool require_hres;                /* oneshot mode: only VALID_FOR_HRES */
    pvt_cs_registry_switch_fn on_switch;
    void *ctx;
};

/*
 * Initialise an empty registry. on_switch (may be NULL) is called with ctx
 * on every change of the current clocksource. Returns 0 or -PVT_EINVAL.
 */
int pvt_cs_registry_init(struct pvt_cs_registry *reg,
                         pvt_cs_registry_switch_fn on_switch, void *ctx);

/*
 * Add an initialised clocksource and re-select: the best-rated eligible one
 * becomes current (ties go to the one registered first). Returns 0,
 * -PVT_EINVAL (NULL, uninitialised cs), -PVT_EEXIST (cs, or another with the
 * same name, already registered).
 */
int pvt_cs_registry_add(struct pvt_cs_registry *reg,
                        struct pvt_clocksource *cs);

/*
 * Remove a clocksource and re-select. Removing the current one switches to
 * the next best. Returns 0, -PVT_EINVAL, -PVT_ENOENT (not in this registry),
 * or -PVT_EBUSY (it is current and there is nothing to switch to).
 */
int pvt_cs_registry_remove(struct pvt_cs_registry *reg,
                           struct pvt_clocksource *cs);

/*
 * Prefer the clocksource called `name` over the rating order (NULL clears
 * the preference), as Linux's current_clocksource file does. An ineligible
 * preference (not valid for high-res while require_hres) is kept but not
 * used until it becomes eligible. Returns 0, -PVT_EINVAL, -PVT_ENOENT.
 */
int pvt_cs_registry_select(struct pvt_cs_registry *reg, const char *name);

/*
 * In oneshot/high-res mode only clocksources flagged VALID_FOR_HRES may be
 * current; set that requirement and re-select. Returns 0 or -PVT_EINVAL.
 */
int pvt_cs_registry_require_hres(struct pvt_cs_registry *reg, bool require);

/* Look up a registered clocksource by name; NULL if absent or bad args. */
struct pvt_clocksource *pvt_cs_registry_find(const struct pvt_cs_registry *reg,
                                             const char *name);

/* ---------------------------------------------------------------------- */
/* The jiffies clocksource.                                                */

/*
 * The tick counter as a clocksource: rating 1, 32 bits, not continuous,
 * resolution one tick (mult = ns per tick << shift, shift 8 or less so mult
 * fits 32 bits, as Linux does). It advances only when a tick is actually handled, so it loses time
 * whenever ticks are late or lost. The counter lives in struct pvt_jiffies,
 * which the tick code advances.
 */
struct pvt_jiffies {
    uint64_t jiffies; /* ticks handled since boot */
    uint32_t hz;
    struct pvt_clocksource cs;
};

#define PVT_JIFFIES_SHIFT 8u
#define PVT_HZ_MAX        10000u /* 100 us ticks: the finest tick we accept */

/*
 * Set up the counter (at 0) and its clocksource for a tick rate of hz in
 * [1, PVT_HZ_MAX]; a tick is round(1 s / hz) ns. Returns 0 or -PVT_EINVAL.
 */
int pvt_jiffies_init(struct pvt_jiffies *j, uint32_t hz);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_CLOCKSOURCE_H */

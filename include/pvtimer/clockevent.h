/*
 * pvtimer: clockevent devices (something the guest programs).
 *
 * As in Linux, a device is a public struct that is also its ops table: the
 * driver fills in its callbacks and limits; the state the core keeps is in
 * the private member `core`, which only the functions below change and
 * which others read through the accessors. One owner (the timer queue or
 * the tick) takes the device's events: it binds itself with a handler and
 * releases the device when done (pvt_clockevent_bind/release).
 *
 * The device counts in its own ticks; the core converts ns to ticks with
 *
 *     ticks = ceil(ns * mult / 2^shift)
 *
 * (rounded up so that a request never comes out earlier than asked).
 * A device takes either a relative delta in ticks (set_next_event), or an
 * absolute time in its own timebase (set_next_abs, with read_timebase to
 * say what time it is there): a hypervisor's singleshot timer takes
 * hypervisor ns, a LAPIC TSC-deadline timer takes guest TSC cycles.
 *
 * Which of those a programming uses, and how the guest deadline is turned
 * into the device's value, is the device's *strategy* (strategy.h).
 *
 * Programming follows Linux's clockevents_program_event():
 *   - expires < 0 gives -PVT_ETIME;
 *   - a deadline not after now gives -PVT_ETIME, unless forced, in which
 *     case the device is programmed for now + min_delta;
 *   - the delta is clamped to [min_delta_ns, max_delta_ns] (a clamped-short
 *     event fires early; the owner re-programs, see the timer queue);
 *   - a device that refuses a forced programming is retried at min_delta;
 *     after 3 failures min_delta is raised (to 5 us if below, else by half,
 *     capped at min_delta_limit_ns), and once it is at the limit the core
 *     gives up: next_event = PVT_TIME_MAX, -PVT_ETIME, counted in stats;
 *   - starvation prevention: while a forced min-delta event is pending, a
 *     request for a deadline within min_delta does not re-program the
 *     device (the pending event fires first anyway).
 *
 * Calling context. A device belongs to one vCPU and is not locked:
 *   - pvt_clockevent_event() runs in the device's interrupt context, and
 *     calls the owner's handler there; the handler may program the device;
 *   - program, set_state and notify run in the owner's context (its
 *     handler, or with the device's interrupt held off on its vCPU);
 *   - register, unregister, bind, release and set_strategy change who uses
 *     the device: the caller serialises them against the device's
 *     interrupt and every other call on the device (interrupts off, or
 *     before the device is started); register and unregister also change
 *     the timekeeper's listeners, so they are serialised with its
 *     clocksource switches and resumes too (timekeeping.h);
 *   - the accessors read plain fields: exact on the device's own vCPU with
 *     its interrupt held off, a snapshot otherwise;
 *   - delta2ns, ns2ticks and state_name touch no shared state; config
 *     writes only the device, before it is registered.
 * No function sleeps or allocates; all are bounded.
 */
#ifndef PVTIMER_CLOCKEVENT_H
#define PVTIMER_CLOCKEVENT_H

#include "pvtimer/base.h"
#include "pvtimer/clocksource.h"
#include "pvtimer/timekeeping.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pvt_strategy;
struct pvt_clockevent;

/* The owner's event handler (see pvt_clockevent_bind). */
typedef void (*pvt_clockevent_handler_fn)(struct pvt_clockevent *dev);

/* Features. */
#define PVT_CE_FEAT_PERIODIC (1u << 0) /* can tick periodically by itself */
#define PVT_CE_FEAT_ONESHOT  (1u << 1) /* can fire once at a programmed time */
#define PVT_CE_FEAT_ALL      (PVT_CE_FEAT_PERIODIC | PVT_CE_FEAT_ONESHOT)

enum pvt_clockevent_state {
    PVT_CE_DETACHED = 0,    /* not registered */
    PVT_CE_SHUTDOWN,        /* registered, not firing */
    PVT_CE_PERIODIC,        /* ticking by itself */
    PVT_CE_ONESHOT,         /* fires at programmed times */
    PVT_CE_ONESHOT_STOPPED, /* oneshot with nothing programmed */
};

/* Why a strategy is being told something (see strategy.h). */
enum pvt_clockevent_notify {
    PVT_CE_NOTIFY_ATTACH,      /* the strategy was just given the device */
    PVT_CE_NOTIFY_MODE,        /* the device changed state (periodic/oneshot) */
    PVT_CE_NOTIFY_CLOCKSOURCE, /* the guest switched clocksource */
    PVT_CE_NOTIFY_RESUME,      /* after a pause / migration */
};

/* The last programming, as the device saw it (for measurement). */
struct pvt_clockevent_programming {
    int64_t requested; /* guest ns the caller asked for */
    int64_t target;    /* guest ns aimed at, after clamping */
    int64_t now;       /* guest ns when programmed */
    uint64_t value;    /* ticks (relative) or absolute device time */
    bool absolute;     /* value went to set_next_abs */
    bool forced;       /* a forced min-delta programming */
};

struct pvt_clockevent_stats {
    uint64_t programmed;       /* successful device programmings */
    uint64_t refused_past;     /* -PVT_ETIME for a past deadline */
    uint64_t clamped_min;      /* delta raised to min_delta */
    uint64_t clamped_max;      /* delta cut to max_delta */
    uint64_t forced;           /* forced min-delta programmings */
    uint64_t device_errors;    /* the device refused a programming */
    uint64_t min_delta_raised; /* min_delta_ns increases */
    uint64_t gave_up;          /* reprogramming failures */
    uint64_t starvation_skips; /* not re-programmed: forced event pending */
    uint64_t events;           /* events delivered (pvt_clockevent_event) */
};

/* The offset the offset strategies aim by (see strategy.h). */
struct pvt_clockevent_offset {
    bool valid;
    int64_t guest_base;   /* guest ns when the offset was taken */
    uint64_t device_base; /* device time at the same moment */
};

/* What the core keeps in a device: private, read it through the accessors
 * (a registered device must not be copied or written behind the core). */
struct pvt_clockevent_core {
    struct pvt_timekeeper *tk;
    pvt_clockevent_handler_fn event_handler; /* the owner's (bind) */
    void *owner;
    const struct pvt_strategy *strategy;
    void *strategy_state; /* the caller's, given with the strategy */
    struct pvt_clockevent_offset offset; /* the offset strategies' own state */
    enum pvt_clockevent_state state;
    int64_t next_event;  /* deadline last asked for (before clamping; the
                            forced target for min-delta), or TIME_MAX */
    uint64_t period_ns;  /* in PERIODIC state */
    int64_t program_now; /* guest ns the programming in progress started */
    bool forced_pending; /* a forced min-delta event has not fired yet */
    struct pvt_clockevent_programming last;
    struct pvt_clockevent_stats stats;
    struct pvt_timekeeper_listener listener; /* told of clocksource switches */
};

struct pvt_clockevent {
    /* ---- filled in by the driver ---- */
    const char *name;
    uint32_t features; /* PVT_CE_FEAT_* */
    int rating;
    uint32_t mult;  /* ns -> ticks; see pvt_clockevent_config() */
    uint32_t shift; /* [0, 32] */
    uint64_t min_delta_ticks, max_delta_ticks;
    /* 0: derived from the ticks. The core raises min_delta_ns after
     * repeated refusals (see the top of this file). */
    uint64_t min_delta_ns, max_delta_ns;
    /* Largest min_delta_ns may be raised to before giving up: one tick in
     * Linux. 0 means PVT_CE_DEFAULT_MIN_DELTA_LIMIT_NS. */
    uint64_t min_delta_limit_ns;

    /* Fire after `ticks` device ticks (relative). 0 or -PVT_ETIME. */
    int (*set_next_event)(struct pvt_clockevent *dev, uint64_t ticks);
    /* Fire at `when` in the device's own timebase (absolute). */
    int (*set_next_abs)(struct pvt_clockevent *dev, uint64_t when);
    /* The device's timebase now (needed with set_next_abs). */
    uint64_t (*read_timebase)(struct pvt_clockevent *dev);
    /* State changes; each optional unless the feature needs it. */
    int (*set_state_periodic)(struct pvt_clockevent *dev, uint64_t period_ns);
    int (*set_state_oneshot)(struct pvt_clockevent *dev);
    int (*set_state_shutdown)(struct pvt_clockevent *dev);
    /* When set_next_abs counts the cycles of this clocksource (a LAPIC
     * TSC-deadline timer and the TSC clocksource), the `coupled` strategy
     * converts exactly while it is the guest's current clocksource. */
    const struct pvt_clocksource *coupled_cs;
    /*
     * Pairing (optional; both or neither): when the device's timebase and
     * the clocksource paired_cs derive from one counter (both from the
     * TSC: a TSC or pvclock clocksource beside a TSC-deadline timer, or a
     * hypervisor timer whose clock the guest reads from the TSC through a
     * pvclock-style page), read that counter once and return the device's
     * timebase at that instant, with in *cs_cycles what paired_cs->read
     * would have returned at the same instant. While paired_cs is the
     * guest's current clocksource, the strategies that read both clocks
     * (delta, coupled when it falls back to delta, compensated) take the
     * two readings from this one read instead of two reads back to back:
     * no gap between the readings for a preemption to fall into. For a
     * strategy with PVT_STRATEGY_PAIRED (delta, compensated) the
     * clockevent layer's own reading of the guest clock, which every
     * programming starts with, is this paired read, and the strategy
     * aims from it (its program_pair, strategy.h): one counter read per
     * programming. Context: as
     * read_timebase.
     */
    uint64_t (*read_paired)(struct pvt_clockevent *dev, uint64_t *cs_cycles);
    const struct pvt_clocksource *paired_cs;
    void *priv; /* the driver's context */

    /* private: use the accessors */
    struct pvt_clockevent_core core;
};

/* One tick at HZ 250, Linux's MIN_DELTA_LIMIT for the default HZ. */
#define PVT_CE_DEFAULT_MIN_DELTA_LIMIT_NS (PVT_NSEC_PER_SEC / 250)
#define PVT_CE_MIN_DELTA_FLOOR_NS         1000u /* delta2ns never gives less */
#define PVT_CE_MIN_PERIOD_NS              100000u /* periodic mode: at most 10 kHz */

/*
 * Convert a delta in device ticks to ns as Linux's cev_delta2ns(): rounded
 * up (for ismax only when that cannot overshoot: mult <= 2^shift), at
 * least PVT_CE_MIN_DELTA_FLOOR_NS, saturating. dev->mult must be non-zero.
 * Returns 0, or -PVT_EINVAL (NULL, mult 0, shift > 32).
 */
int pvt_clockevent_delta2ns(const struct pvt_clockevent *dev, uint64_t ticks,
                            bool ismax, uint64_t *ns);

/*
 * Configure mult/shift for a device counting at freq_hz, and min/max delta
 * in ticks and ns, as Linux's clockevents_config(): the conversion is made
 * exact for up to max_ticks / freq_hz seconds (at least 1, at most 600 when
 * max_ticks exceeds 32 bits). Returns 0 or -PVT_EINVAL (NULL, freq 0 or
 * above UINT32_MAX, min_ticks 0, min_ticks > max_ticks), -PVT_ERANGE.
 */
int pvt_clockevent_config(struct pvt_clockevent *dev, uint64_t freq_hz,
                          uint64_t min_ticks, uint64_t max_ticks);

/*
 * Register a configured device with the guest's timekeeper: checks it,
 * derives min/max_delta_ns from the ticks where they are 0, puts it in
 * SHUTDOWN state and gives it the default strategy ("delta" when it takes
 * absolute times, else "relative"; none for a periodic-only device). A
 * zero min_delta_limit_ns becomes the default, held within [min_delta_ns,
 * max_delta_ns]. Returns 0, -PVT_EINVAL (NULL; no name; no or unknown
 * features; ONESHOT without set_next_event or set_next_abs; set_next_abs
 * without read_timebase; read_paired without paired_cs or set_next_abs, or
 * paired_cs without read_paired; PERIODIC without set_state_periodic; mult 0;
 * shift > 32; min_delta > max_delta; min_delta_limit_ns set outside
 * [min_delta_ns, min(max_delta_ns, INT64_MAX)]; tk uninitialised), or
 * -PVT_EBUSY (already registered). The device listens to tk for
 * clocksource switches and resumes (its strategy is told). The core part
 * must be zero the first time (a zero-initialised struct); an owner's
 * binding survives registering and unregistering. Context: serialised.
 */
int pvt_clockevent_register(struct pvt_clockevent *dev,
                            struct pvt_timekeeper *tk);

/*
 * Shut the device down and detach it from its timekeeper (it stops
 * listening). Its owner, if any, keeps it bound and must release it.
 * Returns 0, -PVT_EINVAL, or -PVT_ENOENT (not registered). Context:
 * serialised.
 */
int pvt_clockevent_unregister(struct pvt_clockevent *dev);

/*
 * Make owner the device's owner: from now on pvt_clockevent_event() calls
 * handler(dev). Binding again by the same owner replaces the handler.
 * Returns 0, -PVT_EINVAL (NULL argument, unregistered device), or
 * -PVT_EBUSY (another owner holds it). Context: serialised.
 */
int pvt_clockevent_bind(struct pvt_clockevent *dev,
                        pvt_clockevent_handler_fn handler, void *owner);

/*
 * Let go of the device: its events reach nobody until it is bound again.
 * Only its owner may: returns 0, -PVT_EINVAL (NULL argument), -PVT_EBUSY
 * (another owner holds it), or -PVT_ENOENT (nobody does). Works on an
 * unregistered device too. Context: serialised.
 */
int pvt_clockevent_release(struct pvt_clockevent *dev, void *owner);

/*
 * Change state. PERIODIC needs period_ns >= PVT_CE_MIN_PERIOD_NS (ignored
 * otherwise). The strategy is told (PVT_CE_NOTIFY_MODE) after a successful
 * change into PERIODIC or ONESHOT. Returns 0, -PVT_EINVAL (NULL,
 * unregistered, DETACHED requested, bad period), -PVT_EOPNOTSUPP (the
 * device lacks the feature), or the driver's error. Context: the owner's.
 */
int pvt_clockevent_set_state(struct pvt_clockevent *dev,
                             enum pvt_clockevent_state state,
                             uint64_t period_ns);

/*
 * Program the device to fire at guest time `expires` (see the top of this
 * file for the semantics). PVT_TIME_MAX means "nothing to do": the device
 * goes to ONESHOT_STOPPED. A device in ONESHOT_STOPPED goes back to ONESHOT.
 * In SHUTDOWN the request is recorded in next_event and 0 returned.
 * Returns 0; -PVT_ETIME (expires < 0; in the past and not forced; the
 * device refused and not forced; gave up raising min_delta);
 * -PVT_EINVAL (NULL, unregistered, PERIODIC state, no strategy).
 * Context: the owner's (its event handler included).
 */
int pvt_clockevent_program(struct pvt_clockevent *dev, int64_t expires,
                           bool force);

/*
 * The driver's interrupt entry: an event arrived. Clears the forced-event
 * mark, counts it, and calls the owner's handler (nothing more when the
 * device has no owner). Returns 0 or -PVT_EINVAL (NULL or unregistered).
 * Context: the device's interrupt.
 */
int pvt_clockevent_event(struct pvt_clockevent *dev);

/*
 * Tell the device's strategy something happened (the clockevent layer
 * does this itself for mode changes and for the timekeeper's clocksource
 * switches and resumes). Returns 0 or -PVT_EINVAL (NULL, unregistered).
 * Context: the owner's.
 */
int pvt_clockevent_notify(struct pvt_clockevent *dev,
                          enum pvt_clockevent_notify what);

/* ---- accessors: any context (see the top of this file) ---- */

/* The device's state; PVT_CE_DETACHED for NULL or unregistered. */
enum pvt_clockevent_state pvt_clockevent_get_state(
    const struct pvt_clockevent *dev);

/* The period in PERIODIC state, else 0 (also for NULL). */
uint64_t pvt_clockevent_period_ns(const struct pvt_clockevent *dev);

/* The deadline last asked for (before clamping; the target of a forced
 * min-delta programming), PVT_TIME_MAX when none (or for NULL). */
int64_t pvt_clockevent_next_event(const struct pvt_clockevent *dev);

/* Is a forced min-delta event programmed and not yet delivered? false for
 * NULL. */
bool pvt_clockevent_forced_pending(const struct pvt_clockevent *dev);

/* The last successful programming (requested/target/now/forced) and the
 * last value handed to the driver; all zero before the first; NULL for a
 * NULL dev. Valid as long as the device. */
const struct pvt_clockevent_programming *pvt_clockevent_last(
    const struct pvt_clockevent *dev);

/* The counters since registration; NULL for a NULL dev. */
const struct pvt_clockevent_stats *pvt_clockevent_get_stats(
    const struct pvt_clockevent *dev);

/* The owner bound to the device, or NULL (also for a NULL dev). */
void *pvt_clockevent_owner(const struct pvt_clockevent *dev);

/* The timekeeper the device is registered with, or NULL. */
struct pvt_timekeeper *pvt_clockevent_timekeeper(
    const struct pvt_clockevent *dev);

/* ns -> device ticks, rounded up, saturating. dev must be valid. */
static inline uint64_t pvt_clockevent_ns2ticks(const struct pvt_clockevent *dev,
                                               uint64_t ns)
{
    return pvt_mul_u64_u32_shr_ceil(ns, dev->mult, dev->shift);
}

/* A state's name ("oneshot"), or "invalid". */
const char *pvt_clockevent_state_name(enum pvt_clockevent_state state);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_CLOCKEVENT_H */

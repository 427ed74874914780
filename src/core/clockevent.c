/*
 * Clockevent devices: registration, state, and programming with Linux's
 * semantics (past deadlines, clamping, forced minimum delta with retries
 * and min_delta raising, starvation prevention). How a deadline becomes a
 * device value is the strategy's business (strategy.c).
 */
#include "pvtimer/clockevent.h"
#include "util.h"

#include <stddef.h>

#include "clockevent-internal.h"
#include "pvtimer/strategy.h"
#include "timekeeping-internal.h"

/* Linux retries a refused min-delta programming this many times before
 * raising min_delta. */
#define MIN_DELTA_TRIES 3
/* The first raise goes to at least this. */
#define MIN_DELTA_RAISE_FLOOR_NS 5000u

int pvt_clockevent_delta2ns(const struct pvt_clockevent *dev, uint64_t ticks,
                            bool ismax, uint64_t *ns)
{
    uint64_t clc, rnd;

    if (!dev || !ns || dev->mult == 0 || dev->shift > 32)
        return -PVT_EINVAL;
    clc = ticks << dev->shift;
    if ((clc >> dev->shift) != ticks)
        clc = UINT64_MAX; /* overflowed: saturate */
    /*
     * Round up so that converting back gives at least `ticks` (a minimum
     * must not come out shorter). For the maximum, rounding up is only safe
     * when one ns is at most one tick (mult <= 2^shift); otherwise the
     * rounded ns could convert back to more ticks than the device takes.
     */
    rnd = (uint64_t)dev->mult - 1;
    if (UINT64_MAX - clc > rnd && (!ismax || dev->mult <= (1ull << dev->shift)))
        clc += rnd;
    clc = pvt__div64_u64(clc, dev->mult);
    *ns = clc > PVT_CE_MIN_DELTA_FLOOR_NS ? clc : PVT_CE_MIN_DELTA_FLOOR_NS;
    return 0;
}

int pvt_clockevent_config(struct pvt_clockevent *dev, uint64_t freq_hz,
                          uint64_t min_ticks, uint64_t max_ticks)
{
    uint64_t sec;
    int rc;

    if (!dev || freq_hz == 0 || freq_hz > UINT32_MAX || min_ticks == 0 ||
        min_ticks > max_ticks)
        return -PVT_EINVAL;
    /* exact over the longest programmable delta, as Linux chooses it */
    sec = pvt__div64_u64(max_ticks, freq_hz);
    if (sec == 0)
        sec = 1;
    else if (sec > 600 && max_ticks > UINT32_MAX)
        sec = 600;
    if (sec > UINT32_MAX)
        sec = UINT32_MAX;
    rc =
        pvt_calc_mult_shift(&dev->mult, &dev->shift, (uint32_t)PVT_NSEC_PER_SEC,
                            (uint32_t)freq_hz, (uint32_t)sec);
    if (rc)
        return rc;
    dev->min_delta_ticks = min_ticks;
    dev->max_delta_ticks = max_ticks;
    rc = pvt_clockevent_delta2ns(dev, min_ticks, false, &dev->min_delta_ns);
    if (rc)
        return rc;
    return pvt_clockevent_delta2ns(dev, max_ticks, true, &dev->max_delta_ns);
}

static bool registered(const struct pvt_clockevent *dev)
{
    return dev && dev->core.tk && dev->core.state != PVT_CE_DETACHED;
}

/* The timekeeper's news, for the device's strategy. */
static void tk_listener(struct pvt_timekeeper_listener *l,
                        enum pvt_timekeeper_event what)
{
    struct pvt_clockevent *dev =
        (struct pvt_clockevent *)(void *)((char *)l -
                                          offsetof(struct pvt_clockevent,
                                                   core.listener));

    pvt__clockevent_notify(dev, what == PVT_TK_CLOCKSOURCE
                                    ? PVT_CE_NOTIFY_CLOCKSOURCE
                                    : PVT_CE_NOTIFY_RESUME);
}

static int check_driver(const struct pvt_clockevent *dev)
{
    if (!dev->name || !(dev->features & PVT_CE_FEAT_ALL) ||
        (dev->features & ~PVT_CE_FEAT_ALL))
        return -PVT_EINVAL;
    if ((dev->features & PVT_CE_FEAT_ONESHOT) && !dev->set_next_event &&
        !dev->set_next_abs)
        return -PVT_EINVAL;
    if (dev->set_next_abs && !dev->read_timebase)
        return -PVT_EINVAL;
    if (!dev->read_paired != !dev->paired_cs ||
        (dev->read_paired && !dev->set_next_abs))
        return -PVT_EINVAL;
    if ((dev->features & PVT_CE_FEAT_PERIODIC) && !dev->set_state_periodic)
        return -PVT_EINVAL;
    if (dev->mult == 0 || dev->shift > 32)
        return -PVT_EINVAL;
    return 0;
}

int pvt_clockevent_register(struct pvt_clockevent *dev,
                            struct pvt_timekeeper *tk)
{
    uint64_t limit_cap;
    int rc;

    if (!dev || !tk || !tk->cs)
        return -PVT_EINVAL;
    if (dev->core.tk)
        return -PVT_EBUSY;
    rc = check_driver(dev);
    if (rc)
        return rc;
    if (dev->min_delta_ns == 0) {
        rc = pvt_clockevent_delta2ns(dev, dev->min_delta_ticks, false,
                                     &dev->min_delta_ns);
        if (rc)
            return rc;
    }
    if (dev->max_delta_ns == 0) {
        if (dev->max_delta_ticks == 0)
            return -PVT_EINVAL;
        rc = pvt_clockevent_delta2ns(dev, dev->max_delta_ticks, true,
                                     &dev->max_delta_ns);
        if (rc)
            return rc;
    }
    if (dev->min_delta_ns > dev->max_delta_ns ||
        dev->min_delta_ns > (uint64_t)INT64_MAX)
        return -PVT_EINVAL;
    /* raising min_delta must end: between min_delta_ns and what the device
     * and a signed deadline can take */
    limit_cap = dev->max_delta_ns < (uint64_t)INT64_MAX ? dev->max_delta_ns
                                                        : (uint64_t)INT64_MAX;
    if (dev->min_delta_limit_ns == 0) {
        dev->min_delta_limit_ns = PVT_CE_DEFAULT_MIN_DELTA_LIMIT_NS;
        if (dev->min_delta_limit_ns < dev->min_delta_ns)
            dev->min_delta_limit_ns = dev->min_delta_ns;
        if (dev->min_delta_limit_ns > limit_cap)
            dev->min_delta_limit_ns = limit_cap;
    } else if (dev->min_delta_limit_ns < dev->min_delta_ns ||
               dev->min_delta_limit_ns > limit_cap) {
        return -PVT_EINVAL;
    }

    dev->core.listener = (struct pvt_timekeeper_listener){.fn = tk_listener};
    rc = pvt_timekeeper_add_listener(tk, &dev->core.listener);
    if (rc)
        return rc;
    /* the binding is the owner's: it is left as it is */
    dev->core.tk = tk;
    dev->core.state = PVT_CE_SHUTDOWN;
    dev->core.next_event = PVT_TIME_MAX;
    dev->core.period_ns = 0;
    dev->core.program_now = 0;
    dev->core.forced_pending = false;
    dev->core.last = (struct pvt_clockevent_programming){0};
    dev->core.stats = (struct pvt_clockevent_stats){0};
    dev->core.strategy = NULL;
    dev->core.strategy_state = NULL;
    dev->core.offset = (struct pvt_clockevent_offset){0};

    /* a periodic-only device is never programmed: no strategy */
    if (!(dev->features & PVT_CE_FEAT_ONESHOT))
        return 0;
    rc = pvt_clockevent_set_strategy(
        dev, dev->set_next_abs ? &pvt_strategy_delta : &pvt_strategy_relative,
        NULL);
    if (rc)
        pvt_clockevent_unregister(dev);
    return rc;
}

int pvt_clockevent_unregister(struct pvt_clockevent *dev)
{
    if (!dev)
        return -PVT_EINVAL;
    if (!registered(dev))
        return -PVT_ENOENT;
    /* registered means listening: this cannot fail */
    (void)pvt_timekeeper_remove_listener(dev->core.tk, &dev->core.listener);
    /* the device goes whatever the driver says: nothing calls it again */
    if (dev->core.state != PVT_CE_SHUTDOWN && dev->set_state_shutdown)
        (void)dev->set_state_shutdown(dev);
    dev->core.tk = NULL;
    dev->core.state = PVT_CE_DETACHED;
    dev->core.strategy = NULL;
    dev->core.strategy_state = NULL;
    dev->core.next_event = PVT_TIME_MAX;
    return 0;
}

void pvt__clockevent_bind(struct pvt_clockevent *dev,
                          pvt_clockevent_handler_fn handler, void *owner)
{
    dev->core.event_handler = handler;
    dev->core.owner = owner;
}

void pvt__clockevent_release(struct pvt_clockevent *dev)
{
    dev->core.event_handler = NULL;
    dev->core.owner = NULL;
}

int pvt_clockevent_bind(struct pvt_clockevent *dev,
                        pvt_clockevent_handler_fn handler, void *owner)
{
    if (!registered(dev) || !handler || !owner)
        return -PVT_EINVAL;
    if (dev->core.owner && dev->core.owner != owner)
        return -PVT_EBUSY;
    pvt__clockevent_bind(dev, handler, owner);
    return 0;
}

int pvt_clockevent_release(struct pvt_clockevent *dev, void *owner)
{
    if (!dev || !owner)
        return -PVT_EINVAL;
    if (!dev->core.owner)
        return -PVT_ENOENT;
    if (dev->core.owner != owner)
        return -PVT_EBUSY;
    pvt__clockevent_release(dev);
    return 0;
}

/* PERIODIC and ONESHOT are the two timer modes; a stopped oneshot device
 * is still in oneshot mode. */
static int mode_of(enum pvt_clockevent_state s)
{
    switch (s) {
    case PVT_CE_PERIODIC:
        return 1;
    case PVT_CE_ONESHOT:
    case PVT_CE_ONESHOT_STOPPED:
        return 2;
    case PVT_CE_DETACHED:
    case PVT_CE_SHUTDOWN:
        break;
    }
    return 0;
}

int pvt_clockevent_set_state(struct pvt_clockevent *dev,
                             enum pvt_clockevent_state state,
                             uint64_t period_ns)
{
    enum pvt_clockevent_state old;
    int rc = 0;

    if (!registered(dev))
        return -PVT_EINVAL;
    switch (state) {
    case PVT_CE_PERIODIC:
        if (!(dev->features & PVT_CE_FEAT_PERIODIC))
            return -PVT_EOPNOTSUPP;
        if (period_ns < PVT_CE_MIN_PERIOD_NS || period_ns > (uint64_t)INT64_MAX)
            return -PVT_EINVAL;
        rc = dev->set_state_periodic(dev, period_ns);
        break;
    case PVT_CE_ONESHOT:
        if (!(dev->features & PVT_CE_FEAT_ONESHOT))
            return -PVT_EOPNOTSUPP;
        if (dev->set_state_oneshot)
            rc = dev->set_state_oneshot(dev);
        break;
    case PVT_CE_ONESHOT_STOPPED:
        if (!(dev->features & PVT_CE_FEAT_ONESHOT))
            return -PVT_EOPNOTSUPP;
        /* cancel whatever is pending: stopping is shutting the timer off */
        if (dev->set_state_shutdown)
            rc = dev->set_state_shutdown(dev);
        break;
    case PVT_CE_SHUTDOWN:
        if (dev->set_state_shutdown)
            rc = dev->set_state_shutdown(dev);
        break;
    case PVT_CE_DETACHED:
    default:
        return -PVT_EINVAL;
    }
    if (rc)
        return rc < 0 ? rc : -PVT_EINVAL;

    old = dev->core.state;
    dev->core.state = state;
    dev->core.period_ns = state == PVT_CE_PERIODIC ? period_ns : 0;
    if (state != PVT_CE_ONESHOT) {
        dev->core.next_event = PVT_TIME_MAX;
        dev->core.forced_pending = false;
    }
    if (mode_of(state) && mode_of(state) != mode_of(old))
        pvt__clockevent_notify(dev, PVT_CE_NOTIFY_MODE);
    return 0;
}

int pvt__ce_set_relative(struct pvt_clockevent *dev, uint64_t ticks)
{
    dev->core.last.value = ticks;
    dev->core.last.absolute = false;
    return dev->set_next_event(dev, ticks);
}

int pvt__ce_set_absolute(struct pvt_clockevent *dev, uint64_t when)
{
    dev->core.last.value = when;
    dev->core.last.absolute = true;
    return dev->set_next_abs(dev, when);
}

static void record(struct pvt_clockevent *dev, int64_t requested, int64_t now,
                   int64_t target, bool forced)
{
    dev->core.last.requested = requested;
    dev->core.last.now = now;
    dev->core.last.target = target;
    dev->core.last.forced = forced;
    dev->core.stats.programmed++;
}

/* Hand the strategy a target clamped against now. */
static int strategy_program(struct pvt_clockevent *dev, int64_t now,
                            int64_t target)
{
    dev->core.program_now = now;
    return dev->core.strategy->program(dev, target);
}

/* Raise min_delta after repeated refusals; -PVT_ETIME once at the limit. */
static int raise_min_delta(struct pvt_clockevent *dev)
{
    if (dev->min_delta_ns >= dev->min_delta_limit_ns) {
        dev->core.stats.gave_up++;
        dev->core.next_event = PVT_TIME_MAX;
        return -PVT_ETIME;
    }
    if (dev->min_delta_ns < MIN_DELTA_RAISE_FLOOR_NS)
        dev->min_delta_ns = MIN_DELTA_RAISE_FLOOR_NS;
    else
        dev->min_delta_ns += dev->min_delta_ns >> 1;
    if (dev->min_delta_ns > dev->min_delta_limit_ns)
        dev->min_delta_ns = dev->min_delta_limit_ns;
    dev->core.stats.min_delta_raised++;
    return 0;
}

/* Program now + min_delta, retrying and raising min_delta on refusal. The
 * number of attempts is bounded: min_delta grows by half every
 * MIN_DELTA_TRIES refusals until it reaches the limit. */
static int program_min_delta(struct pvt_clockevent *dev, int64_t requested)
{
    int tries = 0;

    for (;;) {
        int64_t now = pvt__timekeeper_now(dev->core.tk);
        int64_t target = pvt_add_sat_s64(now, (int64_t)dev->min_delta_ns);
        int rc;

        dev->core.next_event = target;
        dev->core.stats.forced++;
        rc = strategy_program(dev, now, target);
        if (rc == 0) {
            dev->core.forced_pending = true;
            record(dev, requested, now, target, true);
            return 0;
        }
        dev->core.stats.device_errors++;
        if (++tries >= MIN_DELTA_TRIES) {
            rc = raise_min_delta(dev);
            if (rc)
                return rc;
            tries = 0;
        }
    }
}

/*
 * A programming outside the common case (a oneshot device, a deadline):
 * 1 when the device is now oneshot and the programming goes on, else the
 * result to return (0 or an error). Out of line.
 */
static __attribute__((noinline)) int program_state(struct pvt_clockevent *dev,
                                                   int64_t expires)
{
    int rc;

    switch (dev->core.state) {
    case PVT_CE_SHUTDOWN:
        dev->core.next_event = expires;
        return 0;
    case PVT_CE_PERIODIC:
    case PVT_CE_DETACHED:
        return -PVT_EINVAL;
    case PVT_CE_ONESHOT_STOPPED:
        if (expires == PVT_TIME_MAX)
            return 0;
        rc = pvt_clockevent_set_state(dev, PVT_CE_ONESHOT, 0);
        return rc ? rc : 1;
    case PVT_CE_ONESHOT:
        if (expires == PVT_TIME_MAX)
            return pvt_clockevent_set_state(dev, PVT_CE_ONESHOT_STOPPED, 0);
        return 1;
    }
    return -PVT_EINVAL;
}

int pvt_clockevent_program(struct pvt_clockevent *dev, int64_t expires,
                           bool force)
{
    const struct pvt_strategy *s;
    int64_t now, delta, target;
    uint64_t d, dnow;
    bool paired;
    int clamped, rc;

    /* the common case, a registered oneshot device with a strategy given
     * a deadline, in one test; anything else is checked in order */
    if (__builtin_expect(!dev || dev->core.state != PVT_CE_ONESHOT ||
                             !dev->core.tk || !dev->core.strategy ||
                             expires < 0 || expires == PVT_TIME_MAX,
                         0)) {
        if (!registered(dev) || !dev->core.strategy)
            return -PVT_EINVAL;
        if (expires < 0) {
            dev->core.stats.refused_past++;
            return -PVT_ETIME;
        }
        rc = program_state(dev, expires);
        if (rc <= 0)
            return rc;
    }

    s = dev->core.strategy;
    /* a PAIRED strategy aims from this pair: one counter read in all */
    paired = dev->read_paired && (s->flags & PVT_STRATEGY_PAIRED);
    if (paired) {
        now = pvt__timekeeper_now_paired(dev->core.tk, dev, &dnow);
    } else {
        now = pvt__timekeeper_now(dev->core.tk);
        dnow = 0; /* (not used) */
    }
    delta = expires - now; /* both >= 0: cannot overflow */
    if (delta <= 0 && !force) {
        dev->core.stats.refused_past++;
        return -PVT_ETIME;
    }
    /* starvation prevention: the pending forced event fires first anyway */
    if (dev->core.forced_pending &&
        (delta <= 0 || (uint64_t)delta <= dev->min_delta_ns)) {
        dev->core.stats.starvation_skips++;
        return 0;
    }
    dev->core.next_event = expires;
    if (delta <= 0)
        return program_min_delta(dev, expires); /* it reads the clock again */

    d = pvt__ce_clamp_ns(dev, (uint64_t)delta, &clamped);
    if (__builtin_expect(clamped != 0, 0)) {
        if (clamped > 0)
            dev->core.stats.clamped_max++;
        else
            dev->core.stats.clamped_min++;
    }
    target = d > (uint64_t)INT64_MAX ? PVT_TIME_MAX
                                     : pvt_add_sat_s64(now, (int64_t)d);
    dev->core.program_now = now;
    rc = paired ? s->program_pair(dev, target, now, dnow)
                : s->program(dev, target);
    if (rc == 0) {
        dev->core.forced_pending = false;
        record(dev, expires, now, target, false);
        return 0;
    }
    dev->core.stats.device_errors++;
    if (force)
        return program_min_delta(dev, expires);
    return rc < 0 ? rc : -PVT_ETIME;
}

int pvt_clockevent_event(struct pvt_clockevent *dev)
{
    if (!registered(dev))
        return -PVT_EINVAL;
    dev->core.stats.events++;
    dev->core.forced_pending = false;
    if (dev->core.event_handler)
        dev->core.event_handler(dev);
    return 0;
}

void pvt__clockevent_notify(struct pvt_clockevent *dev,
                            enum pvt_clockevent_notify what)
{
    const struct pvt_strategy *s = dev->core.strategy;

    if (s && s->notify)
        s->notify(dev, what, pvt__timekeeper_now(dev->core.tk));
}

int pvt_clockevent_notify(struct pvt_clockevent *dev,
                          enum pvt_clockevent_notify what)
{
    if (!registered(dev))
        return -PVT_EINVAL;
    pvt__clockevent_notify(dev, what);
    return 0;
}

/* ---- accessors ---------------------------------------------------------- */

enum pvt_clockevent_state pvt_clockevent_get_state(
    const struct pvt_clockevent *dev)
{
    return dev ? dev->core.state : PVT_CE_DETACHED;
}

uint64_t pvt_clockevent_period_ns(const struct pvt_clockevent *dev)
{
    return dev ? dev->core.period_ns : 0;
}

int64_t pvt_clockevent_next_event(const struct pvt_clockevent *dev)
{
    return dev ? dev->core.next_event : PVT_TIME_MAX;
}

bool pvt_clockevent_forced_pending(const struct pvt_clockevent *dev)
{
    return dev && dev->core.forced_pending;
}

const struct pvt_clockevent_programming *pvt_clockevent_last(
    const struct pvt_clockevent *dev)
{
    return dev ? &dev->core.last : NULL;
}

const struct pvt_clockevent_stats *pvt_clockevent_get_stats(
    const struct pvt_clockevent *dev)
{
    return dev ? &dev->core.stats : NULL;
}

void *pvt_clockevent_owner(const struct pvt_clockevent *dev)
{
    return dev ? dev->core.owner : NULL;
}

struct pvt_timekeeper *pvt_clockevent_timekeeper(
    const struct pvt_clockevent *dev)
{
    return registered(dev) ? dev->core.tk : NULL;
}

const char *pvt_clockevent_state_name(enum pvt_clockevent_state state)
{
    switch (state) {
    case PVT_CE_DETACHED:
        return "detached";
    case PVT_CE_SHUTDOWN:
        return "shutdown";
    case PVT_CE_PERIODIC:
        return "periodic";
    case PVT_CE_ONESHOT:
        return "oneshot";
    case PVT_CE_ONESHOT_STOPPED:
        return "oneshot-stopped";
    }
    return "invalid";
}

/*
 * The tick: periodic (device or emulated), jiffies, the high-res switch,
 * tickless idle.
 */
#include "pvtimer/tick.h"
#include "util.h"

#include "clockevent-internal.h"
#include "timekeeping-internal.h"

/*
 * Everything here runs with the tick's arguments checked once, by
 * pvt_tick_init: the core's own calls go to the unchecked variants, and
 * the results that can fail (a driver refusing a state or a deadline) are
 * counted in stats.program_errors.
 */

/* One jiffy: fold time in and run the low-res timers. The jiffy's time is
 * read after the increment: on the jiffies clocksource the increment is
 * what moves the clock, and a time read before it is a period stale. */
static void tick_periodic(struct pvt_tick *tick)
{
    tick->jiffies->jiffies++;
    tick->stats.ticks++;
    tick->last_update = pvt__timekeeper_update(tick->tk);
    /* a queue with a oneshot device of its own runs itself; the number of
     * timers run is of no interest here (q is valid: no error) */
    if (!tick->q->dev)
        (void)pvt_tq_run_expired(tick->q);
}

static bool clock_is_highres(const struct pvt_tick *tick)
{
    const uint32_t need = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES;
    return (tick->tk->cs->flags & need) == need;
}

static int check_highres(struct pvt_tick *tick);

/* The device's handler in the periodic modes (the device's interrupt). */
static void handle_periodic(struct pvt_clockevent *dev)
{
    struct pvt_tick *tick = pvt_clockevent_owner(dev);
    int64_t next;
    int rc;

    tick_periodic(tick);
    if (tick->mode == PVT_TICK_EMULATED) {
        /* on the grid of the previous deadline, not of "now": a late tick
         * does not push the next one later */
        next = pvt_add_sat_s64(pvt_clockevent_next_event(dev),
                               (int64_t)tick->period_ns);
        for (;;) {
            rc = pvt_clockevent_program(dev, next, false);
            if (rc != -PVT_ETIME)
                break;
            if (next > pvt__timekeeper_now(tick->tk)) {
                /* the device refused a deadline still ahead: no period
                 * was missed, and skipping on would count jiffies that
                 * have not passed (for ever, if it keeps refusing).
                 * Force it: retried at min_delta, bounded. */
                rc = pvt_clockevent_program(dev, next, true);
                break;
            }
            /* that period went by already: skip it, and count it as a
             * jiffy only if time is known without ticks */
            next = pvt_add_sat_s64(next, (int64_t)tick->period_ns);
            if (clock_is_highres(tick)) {
                tick->jiffies->jiffies++;
                tick->stats.jiffies_late++;
            } else {
                tick->stats.jiffies_lost++;
            }
        }
        if (rc)
            tick->stats.program_errors++;
    }
    /* a failed switch leaves the tick as it was (counted there) and is
     * tried again at the next tick */
    if (pvt_clockevent_owner(tick->dev) == tick)
        (void)check_highres(tick);
}

/* Bring jiffies up to date from a clock that does not depend on ticks. */
static void update_jiffies(struct pvt_tick *tick, int64_t now)
{
    uint64_t n;

    if (now - tick->last_update < (int64_t)tick->period_ns)
        return;
    n = pvt__div64_u64((uint64_t)(now - tick->last_update), tick->period_ns);
    tick->jiffies->jiffies += n;
    tick->last_update += (int64_t)(n * tick->period_ns);
    if (n > 1)
        tick->stats.jiffies_late += n - 1;
}

/*
 * The longest the clock may go unread in tickless idle, in ns: a quarter
 * of its counter's range. The timekeeper takes a counter more than half
 * its range past the anchor for one behind it, so a narrow counter (a
 * 32-bit one at GHz rates wraps in seconds) left unread longer would lose
 * whole wraps of time; as Linux bounds its idle by the clocksource's
 * max_idle_ns. 0: no bound (a 64-bit counter: centuries).
 */
static uint64_t idle_read_limit(const struct pvt_tick *tick)
{
    const struct pvt_clocksource *cs =
        __atomic_load_n(&tick->tk->cs, __ATOMIC_RELAXED);

    if (cs->mask == UINT64_MAX)
        return 0;
    return pvt_clocksource_cyc2ns(cs, cs->mask >> 2);
}

/* Stopped: the tick's timer only wakes the clock of a narrow counter. */
static void arm_idle_read(struct pvt_tick *tick, int64_t now)
{
    uint64_t limit = idle_read_limit(tick);

    /* the tick's own timer on its own queue: arming cannot fail */
    if (limit)
        (void)pvt_tq_arm(tick->q, &tick->sched,
                         pvt_add_sat_s64(now, limit > (uint64_t)INT64_MAX
                                                  ? INT64_MAX
                                                  : (int64_t)limit));
}

/* The tick in high-res mode: a timer on the period grid. */
static void sched_tick(struct pvt_timer *t)
{
    struct pvt_tick *tick = t->data;
    int64_t now = pvt__timekeeper_now(tick->tk);

    if (!tick->stopped)
        tick->stats.ticks++;
    update_jiffies(tick, now);
    now = pvt__timekeeper_update(tick->tk);
    /* the tick's own timer on its own queue: arming cannot fail */
    if (!tick->stopped)
        (void)pvt_tq_arm(tick->q, &tick->sched,
                         tick->last_update + (int64_t)tick->period_ns);
    else
        arm_idle_read(tick, now);
}

int pvt_tick_init(struct pvt_tick *tick, struct pvt_timekeeper *tk,
                  struct pvt_timer_queue *q, struct pvt_clockevent *dev,
                  struct pvt_jiffies *jiffies, struct pvt_cs_registry *reg)
{
    int64_t now;
    int rc;

    if (!tick || !tk || !tk->cs || !q || q->tk != tk || !dev || !jiffies ||
        jiffies->hz == 0 || jiffies->hz > PVT_HZ_MAX ||
        pvt_clockevent_timekeeper(dev) != tk)
        return -PVT_EINVAL;
    if (pvt_clockevent_owner(dev) || q->dev == dev)
        return -PVT_EBUSY;
    if (!(dev->features & PVT_CE_FEAT_ALL))
        return -PVT_EOPNOTSUPP;

    *tick = (struct pvt_tick){
        .tk = tk,
        .q = q,
        .dev = dev,
        .jiffies = jiffies,
        .reg = reg,
        .period_ns = pvt__div64_u64(
            (uint64_t)PVT_NSEC_PER_SEC + jiffies->hz / 2, jiffies->hz),
        .highres_at = -1,
    };
    (void)pvt_timer_init(&tick->sched, sched_tick, tick); /* valid args */
    now = pvt__timekeeper_now(tk);
    tick->last_update = now;

    pvt__clockevent_bind(dev, handle_periodic, tick); /* checked: no owner */
    if (dev->features & PVT_CE_FEAT_PERIODIC) {
        tick->mode = PVT_TICK_PERIODIC;
        rc = pvt_clockevent_set_state(dev, PVT_CE_PERIODIC, tick->period_ns);
    } else {
        tick->mode = PVT_TICK_EMULATED;
        rc = pvt_clockevent_set_state(dev, PVT_CE_ONESHOT, 0);
        if (rc == 0)
            rc = pvt_clockevent_program(
                dev, pvt_add_sat_s64(now, (int64_t)tick->period_ns), false);
    }
    if (rc)
        pvt__clockevent_release(dev);
    return rc;
}

static int check_highres(struct pvt_tick *tick)
{
    struct pvt_clockevent *dev = tick->dev;
    enum pvt_tick_mode old;
    int64_t now, next;
    int rc;

    if (tick->mode == PVT_TICK_HIGHRES || !clock_is_highres(tick) ||
        (!(dev->features & PVT_CE_FEAT_ONESHOT) && !tick->q->dev))
        return 0;

    old = tick->mode;
    if (tick->q->dev && tick->q->dev != dev) {
        /* the timers already have a oneshot device: the tick's own
         * device stops and the tick moves into the queue. A device that
         * will not stop ticks on to nobody: the switch goes ahead. */
        pvt__clockevent_release(dev);
        if (pvt_clockevent_set_state(dev, PVT_CE_SHUTDOWN, 0))
            tick->stats.program_errors++;
        pvt__clockevent_notify(tick->q->dev, PVT_CE_NOTIFY_MODE);
        goto switched;
    }
    next = pvt_clockevent_next_event(dev);
    pvt__clockevent_release(dev);
    /* a change of timer mode for the strategies, also when the device was
     * already oneshot under the emulated tick */
    if (old == PVT_TICK_EMULATED)
        pvt__clockevent_notify(dev, PVT_CE_NOTIFY_MODE);
    rc = pvt_tq_set_device(tick->q, dev);
    if (rc) {
        /* the queue may have taken the device (and put it in oneshot
         * state) before programming it failed: take it back (releasing
         * cannot fail) and put it back the way the periodic tick had it */
        if (tick->q->dev == dev)
            (void)pvt_tq_set_device(tick->q, NULL);
        pvt__clockevent_bind(dev, handle_periodic, tick);
        if (old == PVT_TICK_PERIODIC &&
            pvt_clockevent_get_state(dev) != PVT_CE_PERIODIC) {
            if (pvt_clockevent_set_state(dev, PVT_CE_PERIODIC, tick->period_ns))
                tick->stats.program_errors++;
        } else if (old == PVT_TICK_EMULATED &&
                   pvt_clockevent_next_event(dev) != next) {
            if (pvt_clockevent_program(dev, next, true))
                tick->stats.program_errors++;
        }
        return rc;
    }
switched:
    tick->mode = PVT_TICK_HIGHRES;
    now = pvt__timekeeper_now(tick->tk);
    tick->highres_at = now;
    /* reg was valid when given: this cannot fail */
    if (tick->reg)
        (void)pvt_cs_registry_require_hres(tick->reg, true);
    /* the tick continues on its grid, now as a timer */
    update_jiffies(tick, now);
    return pvt_tq_arm(tick->q, &tick->sched,
                      tick->last_update + (int64_t)tick->period_ns) == 0
               ? 1
               : -PVT_EINVAL;
}

int pvt_tick_check_highres(struct pvt_tick *tick)
{
    if (!tick || !tick->tk)
        return -PVT_EINVAL;
    return check_highres(tick);
}

int pvt_tick_idle_enter(struct pvt_tick *tick)
{
    if (!tick || !tick->q)
        return -PVT_EINVAL;
    if (tick->mode != PVT_TICK_HIGHRES)
        return -PVT_EOPNOTSUPP;
    if (tick->stopped)
        return 0;
    tick->stopped = true;
    tick->stats.idle_enters++;
    /* the tick's own timer on its own queue: cannot fail */
    (void)pvt_tq_cancel(tick->q, &tick->sched);
    arm_idle_read(tick, pvt__timekeeper_now(tick->tk));
    return 0;
}

int pvt_tick_idle_exit(struct pvt_tick *tick)
{
    if (!tick || !tick->q)
        return -PVT_EINVAL;
    if (!tick->stopped)
        return 0;
    tick->stopped = false;
    tick->stats.idle_exits++;
    update_jiffies(tick, pvt__timekeeper_now(tick->tk));
    (void)pvt__timekeeper_update(tick->tk);
    return pvt_tq_arm(tick->q, &tick->sched,
                      tick->last_update + (int64_t)tick->period_ns);
}

const char *pvt_tick_mode_name(enum pvt_tick_mode mode)
{
    switch (mode) {
    case PVT_TICK_PERIODIC:
        return "periodic";
    case PVT_TICK_EMULATED:
        return "periodic-emulated";
    case PVT_TICK_HIGHRES:
        return "highres";
    }
    return "invalid";
}

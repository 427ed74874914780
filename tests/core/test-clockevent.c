/*
 * Clockevent devices: configuration, registration checks, and Linux's
 * programming semantics (past deadlines, clamping, forced minimum delta,
 * retries, min_delta raising, giving up, starvation prevention).
 */
#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "world.h"

#define H0  (3ull * 86400 * PVT_NSEC_PER_SEC) /* hypervisor up 3 days */
#define GHZ 1000000000ull

static void boot_relative(struct world *w)
{
    world_boot(w, GHZ, GHZ, H0);
    world_attach(w, &w->pv, &pvt_strategy_relative);
    w->t = PVT_NSEC_PER_SEC;
}

TEST_IMPL(ce_delta2ns)
{
    struct pvt_clockevent dev = {.mult = 1, .shift = 0};
    uint64_t ns;

    /* 1 ns ticks: the floor of 1000 ns applies to both ends */
    ASSERT_OK(pvt_clockevent_delta2ns(&dev, 5, false, &ns));
    ASSERT_UEQ(ns, 1000);
    ASSERT_OK(pvt_clockevent_delta2ns(&dev, 5000, true, &ns));
    ASSERT_UEQ(ns, 5000);
    /* 3 ticks per ns (mult 3, shift 0): 10 ticks are 3.33 ns; a minimum
     * rounds up to 4 ns, a maximum may not (mult > 2^shift) */
    dev.mult = 3;
    ASSERT_OK(pvt_clockevent_delta2ns(&dev, 10000, false, &ns));
    ASSERT_UEQ(ns, 3334);
    ASSERT_OK(pvt_clockevent_delta2ns(&dev, 10000, true, &ns));
    ASSERT_UEQ(ns, 3333);
    /* overflow of ticks << shift saturates */
    dev.mult = 1u << 9;
    dev.shift = 8;
    ASSERT_OK(pvt_clockevent_delta2ns(&dev, UINT64_MAX, true, &ns));
    ASSERT_UEQ(ns, UINT64_MAX / (1u << 9));
    /* errors */
    ASSERT_ERR(pvt_clockevent_delta2ns(NULL, 1, false, &ns), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_delta2ns(&dev, 1, false, NULL), PVT_EINVAL);
    dev.mult = 0;
    ASSERT_ERR(pvt_clockevent_delta2ns(&dev, 1, false, &ns), PVT_EINVAL);
    dev.mult = 1;
    dev.shift = 33;
    ASSERT_ERR(pvt_clockevent_delta2ns(&dev, 1, false, &ns), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(ce_config)
{
    struct pvt_clockevent dev = {0};

    /* Xen's device: 1 ns ticks up to 2^32 - 1. Over 4 s the count fits 32
     * bits, and from == to makes mult = 2^shift: shift 31 is the first
     * below 32 whose mult fits. */
    ASSERT_OK(pvt_clockevent_config(&dev, GHZ, 1, UINT32_MAX));
    ASSERT_UEQ(dev.mult, 1u << 31);
    ASSERT_UEQ(dev.shift, 31);
    ASSERT_UEQ(dev.min_delta_ns, 1000);
    ASSERT_UEQ(dev.max_delta_ns, UINT32_MAX);
    ASSERT_UEQ(pvt_clockevent_ns2ticks(&dev, 12345), 12345);

    ASSERT_ERR(pvt_clockevent_config(NULL, GHZ, 1, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_config(&dev, 0, 1, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_config(&dev, 1ull << 32, 1, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_config(&dev, GHZ, 0, 2), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_config(&dev, GHZ, 3, 2), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(ce_register_validation)
{
    struct world w;
    struct pvt_clockevent d;

    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_ERR(pvt_clockevent_register(NULL, &w.tk), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_register(&w.pv, NULL), PVT_EINVAL);
#define BAD(field, value)                                                      \
    do {                                                                       \
        d = w.pv;                                                              \
        d.field = value;                                                       \
        ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);            \
        ASSERT_EQ(pvt_clockevent_get_state(&d), PVT_CE_DETACHED);              \
    } while (0)
    BAD(name, NULL);
    BAD(features, 0);
    BAD(features, 1u << 7);
    BAD(mult, 0);
    BAD(shift, 33);
    BAD(read_timebase, NULL);
    BAD(set_state_periodic, NULL);
    d = w.pv;
    d.set_next_event = NULL;
    d.set_next_abs = NULL;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
    d = w.pv;
    d.min_delta_ns = 5000;
    d.max_delta_ns = 4000;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
    d = w.pv;
    d.max_delta_ns = 0;
    d.max_delta_ticks = 0;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
#undef BAD
    /* nothing half-registered was left on the timekeeper */
    ASSERT_NULL(w.tk.listeners);

    ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
    ASSERT_EQ(pvt_clockevent_get_state(&w.pv), PVT_CE_SHUTDOWN);
    /* listening to the timekeeper: one listener, the device's */
    ASSERT_NOT_NULL(w.tk.listeners);
    ASSERT_NULL(w.tk.listeners->next);
    /* a device that takes absolute times starts with `delta` */
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &pvt_strategy_delta);
    ASSERT_ERR(pvt_clockevent_register(&w.pv, &w.tk), PVT_EBUSY);
    ASSERT_OK(pvt_clockevent_unregister(&w.pv));
    ASSERT_NULL(w.tk.listeners);
    ASSERT_ERR(pvt_clockevent_unregister(&w.pv), PVT_ENOENT);
    ASSERT_ERR(pvt_clockevent_unregister(NULL), PVT_EINVAL);
    /* a relative-only device starts with `relative` */
    d = w.pv;
    d.set_next_abs = NULL;
    d.read_timebase = NULL;
    ASSERT_OK(pvt_clockevent_register(&d, &w.tk));
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&d), &pvt_strategy_relative);
    ASSERT_OK(pvt_clockevent_unregister(&d));

    /* a periodic-only device (a PIT, Xen's periodic timer) registers and
     * ticks, with no strategy since it is never programmed */
    d = w.pv;
    d.features = PVT_CE_FEAT_PERIODIC;
    d.set_next_event = NULL;
    d.set_next_abs = NULL;
    d.read_timebase = NULL;
    ASSERT_OK(pvt_clockevent_register(&d, &w.tk));
    ASSERT_NULL(pvt_clockevent_strategy(&d));
    ASSERT_OK(
        pvt_clockevent_set_state(&d, PVT_CE_PERIODIC, 4 * PVT_NSEC_PER_MSEC));
    ASSERT_ERR(pvt_clockevent_set_state(&d, PVT_CE_ONESHOT, 0), PVT_EOPNOTSUPP);
    ASSERT_OK(pvt_clockevent_unregister(&d));

    /* the min_delta raising limit must keep the raising finite */
    d = w.pv; /* min 1000 ns, max 2^32 - 1 ns */
    d.min_delta_limit_ns = 999;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
    d.min_delta_limit_ns = (uint64_t)UINT32_MAX + 1;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
    d.min_delta_limit_ns = UINT64_MAX;
    ASSERT_ERR(pvt_clockevent_register(&d, &w.tk), PVT_EINVAL);
    /* the default is held within the device's range */
    d.min_delta_limit_ns = 0;
    d.max_delta_ns = PVT_NSEC_PER_MSEC; /* below the 4 ms default */
    ASSERT_OK(pvt_clockevent_register(&d, &w.tk));
    ASSERT_UEQ(d.min_delta_limit_ns, PVT_NSEC_PER_MSEC);
    RETURN_OK();
}

TEST_IMPL(ce_program_past)
{
    struct world w;
    int64_t now;

    boot_relative(&w);
    now = pvt_timekeeper_now(&w.tk);
    ASSERT_EQ(now, PVT_NSEC_PER_SEC);
    ASSERT_ERR(pvt_clockevent_program(&w.pv, now - 1, false), PVT_ETIME);
    ASSERT_ERR(pvt_clockevent_program(&w.pv, now, false), PVT_ETIME);
    ASSERT_ERR(pvt_clockevent_program(&w.pv, -5, true), PVT_ETIME);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->refused_past, 3);
    ASSERT_UEQ(w.calls_rel, 0);

    /* forced: programmed for now + min_delta */
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT_UEQ(w.calls_rel, 1);
    ASSERT_UEQ(w.last_value, w.pv.min_delta_ns); /* 1 ns ticks */
    ASSERT_UEQ(w.fire_t, w.t + w.pv.min_delta_ns);
    ASSERT(pvt_clockevent_last(&w.pv)->forced);
    ASSERT(pvt_clockevent_forced_pending(&w.pv));
    ASSERT_EQ(pvt_clockevent_next_event(&w.pv),
              now + (int64_t)w.pv.min_delta_ns);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->forced, 1);
    ASSERT_ERR(pvt_clockevent_program(NULL, now, true), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(ce_starvation_prevention)
{
    struct world w;
    int64_t now;

    boot_relative(&w);
    now = pvt_timekeeper_now(&w.tk);
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT_UEQ(w.calls_rel, 1);

    /* within min_delta, or past, while the forced event is pending: the
     * device is left alone */
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 500, false));
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT_OK(
        pvt_clockevent_program(&w.pv, now + (int64_t)w.pv.min_delta_ns, true));
    ASSERT_UEQ(w.calls_rel, 1);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->starvation_skips, 3);

    /* a later deadline is programmed and replaces the forced event */
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + PVT_NSEC_PER_MSEC, false));
    ASSERT_UEQ(w.calls_rel, 2);
    ASSERT_FALSE(pvt_clockevent_forced_pending(&w.pv));

    /* once the forced event has fired, short deadlines program again */
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT(pvt_clockevent_forced_pending(&w.pv));
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_FALSE(pvt_clockevent_forced_pending(&w.pv));
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 500, false));
    ASSERT_UEQ(w.calls_rel, 4);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->clamped_min, 1);
    ASSERT_UEQ(w.last_value, w.pv.min_delta_ns);
    RETURN_OK();
}

TEST_IMPL(ce_clamping)
{
    struct world w;
    int64_t now;

    boot_relative(&w);
    now = pvt_timekeeper_now(&w.tk);
    /* 10 s is beyond the u32-ns device: cut to 2^32 - 1 ns */
    ASSERT_OK(
        pvt_clockevent_program(&w.pv, now + 10 * PVT_NSEC_PER_SEC, false));
    ASSERT_UEQ(w.last_value, UINT32_MAX);
    ASSERT_EQ(pvt_clockevent_last(&w.pv)->target, now + (int64_t)UINT32_MAX);
    ASSERT_EQ(pvt_clockevent_last(&w.pv)->requested,
              now + 10 * PVT_NSEC_PER_SEC);
    ASSERT_EQ(pvt_clockevent_next_event(&w.pv), now + 10 * PVT_NSEC_PER_SEC);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->clamped_max, 1);
    /* 10 ns is below min_delta: raised to it */
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 10, false));
    ASSERT_UEQ(w.last_value, w.pv.min_delta_ns);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->clamped_min, 1);
    /* the deadline furthest away that exists */
    ASSERT_OK(pvt_clockevent_program(&w.pv, PVT_TIME_MAX - 1, false));
    ASSERT_UEQ(w.last_value, UINT32_MAX);
    RETURN_OK();
}

TEST_IMPL(ce_refusals_and_retries)
{
    struct world w;
    int64_t now;

    boot_relative(&w);
    now = pvt_timekeeper_now(&w.tk);

    /* not forced: the device's refusal is the caller's */
    w.refuse = 1;
    ASSERT_ERR(pvt_clockevent_program(&w.pv, now + 1000000, false), PVT_ETIME);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->device_errors, 1);

    /* forced: two refusals, then the third min-delta try succeeds */
    w.refuse = 2;
    w.calls_rel = 0;
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT_UEQ(w.calls_rel, 3);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->min_delta_raised, 0);
    ASSERT_OK(pvt_clockevent_event(&w.pv));

    /* forced future deadline refused once: falls back to min delta */
    w.refuse = 1;
    w.calls_rel = 0;
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 1000000, true));
    ASSERT_UEQ(w.calls_rel, 2);
    ASSERT(pvt_clockevent_last(&w.pv)->forced);
    ASSERT_OK(pvt_clockevent_event(&w.pv));

    /* a device that refuses deltas under 6000 ticks: 3 tries at 1000 ns,
     * raise to 5000 (the first raise floor), 3 tries, raise by half to
     * 7500, which it takes: 7 calls, 2 raises. */
    w.refuse_below = 6000;
    w.calls_rel = 0;
    ASSERT_OK(pvt_clockevent_program(&w.pv, now - 1, true));
    ASSERT_UEQ(w.calls_rel, 7);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->min_delta_raised, 2);
    ASSERT_UEQ(w.pv.min_delta_ns, 7500);
    ASSERT_UEQ(w.last_value, 7500);
    RETURN_OK();
}

TEST_IMPL(ce_gives_up)
{
    struct world w;
    int64_t now;

    world_boot(&w, GHZ, GHZ, H0);
    w.pv.min_delta_limit_ns = 20000;
    world_attach(&w, &w.pv, &pvt_strategy_relative);
    w.t = PVT_NSEC_PER_SEC;
    now = pvt_timekeeper_now(&w.tk);

    /* refusing everything: min_delta goes 1000 -> 5000 -> 7500 -> 11250
     * -> 16875 -> 20000 (capped at the limit), 3 tries at each of those 6
     * values, then it is at the limit and the core gives up. */
    w.refuse = -1;
    ASSERT_ERR(pvt_clockevent_program(&w.pv, now - 1, true), PVT_ETIME);
    ASSERT_UEQ(w.calls_rel, 18);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->min_delta_raised, 5);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->gave_up, 1);
    ASSERT_UEQ(w.pv.min_delta_ns, 20000);
    ASSERT_EQ(pvt_clockevent_next_event(&w.pv), PVT_TIME_MAX);
    ASSERT_FALSE(pvt_clockevent_forced_pending(&w.pv));
    RETURN_OK();
}

TEST_IMPL(ce_states)
{
    struct world w;
    int64_t now;
    uint64_t calls;

    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_ERR(pvt_clockevent_set_state(&w.pv, PVT_CE_ONESHOT, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_program(&w.pv, 5, false), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_event(&w.pv), PVT_EINVAL);
    ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
    ASSERT_OK(pvt_clockevent_register(&w.lapic, &w.tk));
    now = pvt_timekeeper_now(&w.tk);

    /* shut down: the request is remembered, the device untouched */
    calls = w.calls_abs + w.calls_rel;
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 5000, false));
    ASSERT_EQ(pvt_clockevent_next_event(&w.pv), now + 5000);
    ASSERT_UEQ(w.calls_abs + w.calls_rel, calls);

    /* periodic: the period reaches the driver; no oneshot programming */
    ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_PERIODIC,
                                       10 * PVT_NSEC_PER_MSEC));
    ASSERT_UEQ(w.last_period, 10 * PVT_NSEC_PER_MSEC);
    ASSERT_EQ(pvt_clockevent_get_state(&w.pv), PVT_CE_PERIODIC);
    ASSERT_ERR(pvt_clockevent_program(&w.pv, now + 5000, false), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_set_state(&w.pv, PVT_CE_PERIODIC, 1000),
               PVT_EINVAL);
    ASSERT_ERR(
        pvt_clockevent_set_state(&w.lapic, PVT_CE_PERIODIC, PVT_NSEC_PER_MSEC),
        PVT_EOPNOTSUPP);
    ASSERT_ERR(pvt_clockevent_set_state(&w.pv, PVT_CE_DETACHED, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_set_state(NULL, PVT_CE_ONESHOT, 0), PVT_EINVAL);

    /* oneshot; "never" stops the device, a deadline restarts it */
    ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_ONESHOT, 0));
    calls = w.state_calls;
    ASSERT_OK(pvt_clockevent_program(&w.pv, PVT_TIME_MAX, false));
    ASSERT_EQ(pvt_clockevent_get_state(&w.pv), PVT_CE_ONESHOT_STOPPED);
    ASSERT_UEQ(w.state_calls, calls + 1);
    ASSERT_EQ(pvt_clockevent_next_event(&w.pv), PVT_TIME_MAX);
    ASSERT_OK(pvt_clockevent_program(&w.pv, now + 5000, false));
    ASSERT_EQ(pvt_clockevent_get_state(&w.pv), PVT_CE_ONESHOT);

    ASSERT_STR_EQ(pvt_clockevent_state_name(PVT_CE_ONESHOT_STOPPED),
                  "oneshot-stopped");
    ASSERT_STR_EQ(pvt_clockevent_state_name((enum pvt_clockevent_state)42),
                  "invalid");
    RETURN_OK();
}

static void count_event(struct pvt_clockevent *dev)
{
    int *n = pvt_clockevent_owner(dev);
    (*n)++;
}

TEST_IMPL(ce_event_handler)
{
    struct world w;
    int n = 0;

    boot_relative(&w);
    ASSERT_OK(pvt_clockevent_bind(&w.pv, count_event, &n));
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->events, 2);
    ASSERT_ERR(pvt_clockevent_event(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_notify(NULL, PVT_CE_NOTIFY_RESUME), PVT_EINVAL);
    RETURN_OK();
}

static void other_event(struct pvt_clockevent *dev)
{
    int *n = pvt_clockevent_owner(dev);
    *n += 100;
}

TEST_IMPL(ce_bind_release)
{
    struct world w;
    struct pvt_clockevent loose;
    int a = 0, b = 0;

    boot_relative(&w);
    loose = world_driver_copy(&w.pv);
    /* arguments, and an unregistered device */
    ASSERT_ERR(pvt_clockevent_bind(NULL, count_event, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_bind(&w.pv, NULL, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_bind(&w.pv, count_event, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_bind(&loose, count_event, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_release(NULL, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_release(&w.pv, NULL), PVT_EINVAL);
    /* nobody owns it: nothing to release, events reach nobody */
    ASSERT_NULL(pvt_clockevent_owner(&w.pv));
    ASSERT_ERR(pvt_clockevent_release(&w.pv, &a), PVT_ENOENT);
    ASSERT_OK(pvt_clockevent_event(&w.pv));

    /* a takes it; b may neither take it nor let it go */
    ASSERT_OK(pvt_clockevent_bind(&w.pv, count_event, &a));
    ASSERT_PTR_EQ(pvt_clockevent_owner(&w.pv), &a);
    ASSERT_ERR(pvt_clockevent_bind(&w.pv, count_event, &b), PVT_EBUSY);
    ASSERT_ERR(pvt_clockevent_release(&w.pv, &b), PVT_EBUSY);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&w.pv), &a);
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_EQ(a, 1);
    ASSERT_EQ(b, 0);
    /* the owner binding again replaces its handler */
    ASSERT_OK(pvt_clockevent_bind(&w.pv, other_event, &a));
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_EQ(a, 101);

    /* released: events reach nobody, and b may take it */
    ASSERT_OK(pvt_clockevent_release(&w.pv, &a));
    ASSERT_NULL(pvt_clockevent_owner(&w.pv));
    ASSERT_ERR(pvt_clockevent_release(&w.pv, &a), PVT_ENOENT);
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_EQ(a, 101);
    ASSERT_OK(pvt_clockevent_bind(&w.pv, count_event, &b));
    ASSERT_OK(pvt_clockevent_event(&w.pv));
    ASSERT_EQ(b, 1);
    ASSERT_UEQ(pvt_clockevent_get_stats(&w.pv)->events, 5);

    /* the binding is the owner's: unregistering leaves it, and b may still
     * let go of the unregistered device */
    ASSERT_OK(pvt_clockevent_unregister(&w.pv));
    ASSERT_PTR_EQ(pvt_clockevent_owner(&w.pv), &b);
    ASSERT_OK(pvt_clockevent_release(&w.pv, &b));
    ASSERT_NULL(pvt_clockevent_owner(&w.pv));
    RETURN_OK();
}

/* delta, counting what it is told in its state (a struct world_notes) */
static void told_notify(struct pvt_clockevent *dev,
                        enum pvt_clockevent_notify what, int64_t now)
{
    (void)now;
    world_note(dev, what);
}

static uint64_t other_cs_read(struct pvt_clocksource *cs)
{
    (void)cs;
    return 12345;
}

/* A registered device listens to its timekeeper; an unregistered one no
 * longer does. */
TEST_IMPL(ce_listens_while_registered)
{
    struct world w;
    struct world_notes t = {0}, t2 = {0};
    struct pvt_strategy told_strategy = pvt_strategy_delta;
    struct pvt_clockevent second;
    struct pvt_clocksource other = {
        .name = "other",
        .read = other_cs_read,
        .mask = UINT64_MAX,
        .rating = 100,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };

    told_strategy.flags = PVT_STRATEGY_STATE;
    told_strategy.notify = told_notify;
    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_OK(pvt_clocksource_init_hz(&other, GHZ, 0));
    second = world_driver_copy(&w.pv);
    ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
    ASSERT_OK(pvt_clockevent_register(&second, &w.tk));
    ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, &told_strategy, &t));
    ASSERT_OK(pvt_clockevent_set_strategy(&second, &told_strategy, &t2));
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_ATTACH], 1);

    ASSERT_OK(pvt_timekeeper_set_clocksource(&w.tk, &other));
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_CLOCKSOURCE], 1);
    ASSERT_UEQ(t2.told[PVT_CE_NOTIFY_CLOCKSOURCE], 1);
    ASSERT_OK(pvt_timekeeper_resume(&w.tk));
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_RESUME], 1);
    ASSERT_UEQ(t2.told[PVT_CE_NOTIFY_RESUME], 1);

    /* unregistered: told nothing more; the other device still is */
    ASSERT_OK(pvt_clockevent_unregister(&w.pv));
    ASSERT_OK(pvt_timekeeper_set_clocksource(&w.tk, &w.tsc));
    ASSERT_OK(pvt_timekeeper_resume(&w.tk));
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_CLOCKSOURCE], 1);
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_RESUME], 1);
    ASSERT_UEQ(t2.told[PVT_CE_NOTIFY_CLOCKSOURCE], 2);
    ASSERT_UEQ(t2.told[PVT_CE_NOTIFY_RESUME], 2);
    /* registered again: it listens again */
    ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
    ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, &told_strategy, &t));
    ASSERT_OK(pvt_timekeeper_set_clocksource(&w.tk, &other));
    ASSERT_UEQ(t.told[PVT_CE_NOTIFY_CLOCKSOURCE], 2);
    ASSERT_UEQ(t2.told[PVT_CE_NOTIFY_CLOCKSOURCE], 3);
    ASSERT_OK(pvt_clockevent_unregister(&second));
    ASSERT_OK(pvt_clockevent_unregister(&w.pv));
    ASSERT_NULL(w.tk.listeners);
    RETURN_OK();
}

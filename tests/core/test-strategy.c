/*
 * Programming strategies: each conversion on a non-drifting and on a
 * drifting guest clock, under a preemption, saturation, the u32 delta
 * clamp, rounding, and the notifications that re-take offsets.
 *
 * Expected aim errors come from the world model (world.h): the guest clock
 * at true time t is g(t) = floor(floor(t * tsc_hz / 1e9) * mult / 2^shift)
 * and the hypervisor clock is h0 + t. Magnitudes are also checked against
 * the drift the parameters imply, (tsc_hz - cal_hz) / cal_hz.
 */
#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "world.h"

#define H0     (3ull * 86400 * PVT_NSEC_PER_SEC)
#define GHZ    1000000000ull
#define UPTIME (1000 * PVT_NSEC_PER_SEC)
#define DELTA  PVT_NSEC_PER_MSEC

/* the guest's TSC calibrated 300 ppm low: its clock runs fast */
#define CAL_HZ (GHZ - GHZ / 1000000 * 300)

static struct pvt_clockevent *device_for(struct world *w,
                                         const struct pvt_strategy *s)
{
    return (s->flags & PVT_STRATEGY_COUPLED) ? &w->lapic : &w->pv;
}

/* Program a timer DELTA ahead at UPTIME; return the aim error. */
static int64_t aim_at_uptime(const struct pvt_strategy *s, uint64_t cal_hz,
                             uint64_t preempt_ns, int64_t *deadline_out)
{
    struct world w;
    struct pvt_clockevent *dev;
    int64_t deadline;

    world_boot(&w, GHZ, cal_hz, H0);
    dev = device_for(&w, s);
    world_attach(&w, dev, s);
    w.t = UPTIME;
    deadline = pvt_timekeeper_now(&w.tk) + DELTA;
    ASSERT_EQ(deadline, world_guest_at(&w, UPTIME) + DELTA);
    w.preempt_ns = preempt_ns;
    w.preempt_armed = preempt_ns != 0;
    ASSERT_OK(pvt_clockevent_program(dev, deadline, false));
    if (deadline_out)
        *deadline_out = deadline;
    return world_guest_at(&w, w.fire_t) - deadline;
}

/* x * (tsc_hz - cal_hz) / cal_hz: the drift the parameters imply */
static int64_t drift_of(int64_t x, uint64_t cal_hz)
{
    return x * (int64_t)(GHZ - cal_hz) / (int64_t)cal_hz;
}

TEST_IMPL(strategy_table)
{
    static const char *const names[] = {"abs-boot-offset", "abs-mode-offset",
                                        "relative",        "delta",
                                        "coupled",         "compensated"};
    const struct pvt_strategy *const *all;
    size_t n, i;

    all = pvt_strategies(&n);
    ASSERT_UEQ(n, PVT_ARRAY_SIZE(names));
    for (i = 0; i < n; i++) {
        ASSERT_STR_EQ(all[i]->name, names[i]);
        ASSERT_PTR_EQ(pvt_strategy_find(names[i]), all[i]);
        ASSERT_NOT_NULL(all[i]->summary);
        ASSERT_NOT_NULL(all[i]->program);
    }
    ASSERT_NULL(pvt_strategy_find("compensated-typo"));
    ASSERT_NULL(pvt_strategy_find(NULL));
    ASSERT_PTR_EQ(pvt_strategies(NULL), all);
    RETURN_OK();
}

TEST_IMPL(strategy_needs)
{
    struct world w;
    struct pvt_clockevent rel_only;

    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_delta, NULL),
               PVT_EINVAL); /* not registered */
    ASSERT_OK(pvt_clockevent_register(&w.lapic, &w.tk));
    ASSERT_ERR(
        pvt_clockevent_set_strategy(&w.lapic, &pvt_strategy_relative, NULL),
        PVT_EOPNOTSUPP);
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.lapic, NULL, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_clockevent_set_strategy(NULL, &pvt_strategy_delta, NULL),
               PVT_EINVAL);
    rel_only = w.pv;
    rel_only.set_next_abs = NULL;
    rel_only.read_timebase = NULL;
    ASSERT_OK(pvt_clockevent_register(&rel_only, &w.tk));
    ASSERT_ERR(
        pvt_clockevent_set_strategy(&rel_only, &pvt_strategy_delta, NULL),
        PVT_EOPNOTSUPP);
    ASSERT_ERR(pvt_clockevent_set_strategy(&rel_only,
                                           &pvt_strategy_abs_boot_offset, NULL),
               PVT_EOPNOTSUPP);
    ASSERT_OK(
        pvt_clockevent_set_strategy(&rel_only, &pvt_strategy_relative, NULL));
    RETURN_OK();
}

TEST_IMPL(strategy_exact_without_drift)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    /* a TSC calibrated right at 1 GHz converts exactly: every strategy
     * aims where asked (coupled: within the ns that a cycle rounds to) */
    for (i = 0; i < n; i++) {
        int64_t aim = aim_at_uptime(all[i], GHZ, 0, NULL);
        ASSERT_GE(aim, 0);
        ASSERT_LE(aim, 1);
    }
    RETURN_OK();
}

TEST_IMPL(strategy_abs_boot_offset_drifts)
{
    int64_t deadline, aim;
    struct world m;

    aim = aim_at_uptime(&pvt_strategy_abs_boot_offset, CAL_HZ, 0, &deadline);
    /* offset taken at boot (guest 0, hypervisor h0): the device fires at
     * true time = the guest deadline, where the fast guest clock reads
     * g(deadline); the error is the drift over the whole uptime */
    world_boot(&m, GHZ, CAL_HZ, H0);
    ASSERT_EQ(aim, world_guest_at(&m, (uint64_t)deadline) - deadline);
    ASSERT_NEAR(aim, drift_of(deadline, CAL_HZ),
                drift_of(deadline, CAL_HZ) / 100);
    /* ~0.3 s late after 1000 s: it grows with uptime, without bound */
    ASSERT_GT(aim, 1000 * DELTA / 10);
    RETURN_OK();
}

TEST_IMPL(strategy_abs_mode_offset_retakes)
{
    struct world w;
    int64_t deadline, aim, g_mode;
    const uint64_t t_mode = UPTIME - 100 * PVT_NSEC_PER_SEC;

    world_boot(&w, GHZ, CAL_HZ, H0);
    world_attach(&w, &w.pv, &pvt_strategy_abs_mode_offset);
    /* a timer-mode change at t_mode (periodic, then oneshot again) */
    w.t = t_mode;
    ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_PERIODIC,
                                       4 * PVT_NSEC_PER_MSEC));
    ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_ONESHOT, 0));
    g_mode = world_guest_at(&w, t_mode);
    ASSERT_EQ(world_offset(&w.pv).guest_base, g_mode);
    ASSERT_UEQ(world_offset(&w.pv).device_base, H0 + t_mode);

    w.t = UPTIME;
    deadline = pvt_timekeeper_now(&w.tk) + DELTA;
    ASSERT_OK(pvt_clockevent_program(&w.pv, deadline, false));
    /* fires at t_mode + (deadline - g_mode): the drift since the change */
    ASSERT_UEQ(w.fire_t, t_mode + (uint64_t)(deadline - g_mode));
    aim = world_guest_at(&w, w.fire_t) - deadline;
    ASSERT_NEAR(aim, drift_of(deadline - g_mode, CAL_HZ),
                drift_of(deadline - g_mode, CAL_HZ) / 100 + 2);
    /* a tenth of abs-boot-offset's error: 100 s of drift instead of 1000 */
    ASSERT_LT(
        aim, aim_at_uptime(&pvt_strategy_abs_boot_offset, CAL_HZ, 0, NULL) / 5);
    /* a resume re-takes it too */
    w.t = UPTIME + PVT_NSEC_PER_SEC;
    ASSERT_OK(pvt_clockevent_notify(&w.pv, PVT_CE_NOTIFY_RESUME));
    ASSERT_EQ(world_offset(&w.pv).guest_base, world_guest_at(&w, w.t));
    ASSERT_UEQ(world_offset(&w.pv).device_base, H0 + w.t);
    RETURN_OK();
}

TEST_IMPL(strategy_local_error_with_drift)
{
    const struct pvt_strategy *local[] = {&pvt_strategy_relative,
                                          &pvt_strategy_delta};
    size_t i;

    for (i = 0; i < PVT_ARRAY_SIZE(local); i++) {
        int64_t deadline, aim;
        struct world m;

        aim = aim_at_uptime(local[i], CAL_HZ, 0, &deadline);
        /* the hypervisor fires DELTA after UPTIME in its own time; the
         * guest clock has meanwhile gone g(UPTIME + DELTA) - g(UPTIME) */
        world_boot(&m, GHZ, CAL_HZ, H0);
        ASSERT_EQ(aim, world_guest_at(&m, UPTIME + DELTA) -
                           world_guest_at(&m, UPTIME) - DELTA);
        /* drift x delta (300 ns for 1 ms), independent of uptime */
        ASSERT_NEAR(aim, drift_of(DELTA, CAL_HZ), 2);
    }
    /* coupled converts exactly even on the miscalibrated TSC: the device
     * counts the very cycles the guest clock is made of */
    {
        int64_t aim = aim_at_uptime(&pvt_strategy_coupled, CAL_HZ, 0, NULL);
        ASSERT_GE(aim, 0);
        ASSERT_LE(aim, 1);
    }
    RETURN_OK();
}

TEST_IMPL(strategy_preemption)
{
    const uint64_t preempt = 300 * PVT_NSEC_PER_USEC;
    int64_t aim;

    /* preempted right after reading the guest clock: `relative` hands over
     * a delta the hypervisor adds to its *later* now: late by the whole
     * preemption */
    aim = aim_at_uptime(&pvt_strategy_relative, GHZ, preempt, NULL);
    ASSERT_EQ(aim, (int64_t)preempt);
    /* `delta` reads both clocks back to back, after the preemption */
    aim = aim_at_uptime(&pvt_strategy_delta, GHZ, preempt, NULL);
    ASSERT_GE(aim, 0);
    ASSERT_LE(aim, 1);
    /* absolute conversions do not care when they are made */
    aim = aim_at_uptime(&pvt_strategy_abs_boot_offset, GHZ, preempt, NULL);
    ASSERT_GE(aim, 0);
    ASSERT_LE(aim, 1);
    aim = aim_at_uptime(&pvt_strategy_coupled, GHZ, preempt, NULL);
    ASSERT_GE(aim, 0);
    ASSERT_LE(aim, 1);
    RETURN_OK();
}

TEST_IMPL(strategy_saturates)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    /* a hypervisor clock 1 us short of wrapping: the absolute deadline
     * stops at UINT64_MAX instead of wrapping into the past */
    for (i = 0; i < n; i++) {
        struct world w;
        int64_t now;

        if ((all[i]->flags & PVT_STRATEGY_COUPLED) ||
            !(all[i]->needs & PVT_CE_NEEDS_ABSOLUTE))
            continue; /* not in hypervisor time */
        world_boot(&w, GHZ, GHZ, UINT64_MAX - 1000);
        world_attach(&w, &w.pv, all[i]);
        now = pvt_timekeeper_now(&w.tk);
        ASSERT_OK(pvt_clockevent_program(&w.pv, now + PVT_NSEC_PER_SEC, false));
        ASSERT_UEQ(w.last_value, UINT64_MAX);
    }
    RETURN_OK();
}

TEST_IMPL(strategy_u32_delta_clamp)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    /* the hypervisor timer takes at most 2^32 - 1 ns: a 10 s deadline is
     * aimed 4.29 s ahead by every strategy (the owner re-programs) */
    for (i = 0; i < n; i++) {
        struct world w;
        int64_t now, aim;

        world_boot(&w, GHZ, GHZ, H0);
        w.lapic.max_delta_ns = UINT32_MAX; /* same limit for coupled */
        world_attach(&w, device_for(&w, all[i]), all[i]);
        w.t = UPTIME;
        now = pvt_timekeeper_now(&w.tk);
        ASSERT_OK(pvt_clockevent_program(device_for(&w, all[i]),
                                         now + 10 * PVT_NSEC_PER_SEC, false));
        aim = world_guest_at(&w, w.fire_t) - now;
        ASSERT_GE(aim, (int64_t)UINT32_MAX);
        ASSERT_LE(aim, (int64_t)UINT32_MAX + 1);
    }
    RETURN_OK();
}

TEST_IMPL(strategy_rounds_up)
{
    struct world w;
    int64_t now;
    uint64_t k;

    /* an ACPI-PM-rate device (3.579545 MHz): ticks are 279.4 ns, so most
     * deltas fall between ticks; the device must get the tick at or after
     * the deadline, never the one before */
    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_OK(pvt_clockevent_config(&w.pv, 3579545, 2, UINT32_MAX));
    world_attach(&w, &w.pv, &pvt_strategy_relative);
    now = pvt_timekeeper_now(&w.tk);
    for (k = 0; k < 3000; k++) {
        uint64_t delta = 10000 + k * 997;
        ASSERT_OK(pvt_clockevent_program(&w.pv, now + (int64_t)delta, false));
        /* ticks / f >= delta / 1e9, in integers */
        ASSERT_UGE(w.last_value * GHZ, delta * 3579545);
        ASSERT_ULT((w.last_value - 1) * GHZ, delta * 3579545);
    }
    /* a deadline far beyond the device's range: cut to its maximum in
     * ticks, not one tick over (max_delta_ns rounds up, as Linux's does) */
    ASSERT_OK(
        pvt_clockevent_program(&w.pv, now + 10000 * PVT_NSEC_PER_SEC, false));
    ASSERT_UEQ(w.last_value, UINT32_MAX);
    RETURN_OK();
}

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return *(const uint64_t *)cs->priv;
}

TEST_IMPL(strategy_clocksource_switch)
{
    struct world w;
    struct pvt_clocksource other;
    uint64_t other_count = 0;
    int64_t base_boot, base_mode, now, deadline;
    uint64_t tsc_now;

    world_boot(&w, GHZ, CAL_HZ, H0);
    /* three devices on one guest: the offset strategies and coupled */
    w.lapic.coupled_cs = &w.tsc;
    world_attach(&w, &w.lapic, &pvt_strategy_coupled);
    world_attach(&w, &w.pv, &pvt_strategy_abs_boot_offset);
    base_boot = world_offset(&w.pv).guest_base;
    {
        struct pvt_clockevent mode = world_driver_copy(&w.pv);
        world_attach(&w, &mode, &pvt_strategy_abs_mode_offset);
        w.t = 50 * PVT_NSEC_PER_SEC;
        other = (struct pvt_clocksource){
            .name = "other",
            .read = counter_read,
            .priv = &other_count,
            .mask = UINT64_MAX,
            .rating = 400,
            .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
        };
        ASSERT_OK(pvt_clocksource_init_hz(&other, GHZ, 0));
        ASSERT_OK(pvt_timekeeper_set_clocksource(&w.tk, &other));
        base_mode = world_offset(&mode).guest_base;
        /* abs-mode-offset re-took its offset at the switch */
        ASSERT_EQ(base_mode, world_guest_at(&w, w.t));
        ASSERT_UEQ(world_offset(&mode).device_base, H0 + w.t);
        ASSERT_OK(pvt_clockevent_unregister(&mode));
    }
    /* abs-boot-offset did not */
    ASSERT_EQ(world_offset(&w.pv).guest_base, base_boot);

    /* coupled: the TSC is no longer the clocksource, so it takes the delta
     * path: TSC now + delta in cycles */
    now = pvt_timekeeper_now(&w.tk);
    deadline = now + DELTA;
    tsc_now = world_tsc(&w);
    ASSERT_OK(pvt_clockevent_program(&w.lapic, deadline, false));
    ASSERT_UEQ(w.last_value,
               tsc_now + pvt_clockevent_ns2ticks(&w.lapic, DELTA));
    RETURN_OK();
}

/* The check of a state that is an int: 0 is refused. */
static int int_state_check(const void *state)
{
    return *(const int *)state ? 0 : 1; /* positive: taken as EINVAL */
}

TEST_IMPL(strategy_state)
{
    struct world w;
    struct pvt_drift d = {0};
    struct pvt_drift_estimate e;
    struct pvt_drift_sample s = {.res_ns = 1};
    struct pvt_strategy no_program = pvt_strategy_delta;
    struct pvt_strategy int_state_strategy = pvt_strategy_delta;
    int zero = 0, one = 1, k;

    int_state_strategy.flags = PVT_STRATEGY_STATE; /* a non-zero int */
    int_state_strategy.check_state = int_state_check;
    world_boot(&w, GHZ, GHZ, H0);
    ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &pvt_strategy_delta);
    ASSERT_NULL(pvt_clockevent_strategy(NULL));
    ASSERT_NULL(pvt_clockevent_strategy_state(NULL));

    /* compensated takes an estimator, initialised; the device keeps its
     * strategy when refused */
    ASSERT_ERR(
        pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_compensated, NULL),
        PVT_EINVAL);
    ASSERT_ERR(
        pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_compensated, &d),
        PVT_EINVAL);
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &pvt_strategy_delta);
    ASSERT_NULL(pvt_clockevent_strategy_state(&w.pv));
    /* given one, it starts it afresh (attach resets a locked fit) */
    ASSERT_OK(pvt_drift_init(&d, NULL));
    for (k = 0; k < PVT_DRIFT_MIN_SAMPLES; k++) {
        s.a_ns = (int64_t)(k + 1) * 200 * PVT_NSEC_PER_MSEC;
        s.b_ns = (uint64_t)s.a_ns + 5000;
        ASSERT_GE(pvt_drift_feed(&d, &s), 0);
    }
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_GE(e.state, PVT_DRIFT_LOCKED);
    ASSERT_OK(
        pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_compensated, &d));
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &pvt_strategy_compensated);
    ASSERT_PTR_EQ(pvt_clockevent_strategy_state(&w.pv), &d);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_EQ(e.state, PVT_DRIFT_UNLOCKED);

    /* a stateless strategy ignores a state: it is not kept */
    ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_delta, &d));
    ASSERT_NULL(pvt_clockevent_strategy_state(&w.pv));

    /* a strategy's own check: its error, or EINVAL for a positive one */
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, &int_state_strategy, &zero),
               PVT_EINVAL);
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &pvt_strategy_delta);
    ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, &int_state_strategy, &one));
    ASSERT_PTR_EQ(pvt_clockevent_strategy_state(&w.pv), &one);
    ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_ONESHOT, 0));
    w.t = PVT_NSEC_PER_SEC;
    ASSERT_OK(pvt_clockevent_program(
        &w.pv, pvt_timekeeper_now(&w.tk) + PVT_NSEC_PER_MSEC, false));
    ASSERT_UEQ(w.fire_t, w.t + PVT_NSEC_PER_MSEC);

    /* no program op */
    no_program.program = NULL;
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, &no_program, NULL),
               PVT_EINVAL);
    /* PAIRED without program_pair, the op a paired reading is given to */
    no_program = pvt_strategy_delta;
    no_program.program_pair = NULL;
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, &no_program, NULL),
               PVT_EINVAL);
    no_program.flags &= ~PVT_STRATEGY_PAIRED; /* then it reads its own */
    ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, &no_program, NULL));
    ASSERT_PTR_EQ(pvt_clockevent_strategy(&w.pv), &no_program);
    /* unregistered: refused; the state goes with the strategy */
    ASSERT_OK(pvt_clockevent_unregister(&w.pv));
    ASSERT_NULL(pvt_clockevent_strategy_state(&w.pv));
    ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, &int_state_strategy, &one),
               PVT_EINVAL);
    RETURN_OK();
}

/*
 * Each built-in strategy's flags say what it does: the behaviour is
 * checked, not the table.
 */
TEST_IMPL(strategy_flags)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    for (i = 0; i < n; i++) {
        const struct pvt_strategy *s = all[i];
        struct world w;
        struct pvt_drift_estimate e;
        int64_t gb, deadline, aim;
        uint64_t db;

        /* STATE: refused without one */
        world_boot(&w, GHZ, CAL_HZ, H0);
        ASSERT_OK(pvt_clockevent_register(&w.pv, &w.tk));
        if (s->flags & PVT_STRATEGY_STATE)
            ASSERT_ERR(pvt_clockevent_set_strategy(&w.pv, s, NULL), PVT_EINVAL);
        else
            ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, s, NULL));
        /* ESTIMATOR: the state is an estimator and it is fed (samples
         * are kept 100 ms apart) */
        ASSERT_OK(pvt_clockevent_set_strategy(&w.pv, s, &w.drift));
        ASSERT_OK(pvt_clockevent_set_state(&w.pv, PVT_CE_ONESHOT, 0));
        w.t = PVT_NSEC_PER_SEC;
        ASSERT_OK(pvt_clockevent_program(
            &w.pv, pvt_timekeeper_now(&w.tk) + DELTA, false));
        w.t += PVT_NSEC_PER_SEC;
        ASSERT_OK(pvt_clockevent_program(
            &w.pv, pvt_timekeeper_now(&w.tk) + DELTA, false));
        ASSERT_OK(pvt_drift_get(&w.drift, &e));
        ASSERT_UEQ(e.samples, (s->flags & PVT_STRATEGY_ESTIMATOR) ? 2 : 0);
        /* OFFSET: aims by an offset it took (at attach) */
        ASSERT_EQ(pvt_clockevent_get_offset(&w.pv, &gb, &db),
                  (s->flags & PVT_STRATEGY_OFFSET) ? 0 : -PVT_ENOENT);

        /* COUPLED: exact on a device counting the current clocksource's
         * cycles, however wrong its calibration; an absolute strategy
         * that is not coupled carries the drift over the delta */
        if (!(s->needs & PVT_CE_NEEDS_ABSOLUTE)) {
            ASSERT(s->needs & PVT_CE_NEEDS_RELATIVE);
            continue; /* the TSC-deadline timer takes absolute times */
        }
        world_boot(&w, GHZ, CAL_HZ, H0);
        w.lapic.coupled_cs = &w.tsc;
        world_attach(&w, &w.lapic, s);
        w.t = UPTIME;
        deadline = pvt_timekeeper_now(&w.tk) + DELTA;
        ASSERT_OK(pvt_clockevent_program(&w.lapic, deadline, false));
        aim = world_guest_at(&w, w.fire_t) - deadline;
        if (s->flags & PVT_STRATEGY_COUPLED)
            ASSERT_NEAR(aim, 0, 1);
        else
            ASSERT_GE(aim, drift_of(DELTA, CAL_HZ) / 2);
    }
    ASSERT_ERR(pvt_clockevent_get_offset(NULL, NULL, NULL), PVT_EINVAL);
    RETURN_OK();
}

/* ---- pairing (read_paired, clockevent.h) --------------------------------- */

static unsigned int paired_calls, timebase_calls, cs_reads;

static uint64_t count_cs_read(struct pvt_clocksource *cs)
{
    cs_reads++;
    return world_tsc_cs_read(cs);
}

static uint64_t count_timebase(struct pvt_clockevent *dev)
{
    timebase_calls++;
    return world_pv_timebase(dev);
}

/* Both clocks at one instant, as one TSC read gives them. */
static uint64_t world_paired(struct pvt_clockevent *dev, uint64_t *cs_cycles)
{
    struct world *w = dev->priv;

    paired_calls++;
    *cs_cycles = world_tsc(w);
    return world_h(w);
}

/* Program DELTA ahead at UPTIME on the hypervisor timer, paired or not;
 * the aim error, and the reads it took. */
static int64_t paired_aim(const struct pvt_strategy *s, bool paired,
                          bool pair_other_cs, uint64_t preempt_ns)
{
    static struct pvt_clocksource other;
    struct world w;
    int64_t deadline;

    world_boot(&w, GHZ, CAL_HZ, H0);
    w.tsc.read = count_cs_read;
    w.pv.read_timebase = count_timebase;
    if (paired) {
        other = w.tsc;
        w.pv.read_paired = world_paired;
        w.pv.paired_cs = pair_other_cs ? &other : &w.tsc;
    }
    world_attach(&w, &w.pv, s);
    w.t = UPTIME;
    deadline = pvt_timekeeper_now(&w.tk) + DELTA;
    w.preempt_ns = preempt_ns;
    w.preempt_armed = preempt_ns != 0;
    paired_calls = timebase_calls = cs_reads = 0;
    ASSERT_OK(pvt_clockevent_program(&w.pv, deadline, false));
    return world_guest_at(&w, w.fire_t) - deadline;
}

/*
 * delta and compensated (PVT_STRATEGY_PAIRED) take both clocks from one
 * read_paired while the paired clocksource is the current one: the
 * clockevent layer's own reading is the paired one, so no clocksource
 * read, one paired read, no timebase read; the aim is the one the unpaired
 * reads give (the world's clocks do not move between reads). With another
 * clocksource paired, the plain reads.
 */
TEST_IMPL(strategy_paired_reads)
{
    static const struct pvt_strategy *const both[] = {
        &pvt_strategy_delta, &pvt_strategy_compensated};
    struct world w;
    struct pvt_clockevent bad;
    size_t i;
    int64_t plain, paired;

    world_boot(&w, GHZ, GHZ, H0);
    bad = w.pv;
    bad.read_paired = world_paired; /* without paired_cs */
    ASSERT_ERR(pvt_clockevent_register(&bad, &w.tk), PVT_EINVAL);
    bad = w.pv;
    bad.paired_cs = &w.tsc; /* without read_paired */
    ASSERT_ERR(pvt_clockevent_register(&bad, &w.tk), PVT_EINVAL);
    bad = w.pv;
    bad.read_paired = world_paired;
    bad.paired_cs = &w.tsc;
    bad.set_next_abs = NULL; /* pairing is for absolute programming */
    bad.read_timebase = NULL;
    ASSERT_ERR(pvt_clockevent_register(&bad, &w.tk), PVT_EINVAL);

    for (i = 0; i < PVT_ARRAY_SIZE(both); i++) {
        ASSERT(both[i]->flags & PVT_STRATEGY_PAIRED);
        plain = paired_aim(both[i], false, false, 0);
        ASSERT_EQ(paired_calls, 0);
        ASSERT_EQ(timebase_calls, 1);
        ASSERT_GE(cs_reads, 2);
        paired = paired_aim(both[i], true, false, 0);
        ASSERT_EQ(paired_calls, 1);
        ASSERT_EQ(timebase_calls, 0);
        ASSERT_EQ(cs_reads, 0);
        ASSERT_EQ(paired, plain);
        /* the drift over DELTA, as the unpaired conversion has it */
        ASSERT_LE(paired < 0 ? -paired : paired,
                  (drift_of(DELTA, CAL_HZ) < 0 ? -drift_of(DELTA, CAL_HZ)
                                               : drift_of(DELTA, CAL_HZ)) +
                      2);
        /* paired with a clocksource not in use: the plain reads */
        (void)paired_aim(both[i], true, true, 0);
        ASSERT_EQ(paired_calls, 0);
        ASSERT_EQ(timebase_calls, 1);
    }
    /* coupled falls back to delta off its coupled clocksource: it reads
     * the pair itself, after the layer's own plain reading */
    (void)paired_aim(&pvt_strategy_coupled, true, false, 0);
    ASSERT_EQ(paired_calls, 1);
    ASSERT_EQ(timebase_calls, 0);
    ASSERT_EQ(cs_reads, 1);
    RETURN_OK();
}

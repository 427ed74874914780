/*
 * The tick: periodic on a periodic-capable device, emulated on a
 * oneshot-only one, jiffies and the jiffies clocksource losing time, the
 * switch to high resolution (timers kept, strategy told, registry limited
 * to high-res clocksources), tickless idle with waits of minutes split at
 * the device's max_delta, error paths.
 *
 * The guest runs in the model world of world.h: a 1 GHz TSC the guest
 * knows exactly (so the TSC clock reads true time plus whatever it started
 * from), and the hypervisor's singleshot timer (1 ns ticks, max_delta
 * 2^32 - 1 ns), whose events the tests deliver at the true time the model
 * says the device fires, plus a chosen delivery latency. A periodic device
 * is driven by the test at the times it picks. Expected values are derived
 * from those parameters in the comments.
 */
#include "pvtimer/pvtimer.h"
#include "rng.h"
#include "runner/test.h"
#include "world.h"

#define H0  (3ull * 86400 * PVT_NSEC_PER_SEC) /* hypervisor up 3 days */
#define GHZ 1000000000ull
#define HZ  250u
#define P   4000000LL /* 1e9 / 250 */

#define FEAT_ONESHOT PVT_CE_FEAT_ONESHOT
#define FEAT_BOTH    (PVT_CE_FEAT_PERIODIC | PVT_CE_FEAT_ONESHOT)

struct guest {
    struct world w;
    struct pvt_jiffies j;
    struct pvt_cs_registry reg;
    struct pvt_timer_queue q;
    struct pvt_tick tick;
    int64_t last_g; /* the guest clock at the last check */
};

enum clock_kind {
    CLOCK_TSC_HRES,   /* the TSC, continuous and valid for high-res */
    CLOCK_TSC_LOWRES, /* the TSC, continuous but not valid for high-res */
    CLOCK_JIFFIES,    /* the jiffies clocksource, through the registry */
};

/*
 * Boot a guest on `clock` with the hypervisor timer (features as given)
 * registered, with its default strategy (`delta`), and an empty timer
 * queue. The tick is not started. True time 0 is guest time 0.
 */
static void guest_boot(struct guest *g, uint32_t hz, uint32_t features,
                       enum clock_kind clock)
{
    world_boot(&g->w, GHZ, GHZ, H0);
    ASSERT_OK(pvt_jiffies_init(&g->j, hz));
    ASSERT_OK(pvt_cs_registry_init(&g->reg, pvt_timekeeper_follow, &g->w.tk));
    switch (clock) {
    case CLOCK_TSC_HRES:
        break;
    case CLOCK_TSC_LOWRES:
        g->w.tsc.flags = PVT_CS_CONTINUOUS;
        break;
    case CLOCK_JIFFIES:
        ASSERT_OK(pvt_cs_registry_add(&g->reg, &g->j.cs));
        ASSERT_PTR_EQ(g->w.tk.cs, &g->j.cs);
        break;
    }
    g->w.pv.features = features;
    ASSERT_OK(pvt_clockevent_register(&g->w.pv, &g->w.tk));
    ASSERT_OK(pvt_tq_init(&g->q, &g->w.tk));
    g->last_g = 0;
}

static int tick_start(struct guest *g, struct pvt_cs_registry *reg)
{
    return pvt_tick_init(&g->tick, &g->w.tk, &g->q, &g->w.pv, &g->j, reg);
}

/* The guest clock now; it must not have gone back since the last check,
 * and the timekeeper's guard must never have had to hide a step back. */
static int64_t clock_check(struct guest *g)
{
    int64_t now = pvt_timekeeper_now(&g->w.tk);

    ASSERT_GE(now, g->last_g);
    ASSERT_UEQ(g->w.tk.backwards, 0);
    g->last_g = now;
    return now;
}

/* The oneshot device's event arrives `late` ns after the true time the
 * model fires it at. */
static void deliver(struct guest *g, uint64_t late)
{
    ASSERT_EQ(pvt_clockevent_get_state(&g->w.pv), PVT_CE_ONESHOT);
    ASSERT_UGE(g->w.fire_t, g->w.t);
    g->w.t = g->w.fire_t + late;
    clock_check(g);
    ASSERT_OK(pvt_clockevent_event(&g->w.pv));
    clock_check(g);
}

/* The periodic device ticks at true time t. */
static void tick_at(struct guest *g, uint64_t t)
{
    ASSERT_EQ(pvt_clockevent_get_state(&g->w.pv), PVT_CE_PERIODIC);
    ASSERT_UGE(t, g->w.t);
    g->w.t = t;
    clock_check(g);
    ASSERT_OK(pvt_clockevent_event(&g->w.pv));
    clock_check(g);
}

/* A timer that records when (guest clock, jiffies) its callback ran. */
struct rec {
    struct guest *g;
    struct pvt_timer t;
    int fired;
    int64_t at;
    uint64_t jiffies;
};

static void rec_fn(struct pvt_timer *t)
{
    struct rec *r = t->data;

    r->fired++;
    r->at = pvt_timekeeper_now(&r->g->w.tk);
    r->jiffies = r->g->j.jiffies;
}

static void rec_arm(struct rec *r, struct guest *g, int64_t deadline)
{
    r->g = g;
    r->fired = 0;
    r->at = -1;
    ASSERT_OK(pvt_timer_init(&r->t, rec_fn, r));
    ASSERT_OK(pvt_tq_arm(&g->q, &r->t, deadline));
}

/*
 * abs-mode-offset, with the notifications it gets counted (in the
 * strategy's state, a struct world_notes, which abs-mode-offset does not
 * use: it keeps its offset in the device).
 */
static int counted_program(struct pvt_clockevent *dev, int64_t target)
{
    return pvt_strategy_abs_mode_offset.program(dev, target);
}

static void counted_notify(struct pvt_clockevent *dev,
                           enum pvt_clockevent_notify what, int64_t now)
{
    world_note(dev, what);
    pvt_strategy_abs_mode_offset.notify(dev, what, now);
}

static const struct pvt_strategy counted_abs_mode = {
    .name = "abs-mode-offset-counted",
    .summary = "abs-mode-offset, notifications counted",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_OFFSET | PVT_STRATEGY_STATE,
    .program = counted_program,
    .notify = counted_notify,
};

/* ---------------------------------------------------------------------- */

TEST_IMPL(tick_init_periodic)
{
    /* period = round(1e9 / HZ) */
    static const struct {
        uint32_t hz;
        int64_t period;
    } cases[] = {
        {250, 4000000},  /* exact */
        {300, 3333333},  /* 3333333.33 rounds down */
        {6, 166666667},  /* 166666666.67 rounds up */
        {10000, 100000}, /* the finest tick, the device's shortest period */
    };
    struct guest g;
    size_t i;
    int k;

    for (i = 0; i < PVT_ARRAY_SIZE(cases); i++) {
        int64_t p = cases[i].period, t0 = 5 * PVT_NSEC_PER_MSEC;

        /* a clock that is not valid for high-res keeps the tick periodic */
        guest_boot(&g, cases[i].hz, FEAT_BOTH, CLOCK_TSC_LOWRES);
        g.w.t = (uint64_t)t0;
        ASSERT_OK(tick_start(&g, NULL));
        ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
        ASSERT_UEQ(g.tick.period_ns, p);
        ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_PERIODIC);
        ASSERT_UEQ(pvt_clockevent_period_ns(&g.w.pv), p);
        ASSERT_UEQ(g.w.last_period, p); /* what the driver was told */
        ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);
        ASSERT_EQ(g.tick.last_update, t0);
        ASSERT_EQ(g.tick.highres_at, -1);
        ASSERT_FALSE(g.tick.stopped);
        ASSERT_UEQ(g.j.jiffies, 0);
        /* a periodic device is never programmed */
        ASSERT_UEQ(g.w.calls_abs + g.w.calls_rel, 0);

        for (k = 1; k <= 3; k++) {
            tick_at(&g, (uint64_t)(t0 + k * p));
            ASSERT_UEQ(g.j.jiffies, k);
            ASSERT_UEQ(g.tick.stats.ticks, k);
            ASSERT_EQ(g.tick.last_update, t0 + k * p);
            ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
        }
        ASSERT_UEQ(g.w.calls_abs + g.w.calls_rel, 0);
        ASSERT_NULL(g.q.dev);
    }
    RETURN_OK();
}

TEST_IMPL(tick_init_emulated)
{
    struct guest g;
    const int64_t t0 = PVT_NSEC_PER_SEC + 777;
    int k;

    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
    g.w.t = (uint64_t)t0;
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    ASSERT_UEQ(g.tick.period_ns, P);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_ONESHOT);
    /* the first tick is programmed one period from now; with `delta` the
     * hypervisor deadline is its now + the period */
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), t0 + P);
    ASSERT_UEQ(g.w.calls_abs, 1);
    ASSERT_UEQ(g.w.last_value, H0 + (uint64_t)(t0 + P));
    ASSERT_UEQ(g.w.fire_t, (uint64_t)(t0 + P));

    /* each tick arrives late by a different amount (less than a period);
     * the next is programmed from the last deadline, not from now, so the
     * grid t0 + k * P holds */
    for (k = 1; k <= 10; k++) {
        uint64_t late = (uint64_t)k * 311111 % 3000000;

        deliver(&g, late);
        ASSERT_UEQ(g.j.jiffies, k);
        ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), t0 + (k + 1) * P);
        ASSERT_UEQ(g.w.fire_t, (uint64_t)(t0 + (k + 1) * P));
        ASSERT_UEQ(g.w.calls_abs, k + 1);
        ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    }
    ASSERT_UEQ(g.tick.stats.jiffies_lost, 0);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 0);
    ASSERT_UEQ(g.tick.stats.program_errors, 0);
    RETURN_OK();
}

TEST_IMPL(tick_jiffies_clock_loses_time)
{
    struct guest g;
    const int n = 50;
    const uint64_t late = P / 8;
    int k, lost = 0;

    /*
     * Emulated tick, guest clock = jiffies. Every tick is delivered L ns
     * after the device fires; the next is programmed a period from the
     * handling (the guest clock does not see the lateness). So tick k is
     * handled at true k * (P + L), and the guest clock, k * P, loses
     * k * L.
     */
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_JIFFIES);
    ASSERT_OK(tick_start(&g, &g.reg));
    ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    for (k = 1; k <= n; k++) {
        deliver(&g, late);
        ASSERT_UEQ(g.w.t, (uint64_t)k * (P + late));
        ASSERT_EQ(clock_check(&g), k * P);
        ASSERT_UEQ(g.j.jiffies, k);
    }
    ASSERT_UEQ(g.w.t - (uint64_t)clock_check(&g), (uint64_t)n * late);
    /* the jiffies clock never qualifies for high-res */
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 0);
    ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 0);

    /*
     * A periodic device on time, but every 5th tick lost (the vCPU was
     * preempted and the hypervisor dropped it): 25 periods go by, 20 ticks
     * arrive, and the clock shows 20 periods.
     */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_JIFFIES);
    ASSERT_OK(tick_start(&g, &g.reg));
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    for (k = 1; k <= 25; k++) {
        if (k % 5 == 0) {
            lost++;
            continue;
        }
        tick_at(&g, (uint64_t)k * P);
        ASSERT_EQ(clock_check(&g), (k - lost) * P);
    }
    g.w.t = 25 * P;
    ASSERT_UEQ(g.j.jiffies, 20);
    ASSERT_EQ(clock_check(&g), 20 * P);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    RETURN_OK();
}

/* A late emulated tick on a clock that knows time without ticks accounts
 * the missed periods as jiffies; on one that does not (not valid for
 * high-res) they are lost. */
TEST_IMPL(tick_emulated_missed_periods)
{
    static const int64_t missed[] = {2, 7};
    struct guest g;
    size_t i;

    for (i = 0; i < PVT_ARRAY_SIZE(missed); i++) {
        int64_t m = missed[i];

        /*
         * High-res-valid clock: the first tick, due at P, arrives at
         * (m + 1.5) P. The periods ending at 2P .. (m + 1)P passed: m late
         * jiffies, so jiffies = m + 1 = floor(now / P). The clock
         * qualifies, so the tick also goes high-res there.
         */
        guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_HRES);
        ASSERT_OK(tick_start(&g, NULL));
        deliver(&g, (uint64_t)(m * P + P / 2));
        ASSERT_EQ(clock_check(&g), (m + 1) * P + P / 2);
        ASSERT_UEQ(g.j.jiffies, m + 1);
        ASSERT_UEQ(g.tick.stats.jiffies_late, m);
        ASSERT_UEQ(g.tick.stats.jiffies_lost, 0);
        ASSERT_UEQ(g.tick.stats.ticks, 1);
        ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
        ASSERT_EQ(g.tick.highres_at, (m + 1) * P + P / 2);

        /*
         * Continuous but not valid for high-res: tick 1 on time at P, tick
         * 2 (due 2P) at (m + 2.5) P. The periods ending at 3P .. (m + 2)P
         * are skipped, m of them, and lost: jiffies 2. The next tick is on
         * the grid at (m + 3)P and from then on jiffies lag by m.
         */
        guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
        ASSERT_OK(tick_start(&g, NULL));
        deliver(&g, 0);
        ASSERT_UEQ(g.j.jiffies, 1);
        deliver(&g, (uint64_t)(m * P + P / 2));
        ASSERT_UEQ(g.j.jiffies, 2);
        ASSERT_UEQ(g.tick.stats.jiffies_lost, m);
        ASSERT_UEQ(g.tick.stats.jiffies_late, 0);
        ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), (m + 3) * P);
        ASSERT_UEQ(g.w.fire_t, (uint64_t)((m + 3) * P));
        deliver(&g, 0);
        ASSERT_EQ(clock_check(&g), (m + 3) * P);
        ASSERT_UEQ(g.j.jiffies, 3);
        ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
        ASSERT_UEQ(g.tick.stats.program_errors, 0);
    }
    RETURN_OK();
}

/* Low resolution: timers run at the first tick at or after their deadline
 * in the guest clock, never before. */
TEST_IMPL(tick_lowres_timers)
{
    enum { N = 12, TICKS = 31 };
    struct guest g;
    struct rec r[N], past;
    struct rng rng;
    int64_t deadline[N];
    int i, k;

    /* guest on jiffies, periodic device ticking on time: after tick k the
     * guest clock reads k * P */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_JIFFIES);
    ASSERT_OK(tick_start(&g, &g.reg));
    rng_seed(&rng, 0x71c4);
    for (i = 0; i < N; i++) {
        uint64_t x = rng_next(&rng);
        /* half on the tick grid, half anywhere in [0, 30P) */
        deadline[i] = i % 2 ? (int64_t)(x % (30 * P)) : (int64_t)(x % 31) * P;
        rec_arm(&r[i], &g, deadline[i]);
    }
    ASSERT_NULL(g.q.dev);

    for (k = 1; k <= TICKS; k++) {
        tick_at(&g, (uint64_t)k * P);
        if (k == 5)
            rec_arm(&past, &g, 3 * P); /* already past: the next tick */
        for (i = 0; i < N; i++) {
            /* due at tick max(1, ceil(deadline / P)) */
            int64_t due = (deadline[i] + P - 1) / P;
            if (due < 1)
                due = 1;
            ASSERT_EQ(r[i].fired, k >= due ? 1 : 0);
            if (r[i].fired) {
                ASSERT_UEQ(r[i].jiffies, due);
                ASSERT_EQ(r[i].at, due * P);
                ASSERT_GE(r[i].at, deadline[i]);
            }
        }
    }
    ASSERT_EQ(past.fired, 1);
    ASSERT_UEQ(past.jiffies, 6);
    ASSERT_EQ(past.at, 6 * P);
    ASSERT_UEQ(g.q.stats.fired, N + 1);
    /* the largest lateness: the past timer's 3P, or a timer's distance to
     * the tick after it (less than P) */
    {
        int64_t worst = 3 * P;
        for (i = 0; i < N; i++)
            if (r[i].at - deadline[i] > worst)
                worst = r[i].at - deadline[i];
        ASSERT_UEQ(g.q.stats.lateness.max, worst);
    }
    /* low-res mode never programs the device */
    ASSERT_UEQ(pvt_clockevent_get_stats(&g.w.pv)->programmed, 0);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    RETURN_OK();
}

/*
 * The switch to high resolution. The guest boots on jiffies with the
 * hypervisor timer (periodic-capable or oneshot-only) and abs-mode-offset.
 * Ticks come on time; a timer A fires in low-res, a timer B is armed for
 * after the switch. Half a period after tick K the TSC is installed
 * through the registry: the clock continues from K * P and from then on
 * reads true time - P / 2 (the half period the jiffies clock lost). At
 * tick K + 1 (true (K + 1) P, guest K P + P / 2) the tick goes high-res.
 */
static void highres_switch(bool periodic)
{
    enum { K = 20, MAX_EVENTS = 200 };
    struct guest g;
    struct world_notes notes = {0};
    struct rec a, b;
    const int64_t da = 10 * P + P / 2, db = 40 * P + 12345;
    int64_t hs, now;
    uint64_t j_switch, ticks;
    int k, events;

    guest_boot(&g, HZ, periodic ? FEAT_BOTH : FEAT_ONESHOT, CLOCK_JIFFIES);
    ASSERT_OK(pvt_clockevent_set_strategy(&g.w.pv, &counted_abs_mode, &notes));
    ASSERT_UEQ(notes.told[PVT_CE_NOTIFY_ATTACH], 1);
    ASSERT_OK(tick_start(&g, &g.reg));
    ASSERT_EQ(g.tick.mode, periodic ? PVT_TICK_PERIODIC : PVT_TICK_EMULATED);
    rec_arm(&a, &g, da);
    rec_arm(&b, &g, db);

    for (k = 1; k <= K; k++) {
        if (periodic) {
            tick_at(&g, (uint64_t)k * P);
        } else {
            /* the offset taken at boot is exact while nothing drifts */
            ASSERT_UEQ(g.w.fire_t, (uint64_t)k * P);
            deliver(&g, 0);
        }
        ASSERT_EQ(clock_check(&g), k * P);
        ASSERT_UEQ(g.j.jiffies, k);
        ASSERT(g.tick.mode != PVT_TICK_HIGHRES);
        ASSERT_NULL(g.q.dev);
    }
    /* A ran at tick ceil(da / P) = 11 */
    ASSERT_EQ(a.fired, 1);
    ASSERT_EQ(a.at, 11 * P);
    ASSERT_EQ(b.fired, 0);

    /* a better, high-res clocksource half a period later */
    g.w.t += P / 2;
    ASSERT_EQ(clock_check(&g), K * P);
    notes = (struct world_notes){0};
    ASSERT_OK(pvt_cs_registry_add(&g.reg, &g.w.tsc));
    ASSERT_PTR_EQ(g.reg.current, &g.w.tsc);
    ASSERT_PTR_EQ(g.w.tk.cs, &g.w.tsc);
    ASSERT_EQ(clock_check(&g), K * P); /* continuous */
    ASSERT_UEQ(notes.told[PVT_CE_NOTIFY_CLOCKSOURCE], 1);
    ASSERT_UEQ(notes.told[PVT_CE_NOTIFY_MODE], 0);
    ASSERT_EQ(world_offset(&g.w.pv).guest_base, K * P);
    ASSERT_UEQ(world_offset(&g.w.pv).device_base,
               H0 + (uint64_t)(K * P + P / 2));
    /* not yet: the tick notices at its next tick */
    ASSERT(g.tick.mode != PVT_TICK_HIGHRES);
    ASSERT_FALSE(g.reg.require_hres);

    /* tick K + 1 at true (K + 1) P: the emulated one was programmed before
     * the clocksource switch, with the boot offset */
    if (periodic) {
        tick_at(&g, (uint64_t)(K + 1) * P);
    } else {
        ASSERT_UEQ(g.w.fire_t, (uint64_t)(K + 1) * P);
        deliver(&g, 0);
    }
    hs = K * P + P / 2;
    ASSERT_EQ(clock_check(&g), hs);
    ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
    ASSERT_EQ(g.tick.highres_at, hs);
    ASSERT_UEQ(g.j.jiffies, K + 1);
    j_switch = g.j.jiffies;
    /* the queue owns the device, in oneshot mode */
    ASSERT_PTR_EQ(g.q.dev, &g.w.pv);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.q);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_ONESHOT);
    /* the strategy heard of the mode change once and re-took its offset
     * there: guest hs against hypervisor H0 + (K + 1) P */
    ASSERT_UEQ(notes.told[PVT_CE_NOTIFY_MODE], 1);
    ASSERT_EQ(world_offset(&g.w.pv).guest_base, hs);
    ASSERT_UEQ(world_offset(&g.w.pv).device_base, H0 + (uint64_t)(K + 1) * P);
    /* the tick is a timer a period after its last jiffy, and the device
     * is aimed at it (it is before B) */
    ASSERT(pvt_timer_pending(&g.tick.sched));
    ASSERT_EQ(g.tick.last_update, hs);
    ASSERT_EQ(g.tick.sched.expires, hs + P);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), hs + P);
    /* with the fresh offset the device fires when the guest clock reads
     * hs + P: true time hs + P + P / 2 */
    ASSERT_UEQ(g.w.fire_t, (uint64_t)(hs + P + P / 2));

    /* the registry now keeps to high-res clocksources */
    ASSERT(g.reg.require_hres);
    ASSERT_OK(pvt_cs_registry_select(&g.reg, "jiffies"));
    ASSERT_PTR_EQ(g.reg.current, &g.w.tsc);
    ASSERT_PTR_EQ(g.w.tk.cs, &g.w.tsc);
    ASSERT_ERR(pvt_cs_registry_remove(&g.reg, &g.w.tsc), PVT_EBUSY);
    ASSERT_OK(pvt_cs_registry_select(&g.reg, NULL));

    /* run on: B fires exactly at its deadline (the offset is exact and
     * events arrive when the device fires); jiffies follow the clock on
     * the grid of the switch */
    ticks = g.tick.stats.ticks;
    for (events = 0; events < MAX_EVENTS && !b.fired; events++) {
        deliver(&g, 0);
        now = clock_check(&g);
        ASSERT_UEQ(g.j.jiffies, j_switch + (uint64_t)((now - hs) / P));
        ASSERT_EQ(g.tick.last_update, hs + (now - hs) / P * P);
    }
    ASSERT_EQ(b.fired, 1);
    ASSERT_EQ(b.at, db);
    ASSERT_EQ(a.fired, 1);
    /* sched ticks until B: at hs + m P <= db, m = 1 .. floor((db - hs) / P);
     * B's own event is the extra one */
    ASSERT_EQ(events, (db - hs) / P + 1);
    ASSERT_UEQ(g.tick.stats.ticks - ticks, (uint64_t)((db - hs) / P));
    for (k = 0; k < 5; k++)
        deliver(&g, 0);
    now = clock_check(&g);
    ASSERT_UEQ(g.j.jiffies, j_switch + (uint64_t)((now - hs) / P));
    ASSERT_EQ(now, hs + ((db - hs) / P + 5) * P);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 0);
    ASSERT_UEQ(g.q.stats.spurious, 0);
    ASSERT_UEQ(notes.told[PVT_CE_NOTIFY_MODE], 1);
}

TEST_IMPL(tick_highres_switch_emulated)
{
    highres_switch(false);
    RETURN_OK();
}

TEST_IMPL(tick_highres_switch_periodic)
{
    highres_switch(true);
    RETURN_OK();
}

/* A switch asked for between two ticks, right after a clocksource change:
 * jiffies are caught up from the last jiffy, not counted twice. */
TEST_IMPL(tick_highres_switch_between_ticks)
{
    enum { K = 10 };
    struct guest g;
    int k;

    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_JIFFIES);
    ASSERT_OK(tick_start(&g, &g.reg));
    for (k = 1; k <= K; k++)
        tick_at(&g, (uint64_t)k * P);
    ASSERT_EQ(g.tick.last_update, K * P); /* the jiffy's guest time */
    g.w.t += P / 2;
    ASSERT_OK(pvt_cs_registry_add(&g.reg, &g.w.tsc));
    ASSERT_EQ(clock_check(&g), K * P);
    g.w.t += P / 4;
    ASSERT_EQ(clock_check(&g), K * P + P / 4);
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 1);
    ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
    ASSERT_EQ(g.tick.highres_at, K * P + P / 4);
    /* a quarter period since the last jiffy: nothing to catch up */
    ASSERT_UEQ(g.j.jiffies, K);
    ASSERT_EQ(g.tick.last_update, K * P);
    ASSERT_EQ(g.tick.sched.expires, (K + 1) * P);
    /* the next jiffy on the grid: guest (K + 1) P, true + P / 2 */
    deliver(&g, 0);
    ASSERT_EQ(clock_check(&g), (K + 1) * P);
    ASSERT_UEQ(g.w.t, (uint64_t)((K + 1) * P + P / 2));
    ASSERT_UEQ(g.j.jiffies, K + 1);
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 0); /* already */
    RETURN_OK();
}

/* In high-res mode a late tick timer catches jiffies up from the clock and
 * stays on its grid. */
TEST_IMPL(tick_highres_late_tick)
{
    struct guest g;
    int k;

    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_HRES);
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 1);
    ASSERT_EQ(g.tick.highres_at, 0);
    ASSERT_EQ(g.tick.sched.expires, P);
    for (k = 1; k <= 3; k++) {
        deliver(&g, 0);
        ASSERT_EQ(clock_check(&g), k * P);
        ASSERT_UEQ(g.j.jiffies, k);
    }
    /* due at 4P, handled at 6.5P: the jiffies of 4P, 5P, 6P, of which two
     * are late; the next tick at 7P */
    deliver(&g, 2 * P + P / 2);
    ASSERT_UEQ(g.j.jiffies, 6);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 2);
    ASSERT_EQ(g.tick.last_update, 6 * P);
    ASSERT_EQ(g.tick.sched.expires, 7 * P);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), 7 * P);
    deliver(&g, 0);
    ASSERT_EQ(clock_check(&g), 7 * P);
    ASSERT_UEQ(g.j.jiffies, 7);
    ASSERT_UEQ(g.tick.stats.ticks, 5);
    RETURN_OK();
}

/*
 * Tickless idle: one timer `wait` ahead, the tick stopped, the device
 * (max_delta M = 2^32 - 1 ns) programmed at most M ahead each time, every
 * event delivered `late` ns after the device fires.
 *
 * After k split wakes the guest clock has moved k (M + late), and the
 * queue programs the timer itself once wait - k (M + late) <= M: the
 * number of splits is s = ceil((wait - M) / (M + late)) for wait > M, else
 * 0 (for late = 0, ceil(wait / M) - 1). The timer's event comes `late`
 * after its deadline.
 */
static void idle_wait(int64_t wait, uint64_t late)
{
    const int64_t m = UINT32_MAX;
    struct guest g;
    struct rec r;
    int64_t g0, t, lu0, n, now, splits;
    uint64_t j0, ticks0, prog0, clamped0;
    int events;

    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_HRES);
    ASSERT_EQ((int64_t)g.w.pv.max_delta_ns, m);
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 1);
    deliver(&g, 0);
    deliver(&g, 0);
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 3);

    /* go idle a third of a period after the last jiffy */
    g.w.t += P / 3;
    g0 = clock_check(&g);
    t = g0 + wait;
    rec_arm(&r, &g, t);
    j0 = g.j.jiffies;
    lu0 = g.tick.last_update;
    ASSERT_EQ(lu0, 3 * P);
    ticks0 = g.tick.stats.ticks;
    prog0 = pvt_clockevent_get_stats(&g.w.pv)->programmed;
    clamped0 = pvt_clockevent_get_stats(&g.w.pv)->clamped_max;

    ASSERT_OK(pvt_tick_idle_enter(&g.tick));
    ASSERT(g.tick.stopped);
    ASSERT_FALSE(pvt_timer_pending(&g.tick.sched));
    ASSERT_UEQ(g.tick.stats.idle_enters, 1);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), t);
    ASSERT_EQ(pvt_clockevent_last(&g.w.pv)->target, g0 + (wait < m ? wait : m));

    splits = wait > m
                 ? (wait - m + (m + (int64_t)late) - 1) / (m + (int64_t)late)
                 : 0;
    for (events = 0; !r.fired; events++) {
        ASSERT_LE(events, splits);
        /* never aimed further than the device can count */
        ASSERT_LE(pvt_clockevent_last(&g.w.pv)->target -
                      pvt_clockevent_last(&g.w.pv)->now,
                  m);
        deliver(&g, late);
        /* the tick stays stopped */
        ASSERT_UEQ(g.j.jiffies, j0);
        ASSERT_UEQ(g.tick.stats.ticks, ticks0);
    }
    ASSERT_EQ(events, splits + 1);
    ASSERT_UEQ(g.q.stats.splits, splits);
    ASSERT_UEQ(g.q.stats.spurious, 0);
    ASSERT_UEQ(pvt_clockevent_get_stats(&g.w.pv)->programmed - prog0,
               splits + 1);
    ASSERT_UEQ(pvt_clockevent_get_stats(&g.w.pv)->clamped_max - clamped0,
               splits);
    ASSERT_EQ(r.fired, 1);
    ASSERT_EQ(r.at, t + (int64_t)late);

    /* leaving idle: jiffies catch up by the whole periods since the last
     * jiffy, and the tick restarts on the grid */
    now = clock_check(&g);
    ASSERT_EQ(now, t + (int64_t)late);
    n = (now - lu0) / P;
    ASSERT_OK(pvt_tick_idle_exit(&g.tick));
    ASSERT_FALSE(g.tick.stopped);
    ASSERT_UEQ(g.tick.stats.idle_exits, 1);
    ASSERT_UEQ(g.j.jiffies, j0 + (uint64_t)n);
    ASSERT_EQ(g.tick.last_update, lu0 + n * P);
    ASSERT(pvt_timer_pending(&g.tick.sched));
    ASSERT_EQ(g.tick.sched.expires, lu0 + (n + 1) * P);
    ASSERT_GT(g.tick.sched.expires, now);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), lu0 + (n + 1) * P);
    deliver(&g, 0);
    ASSERT_EQ(clock_check(&g), lu0 + (n + 1) * P);
    ASSERT_UEQ(g.j.jiffies, j0 + (uint64_t)n + 1);
}

TEST_IMPL(tick_idle_long_waits)
{
    const int64_t m = UINT32_MAX;

    /* five minutes: ceil(300e9 / M) - 1 = 70 - 1 = 69 splits */
    idle_wait(300 * PVT_NSEC_PER_SEC, 0);
    /* 70 M + 5 us: 70 splits on time (the last wait, 5 us, is above
     * min_delta), but 69 when each wake is 50 us late: 69 (M + 50 us)
     * exceeds 69 M + 5 us, so ceil((69 M + 5 us) / (M + 50 us)) = 69 */
    idle_wait(70 * m + 5000, 0);
    idle_wait(70 * m + 5000, 50000);
    /* exactly M, and less: no split */
    idle_wait(m, 20000);
    idle_wait(2 * PVT_NSEC_PER_SEC, 0);
    RETURN_OK();
}

TEST_IMPL(tick_idle_enter_exit)
{
    struct guest g;
    struct pvt_tick zero = {0};

    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_HRES);
    ASSERT_OK(tick_start(&g, NULL));
    /* not in a periodic mode */
    ASSERT_ERR(pvt_tick_idle_enter(&g.tick), PVT_EOPNOTSUPP);
    ASSERT_FALSE(g.tick.stopped);
    ASSERT_UEQ(g.tick.stats.idle_enters, 0);
    /* leaving when not stopped does nothing */
    ASSERT_OK(pvt_tick_idle_exit(&g.tick));
    ASSERT_UEQ(g.tick.stats.idle_exits, 0);

    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 1);
    ASSERT_OK(pvt_tick_idle_enter(&g.tick));
    ASSERT_OK(pvt_tick_idle_enter(&g.tick)); /* twice: nothing more */
    ASSERT_UEQ(g.tick.stats.idle_enters, 1);
    /* nothing armed: the device is stopped */
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_ONESHOT_STOPPED);
    g.w.t += 10 * P + 5;
    ASSERT_OK(pvt_tick_idle_exit(&g.tick));
    ASSERT_OK(pvt_tick_idle_exit(&g.tick));
    ASSERT_UEQ(g.tick.stats.idle_exits, 1);
    ASSERT_UEQ(g.j.jiffies, 10);
    ASSERT_EQ(g.tick.sched.expires, 11 * P);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_ONESHOT);

    ASSERT_ERR(pvt_tick_idle_enter(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_tick_idle_exit(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_tick_idle_enter(&zero), PVT_EINVAL);
    ASSERT_ERR(pvt_tick_idle_exit(&zero), PVT_EINVAL);

    /* a periodic device */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_LOWRES);
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_ERR(pvt_tick_idle_enter(&g.tick), PVT_EOPNOTSUPP);
    RETURN_OK();
}

static int fail_oneshot(struct pvt_clockevent *dev)
{
    (void)dev;
    return -PVT_EAGAIN;
}

static int fail_periodic(struct pvt_clockevent *dev, uint64_t period_ns)
{
    (void)dev;
    (void)period_ns;
    return -PVT_ERANGE;
}

TEST_IMPL(tick_init_errors)
{
    struct guest g, other;
    struct pvt_tick t2;
    struct pvt_jiffies j;
    struct pvt_timekeeper tk0 = {0};
    uint32_t features;

    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_LOWRES);
    guest_boot(&other, HZ, FEAT_BOTH, CLOCK_TSC_LOWRES);
#define INIT(t, tk, q, dev, jf, reg) pvt_tick_init(t, tk, q, dev, jf, reg)
    ASSERT_ERR(INIT(NULL, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL), PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, NULL, &g.q, &g.w.pv, &g.j, NULL), PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, &tk0, &g.q, &g.w.pv, &g.j, NULL), PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, NULL, &g.w.pv, &g.j, NULL), PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, NULL, &g.j, NULL), PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, NULL, NULL), PVT_EINVAL);
    /* a queue or device of another guest */
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &other.q, &g.w.pv, &g.j, NULL),
               PVT_EINVAL);
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &other.w.pv, &g.j, NULL),
               PVT_EINVAL);
    /* jiffies not initialised, or out of range */
    j = (struct pvt_jiffies){0};
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &j, NULL), PVT_EINVAL);
    ASSERT_OK(pvt_jiffies_init(&j, HZ));
    j.hz = PVT_HZ_MAX + 1;
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &j, NULL), PVT_EINVAL);
    /* an unregistered device */
    ASSERT_OK(pvt_clockevent_unregister(&g.w.pv));
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL), PVT_EINVAL);
    ASSERT_OK(pvt_clockevent_register(&g.w.pv, &g.w.tk));
    /* a device with no timer feature left */
    features = g.w.pv.features;
    g.w.pv.features = 0;
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL),
               PVT_EOPNOTSUPP);
    g.w.pv.features = features;
    /* nothing above took the device */
    ASSERT_NULL(pvt_clockevent_owner(&g.w.pv));
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_SHUTDOWN);

    /* a device that has an owner: the queue, or another tick */
    ASSERT_OK(pvt_tq_set_device(&g.q, &g.w.pv));
    ASSERT_ERR(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL), PVT_EBUSY);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.q);
    ASSERT_OK(pvt_tq_set_device(&g.q, NULL));
    ASSERT_OK(INIT(&g.tick, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL));
    ASSERT_ERR(INIT(&t2, &g.w.tk, &g.q, &g.w.pv, &g.j, NULL), PVT_EBUSY);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);

    /* the device refuses: its error, and the device is left unowned */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_LOWRES);
    g.w.pv.set_state_periodic = fail_periodic;
    ASSERT_ERR(tick_start(&g, NULL), PVT_ERANGE);
    ASSERT_NULL(pvt_clockevent_owner(&g.w.pv));
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
    g.w.pv.set_state_oneshot = fail_oneshot;
    ASSERT_ERR(tick_start(&g, NULL), PVT_EAGAIN);
    ASSERT_NULL(pvt_clockevent_owner(&g.w.pv));
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
    g.w.refuse = 1;
    ASSERT_ERR(tick_start(&g, NULL), PVT_ETIME);
    ASSERT_NULL(pvt_clockevent_owner(&g.w.pv));
    /* and it can be started again once the device behaves */
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), P);
#undef INIT
    RETURN_OK();
}

TEST_IMPL(tick_check_highres_conditions)
{
    struct guest g;
    struct pvt_tick zero = {0};
    int k;

    ASSERT_ERR(pvt_tick_check_highres(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_tick_check_highres(&zero), PVT_EINVAL);

    /* a clock not valid for high-res */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_LOWRES);
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 0);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    /* valid for high-res but not continuous */
    g.w.tsc.flags = PVT_CS_VALID_FOR_HRES;
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 0);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);

    /* a device that can only tick: it stays periodic on a high-res clock */
    guest_boot(&g, HZ, PVT_CE_FEAT_PERIODIC, CLOCK_TSC_HRES);
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    for (k = 1; k <= 3; k++)
        tick_at(&g, (uint64_t)k * P);
    ASSERT_EQ(pvt_tick_check_highres(&g.tick), 0);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    ASSERT_UEQ(g.j.jiffies, 3);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);
    RETURN_OK();
}

/* A switch that fails leaves the periodic tick running as it was. */
TEST_IMPL(tick_highres_switch_fails)
{
    struct guest g;
    struct rec r;

    /* the device refuses to go oneshot: the error, still periodic */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_HRES);
    g.w.pv.set_state_oneshot = fail_oneshot;
    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_ERR(pvt_tick_check_highres(&g.tick), PVT_EAGAIN);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    ASSERT_EQ(g.tick.highres_at, -1);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);
    ASSERT_NULL(g.q.dev);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_PERIODIC);
    tick_at(&g, P); /* tries again, fails again, ticks on */
    tick_at(&g, 2 * P);
    ASSERT_UEQ(g.j.jiffies, 2);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    g.w.pv.set_state_oneshot = NULL;
    tick_at(&g, 3 * P);
    ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
    ASSERT_PTR_EQ(g.q.dev, &g.w.pv);

    /*
     * The device goes oneshot, but refuses every programming of the armed
     * timer (the clockevent layer retries, raises min_delta and gives up):
     * the queue must not keep the device, and it must be back ticking
     * periodically for the tick.
     */
    guest_boot(&g, HZ, FEAT_BOTH, CLOCK_TSC_HRES);
    ASSERT_OK(tick_start(&g, NULL));
    rec_arm(&r, &g, 10 * P);
    g.w.refuse = -1;
    tick_at(&g, P);
    ASSERT_UEQ(pvt_clockevent_get_stats(&g.w.pv)->gave_up, 1);
    ASSERT_EQ(g.tick.mode, PVT_TICK_PERIODIC);
    ASSERT_NULL(g.q.dev);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_PERIODIC);
    ASSERT_UEQ(pvt_clockevent_period_ns(&g.w.pv), P);
    tick_at(&g, 2 * P);
    ASSERT_UEQ(g.j.jiffies, 2);
    /* the device behaves again: the next tick switches and the timer is
     * programmed */
    g.w.refuse = 0;
    tick_at(&g, 3 * P);
    ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
    ASSERT_PTR_EQ(g.q.dev, &g.w.pv);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.q);
    ASSERT_EQ(r.fired, 0);
    while (!r.fired)
        deliver(&g, 0);
    ASSERT_EQ(r.at, 10 * P);
    RETURN_OK();
}

/*
 * The same on the emulated tick: the device (relative strategy) refuses
 * deltas under 1 ms and gives up raising min_delta at 10 us, so the tick's
 * deadline a period ahead is accepted but a timer half a millisecond away
 * cannot be programmed. The failed switch must leave the tick's deadline
 * programmed, and the tick running.
 */
TEST_IMPL(tick_highres_switch_fails_emulated)
{
    struct guest g;
    struct rec r;

    world_boot(&g.w, GHZ, GHZ, H0);
    g.w.pv.min_delta_limit_ns = 10000;
    g.w.pv.features = FEAT_ONESHOT;
    ASSERT_OK(pvt_jiffies_init(&g.j, HZ));
    ASSERT_OK(pvt_clockevent_register(&g.w.pv, &g.w.tk));
    ASSERT_OK(
        pvt_clockevent_set_strategy(&g.w.pv, &pvt_strategy_relative, NULL));
    ASSERT_OK(pvt_tq_init(&g.q, &g.w.tk));
    g.last_g = 0;
    g.w.refuse_below = 1000000;

    ASSERT_OK(tick_start(&g, NULL));
    ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    rec_arm(&r, &g, P + P / 8);
    deliver(&g, 0); /* tick 1 at P: the switch fails */
    ASSERT_UEQ(pvt_clockevent_get_stats(&g.w.pv)->gave_up, 1);
    ASSERT_EQ(g.tick.mode, PVT_TICK_EMULATED);
    ASSERT_NULL(g.q.dev);
    ASSERT_PTR_EQ(pvt_clockevent_owner(&g.w.pv), &g.tick);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), 2 * P);
    ASSERT_UEQ(g.w.fire_t, 2 * P);
    /* tick 2 runs the timer (low-res), then the switch succeeds: nothing
     * left that the device cannot take */
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 2);
    ASSERT_EQ(r.fired, 1);
    ASSERT_EQ(r.at, 2 * P);
    ASSERT_EQ(g.tick.mode, PVT_TICK_HIGHRES);
    ASSERT_PTR_EQ(g.q.dev, &g.w.pv);
    ASSERT_EQ(pvt_clockevent_next_event(&g.w.pv), 3 * P);
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 3);
    RETURN_OK();
}

/*
 * The emulated tick's next deadline is refused by the device although it
 * is still ahead: that is not a missed period (no jiffy may be counted,
 * late or lost, for a period that has not passed) and the handler must
 * not loop on it.
 */
TEST_IMPL(tick_emulated_device_refuses)
{
    struct guest g;

    /* once: the tick goes on */
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
    ASSERT_OK(tick_start(&g, NULL));
    g.w.refuse = 1;
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 1);
    ASSERT_UEQ(g.tick.stats.jiffies_lost, 0);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 0);
    ASSERT_EQ(pvt_clockevent_get_state(&g.w.pv), PVT_CE_ONESHOT);
    ASSERT_NE(pvt_clockevent_next_event(&g.w.pv), PVT_TIME_MAX);
    ASSERT_LE(pvt_clockevent_next_event(&g.w.pv), 2 * P);
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 2);
    ASSERT_UEQ(g.tick.stats.jiffies_lost, 0);

    /* on a high-res clock too: nothing accounted as late */
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_HRES);
    ASSERT_OK(tick_start(&g, NULL));
    g.w.refuse = 1;
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 1);
    ASSERT_UEQ(g.tick.stats.jiffies_late, 0);

    /* for good: the handler returns, an error is counted, no jiffies */
    guest_boot(&g, HZ, FEAT_ONESHOT, CLOCK_TSC_LOWRES);
    ASSERT_OK(tick_start(&g, NULL));
    g.w.refuse = -1;
    deliver(&g, 0);
    ASSERT_UEQ(g.j.jiffies, 1);
    ASSERT_UEQ(g.tick.stats.jiffies_lost, 0);
    ASSERT_UEQ(g.tick.stats.program_errors, 1);
    RETURN_OK();
}

TEST_IMPL(tick_mode_names)
{
    ASSERT_STR_EQ(pvt_tick_mode_name(PVT_TICK_PERIODIC), "periodic");
    ASSERT_STR_EQ(pvt_tick_mode_name(PVT_TICK_EMULATED), "periodic-emulated");
    ASSERT_STR_EQ(pvt_tick_mode_name(PVT_TICK_HIGHRES), "highres");
    ASSERT_STR_EQ(pvt_tick_mode_name((enum pvt_tick_mode)3), "invalid");
    ASSERT_STR_EQ(pvt_tick_mode_name((enum pvt_tick_mode)99), "invalid");
    RETURN_OK();
}

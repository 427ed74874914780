/*
 * The core under real concurrency (threads standing in for vCPUs).
 *
 * tq_host_remote_arming: one owner thread runs a timer queue with its own
 * device over a simulated clock (a shared ns counter that only the owner
 * advances, a step at a time, and that the device's events follow), while
 * several armer threads arm timers on it with pvt_tq_arm_remote; the kick
 * sets a flag the owner polls between steps (its IPI). The flag and the
 * clock are sequentially consistent, as an IPI and a clock read are, so
 * that a kick made before an armer reads time R is seen by the owner
 * before it has moved more than a step past R. Every timer must
 * run exactly once, on the owner, never before its deadline, and no later
 * than a step (the owner's reaction to a kick) plus the device's minimum
 * delta after max(deadline, the time its arming returned): a timer left in
 * the inbox until some later event would break that bound.
 *
 * Failures inside threads are counted and asserted by the main thread.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "pvtimer/pvtimer.h"
#include "runner/test.h"

#define GHZ 1000000000ull

/* ---- a simulated clock and a device on it -------------------------------- */

struct simclock {
    uint64_t ns; /* atomic: true time = guest time = device time */
    struct pvt_clocksource cs;
    struct pvt_timekeeper tk;
};

static uint64_t sim_read(struct pvt_clocksource *cs)
{
    struct simclock *c = cs->priv;

    return __atomic_load_n(&c->ns, __ATOMIC_ACQUIRE);
}

static void simclock_init(struct simclock *c)
{
    c->ns = 0;
    c->cs = (struct pvt_clocksource){
        .name = "sim",
        .read = sim_read,
        .priv = c,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    ASSERT_OK(pvt_clocksource_init_hz(&c->cs, GHZ, 0));
    ASSERT_OK(pvt_timekeeper_init(&c->tk, &c->cs, 0));
}

/* ---- remote arming ------------------------------------------------------- */

#define RA_ARMERS    3
#define RA_PER_ARMER 50000u
#define RA_SPREAD_NS 300000u /* deadlines up to 300 us ahead */
#define RA_STEP_NS   2000u   /* the owner's step of simulated time */
#define RA_MIN_NS    1000u   /* the device's minimum delta */

struct ra;

struct ra_timer {
    struct pvt_timer t;
    struct ra *ra;
    int64_t expires;  /* what its armer asked for */
    int64_t returned; /* simulated time when pvt_tq_arm_remote returned,
                         INT64_MAX before (atomic) */
    int fired;        /* atomic */
};

struct ra_armer {
    struct ra *ra;
    pthread_t thread;
    struct ra_timer *tm;
    uint64_t seed, kicks_seen;
    int errors;
};

struct ra {
    struct simclock clk;
    struct pvt_clockevent dev;
    struct pvt_timer_queue q;
    bool armed; /* owner only: the device has an event coming */
    uint64_t fire_at;
    int kick;        /* atomic: the owner's IPI is pending */
    uint64_t kicks;  /* atomic */
    int armers_done; /* atomic */
    uint64_t fired;  /* owner only */
    int early, twice, too_late, errors;
    int64_t worst_late; /* beyond max(deadline, returned) */
};

static int ra_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct ra *ra = dev->priv;

    ra->armed = true;
    ra->fire_at = ra->clk.ns + ticks;
    return 0;
}

static int ra_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct ra *ra = dev->priv;

    ra->armed = true;
    ra->fire_at = when > ra->clk.ns ? when : ra->clk.ns;
    return 0;
}

static uint64_t ra_timebase(struct pvt_clockevent *dev)
{
    struct ra *ra = dev->priv;

    return ra->clk.ns;
}

static int ra_state(struct pvt_clockevent *dev)
{
    struct ra *ra = dev->priv;

    ra->armed = false;
    return 0;
}

static void ra_kick(struct pvt_timer_queue *q, void *ctx)
{
    struct ra *ra = ctx;

    (void)q;
    __atomic_fetch_add(&ra->kicks, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ra->kick, 1, __ATOMIC_SEQ_CST);
}

static void ra_fire(struct pvt_timer *t)
{
    struct ra_timer *x = t->data;
    struct ra *ra = x->ra;
    int64_t now = pvt_timekeeper_now(&ra->clk.tk);
    int64_t returned = __atomic_load_n(&x->returned, __ATOMIC_RELAXED);
    int64_t from = x->expires > returned ? x->expires : returned;

    if (now < x->expires)
        ra->early++;
    if (__atomic_fetch_add(&x->fired, 1, __ATOMIC_RELEASE) != 0)
        ra->twice++;
    /* (run before its arming returned: it was not left waiting) */
    if (returned != INT64_MAX && now - from > ra->worst_late)
        ra->worst_late = now - from;
    if (returned != INT64_MAX &&
        now - from > (int64_t)(2 * RA_STEP_NS + RA_MIN_NS))
        ra->too_late++;
    ra->fired++;
}

static void *ra_armer_main(void *arg)
{
    struct ra_armer *a = arg;
    struct ra *ra = a->ra;
    struct rng rng;
    uint32_t i;

    rng_seed(&rng, a->seed);
    for (i = 0; i < RA_PER_ARMER; i++) {
        struct ra_timer *x = &a->tm[i];
        int64_t now = (int64_t)__atomic_load_n(&ra->clk.ns, __ATOMIC_ACQUIRE);

        x->ra = ra;
        x->returned = INT64_MAX;
        x->expires = now + (int64_t)(rng_next(&rng) % RA_SPREAD_NS);
        if (pvt_timer_init(&x->t, ra_fire, x) != 0 ||
            pvt_tq_arm_remote(&ra->q, &x->t, x->expires) != 0)
            a->errors++;
        /* later than the push: the bound is only looser for it */
        __atomic_store_n(
            &x->returned,
            (int64_t)__atomic_load_n(&ra->clk.ns, __ATOMIC_SEQ_CST),
            __ATOMIC_RELAXED);
        /* paced on the simulated clock: a few armings per owner step,
         * so that they interleave with its events and programmings */
        if (i % 4 == 3) {
            uint64_t seen = (uint64_t)now;
            int spins = 0;

            while (__atomic_load_n(&ra->clk.ns, __ATOMIC_ACQUIRE) == seen &&
                   ++spins < 1000)
                if (spins % 16 == 0)
                    sched_yield();
        }
    }
    __atomic_fetch_add(&ra->armers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

TEST_IMPL(tq_host_remote_arming)
{
    struct ra *ra = calloc(1, sizeof(*ra));
    struct ra_armer armer[RA_ARMERS];
    uint64_t total = (uint64_t)RA_ARMERS * RA_PER_ARMER, it = 0, kicks;
    int i;
    uint32_t j;

    ASSERT_NOT_NULL(ra);
    simclock_init(&ra->clk);
    ra->dev = (struct pvt_clockevent){
        .name = "ra",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 100,
        .set_next_event = ra_set_rel,
        .set_next_abs = ra_set_abs,
        .read_timebase = ra_timebase,
        .set_state_oneshot = ra_state,
        .set_state_shutdown = ra_state,
        .priv = ra,
    };
    ASSERT_OK(pvt_clockevent_config(&ra->dev, GHZ, RA_MIN_NS, UINT32_MAX));
    ASSERT_OK(pvt_clockevent_register(&ra->dev, &ra->clk.tk));
    ASSERT_OK(pvt_clockevent_set_strategy(&ra->dev, &pvt_strategy_delta, NULL));
    ASSERT_OK(pvt_tq_init(&ra->q, &ra->clk.tk));
    ASSERT_OK(pvt_tq_set_device(&ra->q, &ra->dev));
    ASSERT_OK(pvt_tq_set_kick(&ra->q, ra_kick, ra));

    for (i = 0; i < RA_ARMERS; i++) {
        armer[i] = (struct ra_armer){.ra = ra, .seed = 1000u + (uint64_t)i};
        armer[i].tm = calloc(RA_PER_ARMER, sizeof(struct ra_timer));
        ASSERT_NOT_NULL(armer[i].tm);
        ASSERT_EQ(
            pthread_create(&armer[i].thread, NULL, ra_armer_main, &armer[i]),
            0);
    }
    /* the owner: its IPI, then a step of time, its device's event */
    while (ra->fired < total) {
        uint64_t next = ra->clk.ns + RA_STEP_NS;

        if (__atomic_exchange_n(&ra->kick, 0, __ATOMIC_SEQ_CST))
            if (pvt_tq_kicked(&ra->q) < 0)
                ra->errors++;
        if (ra->armed && ra->fire_at <= next) {
            __atomic_store_n(&ra->clk.ns, ra->fire_at, __ATOMIC_SEQ_CST);
            ra->armed = false;
            if (pvt_clockevent_event(&ra->dev) != 0)
                ra->errors++;
        } else
            __atomic_store_n(&ra->clk.ns, next, __ATOMIC_SEQ_CST);
        if (++it % 256 == 0)
            sched_yield();
        /* everything armed and a second of simulated time on: lost */
        if (__atomic_load_n(&ra->armers_done, __ATOMIC_ACQUIRE) == RA_ARMERS &&
            ra->clk.ns > (uint64_t)PVT_NSEC_PER_SEC * 3600)
            break;
        if (it > 4000000000u)
            break;
    }
    for (i = 0; i < RA_ARMERS; i++) {
        ASSERT_EQ(pthread_join(armer[i].thread, NULL), 0);
        ASSERT_EQ(armer[i].errors, 0);
        for (j = 0; j < RA_PER_ARMER; j++)
            ASSERT_EQ(__atomic_load_n(&armer[i].tm[j].fired, __ATOMIC_ACQUIRE),
                      1);
    }
    kicks = __atomic_load_n(&ra->kicks, __ATOMIC_RELAXED);
    printf("%llu remote timers from %d threads, %llu kicks, %llu owner "
           "steps, at worst %lld ns past max(deadline, arming)\n",
           (unsigned long long)total, RA_ARMERS, (unsigned long long)kicks,
           (unsigned long long)it, (long long)ra->worst_late);
    ASSERT_UEQ(ra->fired, total);
    ASSERT_UEQ(ra->q.stats.remote, total);
    ASSERT_EQ(ra->early, 0);
    ASSERT_EQ(ra->twice, 0);
    ASSERT_EQ(ra->too_late, 0);
    ASSERT_EQ(ra->errors, 0);
    ASSERT_LE(kicks, total);
    for (i = 0; i < RA_ARMERS; i++)
        free(armer[i].tm);
    free(ra);
    RETURN_OK();
}

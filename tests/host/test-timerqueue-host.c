/*
 * The timer queue at scale (hosted: the timers are allocated): a million
 * live timers with random deadlines, a random tenth cancelled, the rest
 * expired by device events (high-res) or by a periodic tick (low-res), each
 * callback checked: none early, none twice, none cancelled, all in
 * (deadline, arming order); at the end exactly the uncancelled ones ran.
 * Times are printed as measurements (not checked: machines differ).
 *
 * The guest is the world of the core tests (core/world.h) with an exact
 * 1 GHz TSC: guest ns are true ns.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rng.h"
#include "core/world.h"
#include "pvtimer/pvtimer.h"
#include "runner/test.h"

#define H0           (3ull * 86400 * PVT_NSEC_PER_SEC)
#define GHZ          1000000000ull
#define N_TIMERS     1000000u
#define N_CANCEL     (N_TIMERS / 10)
#define SPAN_NS      (10 * PVT_NSEC_PER_SEC)
#define GRID_NS      (100 * PVT_NSEC_PER_USEC) /* coarse deadlines: ties */
#define TICK_NS      PVT_NSEC_PER_MSEC
#define REARM_PER_M  20 /* low-res: callbacks that re-arm, per mille */
#define CANCEL_PER_M 20 /* low-res: callbacks that cancel another, per mille */

struct htimer {
    struct pvt_timer t;
    uint64_t seq;    /* arming order (the model's) */
    int64_t expires; /* the model's deadline */
    uint8_t armed;   /* the model: armed, not run, not cancelled */
    uint8_t fired;
};

struct big {
    struct world w;
    struct pvt_timer_queue q;
    struct htimer *tm;
    uint32_t *perm;
    struct rng rng;
    uint64_t seq, fired, expected, cancelled;
    int64_t last_expires; /* the previous callback's key */
    uint64_t last_seq;
    bool rearm; /* low-res: callbacks re-arm and cancel */
    uint64_t rearms, cb_cancels;
};

static struct big *big; /* the one this process runs */

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void big_arm(struct big *b, struct htimer *h, int64_t expires)
{
    ASSERT_OK(pvt_tq_arm(&b->q, &h->t, expires));
    if (!h->armed)
        b->expected++;
    h->armed = 1;
    h->expires = expires;
    h->seq = ++b->seq;
}

static void big_fire(struct pvt_timer *t)
{
    struct htimer *h = t->data;
    struct big *b = big;
    int64_t now = pvt_timekeeper_now(&b->w.tk);

    ASSERT(h->armed);
    ASSERT_EQ(t->expires, h->expires);
    ASSERT_GE(now, h->expires);
    ASSERT_GE(world_guest_at(&b->w, b->w.t), h->expires);
    /* strictly increasing (deadline, arming order) over the whole run:
     * nothing is re-armed into the past, so each tick or event runs keys
     * above everything the previous one ran */
    ASSERT(h->expires > b->last_expires ||
           (h->expires == b->last_expires && h->seq > b->last_seq));
    b->last_expires = h->expires;
    b->last_seq = h->seq;
    h->armed = 0;
    h->fired++;
    b->fired++;

    if (!b->rearm)
        return;
    if (rng_next(&b->rng) % 1000 < REARM_PER_M) {
        /* once more, up to a tick or two later */
        big_arm(b, h, now + 1 + (int64_t)(rng_next(&b->rng) % (2 * TICK_NS)));
        b->rearms++;
    }
    if (rng_next(&b->rng) % 1000 < CANCEL_PER_M) {
        struct htimer *o = &b->tm[rng_next(&b->rng) % N_TIMERS];
        ASSERT_EQ(pvt_tq_cancel(&b->q, &o->t), o->armed ? 1 : 0);
        if (o->armed) {
            o->armed = 0;
            b->expected--;
            b->cb_cancels++;
        }
    }
}

/* A million timers armed, a tenth of them cancelled. */
static struct big *big_setup(bool hres, uint64_t seed, double *arm_s,
                             double *cancel_s)
{
    struct timespec t0, t1, t2, t3;
    struct big *b;
    uint32_t i, j, k;

    b = calloc(1, sizeof(*b));
    ASSERT_NOT_NULL(b);
    b->tm = calloc(N_TIMERS, sizeof(*b->tm));
    b->perm = malloc(N_TIMERS * sizeof(*b->perm));
    ASSERT_NOT_NULL(b->tm);
    ASSERT_NOT_NULL(b->perm);
    big = b;
    rng_seed(&b->rng, seed);
    world_boot(&b->w, GHZ, GHZ, H0);
    world_attach(&b->w, &b->w.pv, &pvt_strategy_delta);
    ASSERT_OK(pvt_tq_init(&b->q, &b->w.tk));
    if (hres)
        ASSERT_OK(pvt_tq_set_device(&b->q, &b->w.pv));
    b->w.t = PVT_NSEC_PER_SEC;
    b->last_expires = -1;
    for (i = 0; i < N_TIMERS; i++)
        ASSERT_OK(pvt_timer_init(&b->tm[i].t, big_fire, &b->tm[i]));

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < N_TIMERS; i++) {
        /* half anywhere in the span, half on a coarse grid (ties) */
        uint64_t r = rng_next(&b->rng);
        int64_t e = (int64_t)b->w.t +
                    (int64_t)(r & 1 ? (r >> 1) % SPAN_NS
                                    : (r >> 1) % (SPAN_NS / GRID_NS) * GRID_NS);
        big_arm(b, &b->tm[i], e);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT_UEQ(pvt_ladder_count(&b->q.ladder), N_TIMERS);

    /* a random tenth: the first N_CANCEL of a random permutation */
    for (i = 0; i < N_TIMERS; i++)
        b->perm[i] = i;
    for (i = 0; i < N_CANCEL; i++) {
        j = i + (uint32_t)(rng_next(&b->rng) % (N_TIMERS - i));
        k = b->perm[i];
        b->perm[i] = b->perm[j];
        b->perm[j] = k;
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    for (i = 0; i < N_CANCEL; i++) {
        struct htimer *h = &b->tm[b->perm[i]];
        ASSERT_EQ(pvt_tq_cancel(&b->q, &h->t), 1);
        h->armed = 0;
        b->expected--;
    }
    clock_gettime(CLOCK_MONOTONIC, &t3);
    b->cancelled = N_CANCEL;
    ASSERT_UEQ(pvt_ladder_count(&b->q.ladder), N_TIMERS - N_CANCEL);
    ASSERT_UEQ(b->q.stats.cancelled, N_CANCEL);
    *arm_s = secs(&t0, &t1);
    *cancel_s = secs(&t2, &t3);
    return b;
}

/* Exactly the uncancelled ran, once each; the queue is empty. */
static void big_check_end(struct big *b)
{
    uint32_t i;
    uint64_t fired = 0;

    for (i = 0; i < N_TIMERS; i++) {
        ASSERT_FALSE(b->tm[i].armed);
        ASSERT_FALSE(pvt_timer_pending(&b->tm[i].t));
        fired += b->tm[i].fired;
    }
    ASSERT_UEQ(fired, b->fired);
    ASSERT_UEQ(b->fired, b->expected);
    ASSERT_UEQ(pvt_ladder_count(&b->q.ladder), 0);
    ASSERT_NULL(pvt_ladder_first(&b->q.ladder));
    ASSERT_UEQ(b->q.stats.fired, b->fired);
    ASSERT_UEQ(b->q.stats.lateness.count, b->fired);
    ASSERT_UEQ(b->q.stats.armed, N_TIMERS + b->rearms);
    ASSERT_UEQ(b->q.stats.cancelled, N_CANCEL + b->cb_cancels);
}

static void big_free(struct big *b)
{
    free(b->tm);
    free(b->perm);
    free(b);
    big = NULL;
}

/*
 * High-res: the device (a hypervisor singleshot timer, `delta`) is always
 * aimed at the earliest timer; each event is delivered when it falls due.
 */
TEST_IMPL(tq_host_million_events)
{
    struct timespec t0, t1;
    double arm_s, cancel_s;
    struct big *b = big_setup(true, 0x1e6, &arm_s, &cancel_s);
    uint64_t events = 0, i;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (pvt_ladder_count(&b->q.ladder) > 0) {
        ASSERT_UGT(b->w.fire_t, b->w.t); /* aimed ahead */
        b->w.t = b->w.fire_t;
        ASSERT_OK(pvt_clockevent_event(&b->w.pv));
        events++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    big_check_end(b);
    /* every event was on time: none spurious; a timer is late only when
     * it was due less than min_delta after the previous event (or at once,
     * when armed) */
    ASSERT_UEQ(b->q.stats.interrupts, events);
    ASSERT_UEQ(b->q.stats.spurious, 0);
    ASSERT_ULE(b->q.stats.lateness.max, b->w.pv.min_delta_ns);
    ASSERT_UEQ(b->fired, N_TIMERS - N_CANCEL);
    ASSERT_EQ(pvt_clockevent_get_state(&b->w.pv), PVT_CE_ONESHOT_STOPPED);
    /* exactly the uncancelled: the permutation's tail */
    for (i = 0; i < N_TIMERS; i++)
        ASSERT_UEQ(b->tm[b->perm[i]].fired, i >= N_CANCEL);
    printf("%u timers: arm %.0f ns each, cancel %.0f ns each, expire "
           "%.0f ns each (%llu events, %.3f s total)\n",
           N_TIMERS, arm_s * 1e9 / N_TIMERS, cancel_s * 1e9 / N_CANCEL,
           secs(&t0, &t1) * 1e9 / (double)b->fired, (unsigned long long)events,
           arm_s + cancel_s + secs(&t0, &t1));
    big_free(b);
    RETURN_OK();
}

/*
 * Low-res: a 1 ms tick runs what is due (pvt_tq_run_expired), and some
 * callbacks re-arm themselves a little later or cancel a random timer, so
 * that a big heap also sees removals from its middle while it drains.
 */
TEST_IMPL(tq_host_million_ticks)
{
    struct timespec t0, t1;
    double arm_s, cancel_s;
    struct big *b = big_setup(false, 0x71c4, &arm_s, &cancel_s);
    uint64_t ticks = 0, before;
    int64_t now;
    int rc;

    b->rearm = true;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (pvt_ladder_count(&b->q.ladder) > 0) {
        b->w.t = (b->w.t / TICK_NS + 1) * TICK_NS;
        now = (int64_t)b->w.t;
        before = b->fired;
        rc = pvt_tq_run_expired(&b->q);
        ASSERT_GE(rc, 0);
        ASSERT_UEQ((uint64_t)rc, b->fired - before);
        /* whatever is left is not due */
        ASSERT_GT(pvt_tq_earliest(&b->q), now);
        ticks++;
        ASSERT_ULE(ticks, SPAN_NS / TICK_NS + 10);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    big_check_end(b);
    ASSERT_UGT(b->rearms, 0);
    ASSERT_UGT(b->cb_cancels, 0);
    ASSERT_UEQ(b->fired, N_TIMERS - N_CANCEL + b->rearms - b->cb_cancels);
    printf("%u timers, %llu ticks, %llu re-armed, %llu cancelled by "
           "callbacks: expire %.0f ns each (%.3f s total)\n",
           N_TIMERS, (unsigned long long)ticks, (unsigned long long)b->rearms,
           (unsigned long long)b->cb_cancels,
           secs(&t0, &t1) * 1e9 / (double)b->fired,
           arm_s + cancel_s + secs(&t0, &t1));
    big_free(b);
    RETURN_OK();
}

/*
 * The simulator's event queue (src/sim/events.h): runs in (time, arming
 * order), rounds that collect first, and its argument checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/test.h"
#include "sim/events.h"
#include "sim/rng.h"

#define NEV 300

/* What ran, in order. */
struct log {
    struct pvt_sim_event ev[NEV];
    int ran[4 * NEV];
    int n;
    struct pvt_sim_evq *q;
    /* what a function does when it runs (by event index) */
    int arm_other[NEV];    /* arm this event ... */
    int64_t arm_at[NEV];   /* ... for this time, or -1 */
    int cancel_other[NEV]; /* cancel this event, or -1 */
};

static void record(struct pvt_sim_event *ev)
{
    struct log *l = ev->data;
    int i = (int)(ev - l->ev);

    l->ran[l->n++] = i;
    if (l->arm_other[i] >= 0)
        pvt_sim_evq_arm(l->q, &l->ev[l->arm_other[i]], l->arm_at[i]);
    if (l->cancel_other[i] >= 0)
        pvt_sim_evq_cancel(l->q, &l->ev[l->cancel_other[i]]);
}

static void log_init(struct log *l, struct pvt_sim_evq *q)
{
    int i;

    memset(l, 0, sizeof(*l));
    l->q = q;
    for (i = 0; i < NEV; i++) {
        pvt_sim_event_init(&l->ev[i], record, l);
        l->arm_other[i] = -1;
        l->cancel_other[i] = -1;
    }
}

/* The reference: each event's last arming (time, a counter of the
 * test's own), or not armed. */
struct ref {
    int64_t at;
    uint64_t order;
    int armed;
};

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = *(const struct ref *const *)a;
    const struct ref *y = *(const struct ref *const *)b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

TEST_IMPL(sim_events_order)
{
    static struct log l;
    static struct ref ref[NEV];
    static struct ref *sorted[NEV];
    struct pvt_sim_evq q;
    struct pvt_sim_rng r;
    uint64_t order = 0;
    int round, i, k, n;

    /* start with room for 4: arming grows it */
    ASSERT_OK(pvt_sim_evq_init(&q, 4));
    log_init(&l, &q);
    memset(ref, 0, sizeof(ref));
    pvt_sim_rng_seed(&r, 42, 0);
    for (round = 0; round < 40; round++) {
        int64_t now = (int64_t)round * 100;
        /* arms, re-arms and cancels, times crowded so that ties abound
         * (some in the past: they run in this round) */
        for (k = 0; k < 400; k++) {
            int e = (int)(pvt_sim_rng_next(&r) % NEV);
            if (pvt_sim_rng_next(&r) % 5 == 0) {
                ASSERT_EQ(pvt_sim_evq_cancel(&q, &l.ev[e]), ref[e].armed);
                ref[e].armed = 0;
                continue;
            }
            ref[e].at = now - 50 + (int64_t)(pvt_sim_rng_next(&r) % 400);
            if (ref[e].at < 0)
                ref[e].at = 0; /* as the queue takes it */
            ref[e].order = order++;
            ref[e].armed = 1;
            ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[e], ref[e].at));
        }
        for (n = 0, i = 0; i < NEV; i++)
            if (ref[i].armed && ref[i].at <= now)
                sorted[n++] = &ref[i];
        qsort(sorted, (size_t)n, sizeof(sorted[0]), ref_cmp);
        l.n = 0;
        ASSERT_EQ(pvt_sim_evq_run(&q, now), n);
        ASSERT_EQ(l.n, n);
        for (i = 0; i < n; i++) {
            ASSERT_EQ(l.ran[i], (int)(sorted[i] - ref));
            sorted[i]->armed = 0;
        }
        /* what is left: the earliest is the reference's */
        {
            int64_t min = INT64_MAX;
            for (i = 0; i < NEV; i++)
                if (ref[i].armed && ref[i].at < min)
                    min = ref[i].at;
            ASSERT(pvt_sim_evq_earliest(&q) == min);
        }
    }
    pvt_sim_evq_free(&q);
    return 0;
}

TEST_IMPL(sim_events_rounds)
{
    static struct log l;
    struct pvt_sim_evq q;

    ASSERT_OK(pvt_sim_evq_init(&q, 8));
    log_init(&l, &q);
    /* 0 re-arms 5 into the past: the next round's, not this one's; 1
     * cancels 2, due in this round; 3 re-arms 4, due in this round, for
     * later */
    l.arm_other[0] = 5;
    l.arm_at[0] = -7; /* below 0: 0 */
    l.cancel_other[1] = 2;
    l.arm_other[3] = 4;
    l.arm_at[3] = 50;
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[4], 10));
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[0], 10));
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[1], 10));
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[2], 10));
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[3], 5));
    ASSERT_OK(pvt_sim_evq_arm(&q, &l.ev[6], 11));
    ASSERT_FALSE(pvt_sim_evq_in_round(&q));
    ASSERT(pvt_sim_evq_earliest(&q) == 5);
    /* at 10: 3 (earliest), then 4 (armed first at 10) taken out by 3,
     * 0, 1, and 2 cancelled by 1 */
    ASSERT_EQ(pvt_sim_evq_run(&q, 10), 3);
    ASSERT_EQ(l.n, 3);
    ASSERT_EQ(l.ran[0], 3);
    ASSERT_EQ(l.ran[1], 0);
    ASSERT_EQ(l.ran[2], 1);
    ASSERT_EQ(l.ev[2].state, PVT_SIM_EVENT_IDLE);
    ASSERT(l.ev[5].expires == 0);
    ASSERT(pvt_sim_evq_earliest(&q) == 0);
    ASSERT_EQ(pvt_sim_evq_run(&q, 10), 1);
    ASSERT_EQ(l.ran[3], 5);
    ASSERT(pvt_sim_evq_earliest(&q) == 11);
    ASSERT_EQ(pvt_sim_evq_run(&q, 100), 2);
    ASSERT_EQ(l.ran[4], 6);
    ASSERT_EQ(l.ran[5], 4);
    ASSERT(pvt_sim_evq_earliest(&q) == INT64_MAX);
    ASSERT_EQ(pvt_sim_evq_run(&q, 1000), 0);
    ASSERT_EQ(pvt_sim_evq_cancel(&q, &l.ev[0]), 0);

    /* the argument checks */
    ASSERT_EQ(pvt_sim_event_init(NULL, record, NULL), -1);
    ASSERT_EQ(pvt_sim_event_init(&l.ev[0], NULL, NULL), -1);
    ASSERT_EQ(pvt_sim_evq_init(NULL, 1), -1);
    ASSERT_EQ(pvt_sim_evq_reserve(NULL, 1), -1);
    ASSERT_EQ(pvt_sim_evq_arm(NULL, &l.ev[0], 1), -1);
    ASSERT_EQ(pvt_sim_evq_arm(&q, NULL, 1), -1);
    {
        struct pvt_sim_event bare = {0}; /* never initialised: no function */
        ASSERT_EQ(pvt_sim_evq_arm(&q, &bare, 1), -1);
    }
    ASSERT_EQ(pvt_sim_evq_cancel(NULL, &l.ev[0]), -1);
    ASSERT_EQ(pvt_sim_evq_cancel(&q, NULL), -1);
    ASSERT(pvt_sim_evq_earliest(NULL) == INT64_MAX);
    ASSERT_FALSE(pvt_sim_evq_in_round(NULL));
    ASSERT_EQ(pvt_sim_evq_run(NULL, 0), -1);
    pvt_sim_evq_free(&q);
    pvt_sim_evq_free(NULL);
    return 0;
}

/*
 * The timer queue's policy (see timerqueue.h): the ladder (ladder.c) keeps
 * the armed timers in order; this file arms and cancels them, runs the
 * never-early expiry rounds and programs the device in high-resolution
 * mode.
 *
 * Timers collected for a round have left the ladder and are chained
 * through round_next / round_prev until their callbacks run.
 */
#include "pvtimer/timerqueue.h"

#include "util.h"

static struct pvt_timer *timer_of(struct pvt_ladder_node *n)
{
    return n ? PVT_LADDER_ENTRY(n, struct pvt_timer, node) : NULL;
}

/* The earliest queued timer, or NULL. */
static struct pvt_timer *earliest(const struct pvt_timer_queue *q)
{
    return timer_of(pvt_ladder_first(&q->ladder));
}

/* ---- the round list ----------------------------------------------------- */

static void round_append(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    t->round_next = NULL;
    t->round_prev = q->round_tail;
    if (q->round_tail)
        q->round_tail->round_next = t;
    else
        q->round_head = t;
    q->round_tail = t;
}

static void round_remove(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    if (t->round_prev)
        t->round_prev->round_next = t->round_next;
    else
        q->round_head = t->round_next;
    if (t->round_next)
        t->round_next->round_prev = t->round_prev;
    else
        q->round_tail = t->round_prev;
    t->round_next = t->round_prev = NULL;
}

/* Take t out of wherever it is; it becomes idle. */
static void detach(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    /* (the ladder calls cannot fail: the state says where t is) */
    if (t->state == PVT_TIMER_QUEUED)
        (void)pvt_ladder_remove(&q->ladder, &t->node);
    else if (t->state == PVT_TIMER_EXPIRED)
        round_remove(q, t);
    t->state = PVT_TIMER_IDLE;
    t->queue = NULL;
}

/* ---- device programming ------------------------------------------------- */

/*
 * Keep the device aimed at the earliest timer. Forced: a deadline already
 * past is programmed at min_delta rather than refused, so nothing is lost;
 * the event then finds it due.
 */
static int program(struct pvt_timer_queue *q, bool force)
{
    int64_t next = pvt_tq_earliest(q);
    int rc;

    if (!q->dev || q->in_event || q->hang_pending)
        return 0;
    if (next == q->programmed && next != PVT_TIME_MAX && !force)
        return 0;
    rc = pvt_clockevent_program(q->dev, next, true);
    if (rc) {
        q->stats.program_errors++;
        q->programmed = PVT_TIME_MAX;
        return rc;
    }
    q->programmed = next;
    return 0;
}

/* ---- public API --------------------------------------------------------- */

int pvt_timer_init(struct pvt_timer *t, pvt_timer_fn fn, void *data)
{
    if (!t || !fn)
        return -PVT_EINVAL;
    *t = (struct pvt_timer){.fn = fn, .data = data};
    return 0;
}

bool pvt_timer_pending(const struct pvt_timer *t)
{
    return t && t->state != PVT_TIMER_IDLE;
}

int pvt_tq_init_rungs(struct pvt_timer_queue *q, struct pvt_timekeeper *tk,
                      struct pvt_ladder_rung *rungs, unsigned int nrungs)
{
    struct pvt_ladder ladder;
    int rc;

    if (!q || !tk || !tk->cs)
        return -PVT_EINVAL;
    rc = pvt_ladder_init(&ladder, rungs, nrungs);
    if (rc)
        return rc;
    *q = (struct pvt_timer_queue){
        .tk = tk, .ladder = ladder, .programmed = PVT_TIME_MAX};
    pvt_hist_init(&q->stats.lateness);
    pvt_shist_init(&q->stats.device_error);
    return 0;
}

int pvt_tq_init(struct pvt_timer_queue *q, struct pvt_timekeeper *tk)
{
    return pvt_tq_init_rungs(q, tk, q ? q->rung : NULL, PVT_TQ_RUNGS);
}

int pvt_tq_arm(struct pvt_timer_queue *q, struct pvt_timer *t, int64_t expires)
{
    bool was_root;

    if (!q || !t || !t->fn)
        return -PVT_EINVAL;
    if (t->state != PVT_TIMER_IDLE && t->queue != q)
        return -PVT_EBUSY;
    was_root = t == earliest(q);
    detach(q, t);
    t->queue = q;
    t->state = PVT_TIMER_QUEUED;
    (void)pvt_ladder_insert(&q->ladder, &t->node, expires < 0 ? 0 : expires);
    q->stats.armed++;
    /* the device needs to hear only of a new earliest, or of a moved one */
    if (t == earliest(q) || was_root)
        program(q, false);
    return 0;
}

int pvt_tq_arm_after(struct pvt_timer_queue *q, struct pvt_timer *t,
                     int64_t delta_ns)
{
    int64_t now;

    if (!q || delta_ns < 0)
        return -PVT_EINVAL;
    now = pvt_timekeeper_now(q->tk);
    if (now < 0)
        return (int)now;
    return pvt_tq_arm(q, t, pvt_add_sat_s64(now, delta_ns));
}

int pvt_tq_cancel(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    bool was_root;

    if (!q || !t)
        return -PVT_EINVAL;
    if (t->state == PVT_TIMER_IDLE)
        return 0;
    if (t->queue != q)
        return -PVT_EBUSY;
    was_root = t == earliest(q);
    detach(q, t);
    q->stats.cancelled++;
    if (was_root)
        program(q, false);
    return 1;
}

int64_t pvt_tq_earliest(const struct pvt_timer_queue *q)
{
    const struct pvt_timer *t = q ? earliest(q) : NULL;

    return t ? t->expires : PVT_TIME_MAX;
}

/* The device's interrupt: the queue is its owner. */
static void event_handler(struct pvt_clockevent *dev)
{
    (void)pvt_tq_event(pvt_clockevent_owner(dev));
}

int pvt_tq_set_device(struct pvt_timer_queue *q, struct pvt_clockevent *dev)
{
    int rc;

    if (!q)
        return -PVT_EINVAL;
    if (!dev) {
        /* the queue's device is bound to it: nothing to refuse */
        if (q->dev)
            (void)pvt_clockevent_release(q->dev, q);
        q->dev = NULL;
        q->programmed = PVT_TIME_MAX;
        return 0;
    }
    if (pvt_clockevent_timekeeper(dev) != q->tk ||
        (pvt_clockevent_owner(dev) && pvt_clockevent_owner(dev) != q))
        return -PVT_EINVAL;
    if (!(dev->features & PVT_CE_FEAT_ONESHOT))
        return -PVT_EOPNOTSUPP;
    if (pvt_clockevent_get_state(dev) != PVT_CE_ONESHOT) {
        rc = pvt_clockevent_set_state(dev, PVT_CE_ONESHOT, 0);
        if (rc)
            return rc;
    }
    /* a device held before is released, as by pvt_tq_set_device(q, NULL):
     * it must not keep calling this queue nor stay owned by it */
    if (q->dev && q->dev != dev)
        (void)pvt_clockevent_release(q->dev, q);
    rc = pvt_clockevent_bind(dev, event_handler, q);
    if (rc)
        return rc; /* checked above: does not happen */
    q->dev = dev;
    q->programmed = PVT_TIME_MAX;
    q->hang_pending = false; /* a new device knows of no back-off */
    return program(q, true);
}

int pvt_tq_reprogram(struct pvt_timer_queue *q)
{
    if (!q)
        return -PVT_EINVAL;
    q->hang_pending = false; /* asked for explicitly */
    return program(q, true);
}

/*
 * One round: collect every timer due at `now`, then run their callbacks in
 * deadline order. Collecting first means a callback that re-arms a timer
 * (even into the past) puts it back in the heap, not in this round.
 */
static int run_round(struct pvt_timer_queue *q, int64_t now)
{
    struct pvt_timer *t;
    int ran = 0;

    while ((t = earliest(q)) != NULL && t->expires <= now) {
        (void)pvt_ladder_pop(&q->ladder);
        t->state = PVT_TIMER_EXPIRED;
        round_append(q, t);
    }
    while ((t = q->round_head) != NULL) {
        round_remove(q, t);
        t->state = PVT_TIMER_IDLE;
        t->queue = NULL;
        q->stats.fired++;
        pvt_hist_add(&q->stats.lateness, (uint64_t)(now - t->expires));
        ran++;
        t->fn(t);
    }
    return ran;
}

int pvt_tq_run_expired(struct pvt_timer_queue *q)
{
    int64_t now;

    if (!q)
        return -PVT_EINVAL;
    now = pvt_timekeeper_now(q->tk);
    if (now < 0)
        return (int)now;
    return run_round(q, now);
}

int pvt_tq_event(struct pvt_timer_queue *q)
{
    struct pvt_clockevent *dev;
    const struct pvt_clockevent_programming *last;
    int64_t entry, now, next;
    bool split;
    int rounds, ran = 0, rc;

    if (!q || !q->dev)
        return -PVT_EINVAL;
    dev = q->dev;
    last = pvt_clockevent_last(dev);
    q->stats.interrupts++;
    q->hang_pending = false;
    entry = now = pvt_timekeeper_now(q->tk);
    /* how far from its aim the device fired; a wake planned short of the
     * deadline (the wait was longer than max_delta) is a split */
    split = false;
    if (q->programmed != PVT_TIME_MAX) {
        pvt_shist_add(&q->stats.device_error, now - last->target);
        /* (the device may fire up to one of its ticks before the target:
         * a delta cut to max_delta_ticks is rounded down to a tick) */
        split = last->target < last->requested &&
                now >= last->target -
                           (int64_t)pvt__div64_u64(
                               (1ull << dev->shift) + dev->mult - 1, dev->mult);
    }
    q->programmed = PVT_TIME_MAX;
    q->in_event = true;
    for (rounds = 1;; rounds++) {
        ran += run_round(q, now);
        next = pvt_tq_earliest(q);
        rc = pvt_clockevent_program(dev, next, false);
        if (rc == 0) {
            q->programmed = next;
            break;
        }
        if (rc != -PVT_ETIME) {
            q->stats.program_errors++;
            break;
        }
        /* the next deadline passed while callbacks ran: another round,
         * but a bounded number of them */
        now = pvt_timekeeper_now(q->tk);
        if (rounds >= PVT_TQ_MAX_ROUNDS) {
            int64_t spent = now - entry;
            q->stats.hangs++;
            if (spent > PVT_TQ_HANG_MAX_NS)
                spent = PVT_TQ_HANG_MAX_NS;
            next = pvt_add_sat_s64(now, spent);
            if (pvt_clockevent_program(dev, next, true) == 0) {
                q->programmed = next;
                q->hang_pending = true;
            } else
                q->stats.program_errors++;
            break;
        }
        q->stats.retries++;
    }
    q->in_event = false;
    if (ran == 0 && rounds == 1) {
        if (split)
            q->stats.splits++;
        else
            q->stats.spurious++;
    }
    return ran;
}

/*
 * The timer queue's policy (see timerqueue.h): the ladder (ladder.c) keeps
 * the armed timers in order; this file arms and cancels them, runs the
 * never-early expiry rounds and programs the device in high-resolution
 * mode.
 *
 * A round takes the due timers out of the ladder one at a time, each just
 * before its callback runs. A timer armed during a round for a deadline
 * the round has reached (re-armed into the past by a callback, or drained
 * from the inbox) must wait for a later round: it waits outside the
 * ladder, in the late list (state PVT_TIMER_EXPIRED), chained through its
 * node's next / prev (the user's out of a ladder), and enters the ladder,
 * in arming order, when the round ends. Remotely armed timers wait in the
 * inbox chained through node.next.
 *
 * Several vCPUs (see timerqueue.h): remote armers share with the owner
 * only q->inbox (pushed by compare-and-swap, emptied by the owner's
 * exchange), q->programmed (published by the owner) and the state of a
 * timer they hand over; all three are accessed atomically. The rest is the
 * owner's alone. A timer's other fields pass from the remote armer to the
 * owner through the inbox: the push releases them, the exchange acquires.
 */
#include "pvtimer/timerqueue.h"

#include "atomic64.h"
#include "histogram-internal.h"
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

/*
 * A timer's state is read by remote armers (is it idle?) and by
 * pvt_timer_pending on any vCPU: always stored atomically. The owner's own
 * reads, which nothing stores concurrently, are plain.
 */
static void set_state(struct pvt_timer *t, enum pvt_timer_state state)
{
    __atomic_store_n(&t->state, state, __ATOMIC_RELAXED);
}

static enum pvt_timer_state state_of(const struct pvt_timer *t)
{
    return __atomic_load_n(&t->state, __ATOMIC_RELAXED);
}

/* ---- the late list ------------------------------------------------------ */

/* The late list's (and the inbox's) links: the node's, out of the
 * ladder. */
static struct pvt_timer *link_next(const struct pvt_timer *t)
{
    return timer_of(t->node.next);
}

static void set_link_next(struct pvt_timer *t, struct pvt_timer *x)
{
    t->node.next = x ? &x->node : NULL;
}

static void late_append(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    t->node.next = NULL;
    t->node.prev = q->late_tail ? &q->late_tail->node : NULL;
    if (q->late_tail)
        set_link_next(q->late_tail, t);
    else
        q->late_head = t;
    q->late_tail = t;
    if (t == q->late_head || t->expires < q->late_min)
        q->late_min = t->expires;
}

static void late_remove(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    struct pvt_timer *next = link_next(t), *prev = timer_of(t->node.prev), *x;

    if (prev)
        set_link_next(prev, next);
    else
        q->late_head = next;
    if (next)
        next->node.prev = prev ? &prev->node : NULL;
    else
        q->late_tail = prev;
    t->node.next = t->node.prev = NULL;
    /* (rare: a callback cancelling a timer it armed into the past) */
    if (t->expires == q->late_min && q->late_head) {
        q->late_min = q->late_head->expires;
        for (x = q->late_head; x; x = link_next(x))
            if (x->expires < q->late_min)
                q->late_min = x->expires;
    }
}

/*
 * Queue t (in no list, its state not yet QUEUED or EXPIRED) for `expires`:
 * into the ladder, or, during a round that has reached the deadline, into
 * the late list, so that this round does not run it.
 */
static inline void enqueue(struct pvt_timer_queue *q, struct pvt_timer *t,
                           int64_t expires)
{
    if (q->in_round && expires <= q->round_now) {
        t->expires = expires;
        set_state(t, PVT_TIMER_EXPIRED);
        late_append(q, t);
        return;
    }
    set_state(t, PVT_TIMER_QUEUED);
    (void)pvt_ladder_insert(&q->ladder, &t->node, expires);
}

/* The round ended: the late timers into the ladder, in arming order (the
 * ladder keeps equal deadlines in insertion order). */
static void late_flush(struct pvt_timer_queue *q)
{
    struct pvt_timer *t, *next;

    for (t = q->late_head; t != NULL; t = next) {
        next = link_next(t);
        t->node.next = t->node.prev = NULL;
        set_state(t, PVT_TIMER_QUEUED);
        (void)pvt_ladder_insert(&q->ladder, &t->node, t->expires);
    }
    q->late_head = q->late_tail = NULL;
}

/* Take t out of wherever it is; it becomes idle. */
static void detach(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    /* (the ladder calls cannot fail: the state says where t is) */
    if (t->state == PVT_TIMER_QUEUED)
        (void)pvt_ladder_remove(&q->ladder, &t->node);
    else if (t->state == PVT_TIMER_EXPIRED)
        late_remove(q, t);
    set_state(t, PVT_TIMER_IDLE);
    t->queue = NULL;
}

/* ---- the inbox ---------------------------------------------------------- */

/*
 * The owner publishes what its device is programmed for. Sequentially
 * consistent, as the inbox load after it (drain) and the remote armer's
 * push and load: either the owner's next drain sees the push, or the
 * armer sees this value and kicks if its deadline is earlier.
 */
static void publish(struct pvt_timer_queue *q, int64_t programmed)
{
    pvt__atomic_store_u64((uint64_t *)&q->programmed, (uint64_t)programmed,
                          __ATOMIC_SEQ_CST);
}

/*
 * Move every remotely armed timer from the inbox into the ladder, in
 * arming order (the inbox is newest first), each with its own deadline.
 * Returns how many. The caller re-programs.
 */
static int drain_inbox(struct pvt_timer_queue *q)
{
    struct pvt_timer *head, *order = NULL, *t;
    int n = 0;

    head = __atomic_exchange_n(&q->inbox, NULL, __ATOMIC_SEQ_CST);
    while ((t = head) != NULL) {
        head = link_next(t);
        set_link_next(t, order);
        order = t;
    }
    while ((t = order) != NULL) {
        order = link_next(t);
        t->node.next = NULL;
        enqueue(q, t, t->expires);
        q->stats.armed++;
        q->stats.remote++;
        n++;
    }
    return n;
}

/* Every queue operation starts here: one load when the inbox is empty
 * (the common case, kept inline). */
static inline int drain(struct pvt_timer_queue *q)
{
    if (!__atomic_load_n(&q->inbox, __ATOMIC_SEQ_CST))
        return 0;
    return drain_inbox(q);
}

/* ---- device programming ------------------------------------------------- */

/*
 * Keep the device aimed at the earliest timer. Forced: a deadline already
 * past is programmed at min_delta rather than refused, so nothing is lost;
 * the event then finds it due.
 */
static int program(struct pvt_timer_queue *q, bool force)
{
    int64_t next;
    int rc;

    do {
        next = pvt_tq_earliest(q);
        if (!q->dev || q->in_event || q->hang_pending)
            return 0;
        if (next == q->programmed && next != PVT_TIME_MAX && !force)
            return 0;
        force = false;
        rc = pvt_clockevent_program(q->dev, next, true);
        if (rc) {
            q->stats.program_errors++;
            publish(q, PVT_TIME_MAX);
        } else
            publish(q, next);
        /* what a remote armer pushed meanwhile, judging by the value
         * published before, may need an earlier programming */
    } while (drain(q) > 0);
    return rc;
}

/* At the start of every owner call: the inbox into the ladder. */
static void take_inbox(struct pvt_timer_queue *q)
{
    if (drain(q) > 0)
        (void)program(q, false);
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
    return t && state_of(t) != PVT_TIMER_IDLE;
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
    take_inbox(q);
    if (state_of(t) == PVT_TIMER_REMOTE)
        return -PVT_EBUSY; /* its armer has not pushed it yet */
    /* (a late timer may be the earliest) */
    was_root = t == earliest(q) || t->state == PVT_TIMER_EXPIRED;
    detach(q, t);
    t->queue = q;
    enqueue(q, t, expires < 0 ? 0 : expires);
    q->stats.armed++;
    /* the device needs to hear only of a new earliest, or of a moved one
     * (a late timer is due: program() sees whether that is news) */
    if (t == earliest(q) || was_root || t->state == PVT_TIMER_EXPIRED)
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
    take_inbox(q);
    if (state_of(t) == PVT_TIMER_REMOTE)
        return -PVT_EBUSY; /* its armer has not pushed it yet */
    /* (a late timer may be the earliest) */
    was_root = t == earliest(q) || t->state == PVT_TIMER_EXPIRED;
    detach(q, t);
    q->stats.cancelled++;
    if (was_root)
        program(q, false);
    return 1;
}

int64_t pvt_tq_earliest(const struct pvt_timer_queue *q)
{
    const struct pvt_timer *t = q ? earliest(q) : NULL;
    int64_t e = t ? t->expires : PVT_TIME_MAX;

    return q && q->late_head && q->late_min < e ? q->late_min : e;
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
        publish(q, PVT_TIME_MAX);
        (void)drain(q); /* now run by the tick */
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
    publish(q, PVT_TIME_MAX);
    q->hang_pending = false; /* a new device knows of no back-off */
    (void)drain(q);
    return program(q, true);
}

int pvt_tq_reprogram(struct pvt_timer_queue *q)
{
    if (!q)
        return -PVT_EINVAL;
    q->hang_pending = false; /* asked for explicitly */
    (void)drain(q);
    return program(q, true);
}

/*
 * One round: run, in deadline order, every timer in the ladder due at
 * `now`. Each leaves the ladder just before its callback runs, idle, so
 * the callback may re-arm it; a timer armed during the round for a
 * deadline at or before `now` waits in the late list (enqueue) and enters
 * the ladder when the round ends: a later round runs it, never this one.
 *
 * The hot path of the timer interrupt: one pass, like the rbtree's, so a
 * timer is taken out and run while its line is in cache (the ladder has
 * just sorted it there), and the next one is asked for (prefetched)
 * before the callback runs. The lateness histogram is folded in once per
 * round (a callback reading it sees the round's own values only after
 * it): every timer of a round runs at the same `now`, in deadline order,
 * so lateness only falls, and the round counts the timers of one bucket
 * until one falls below it (a comparison per timer, not the bucket's
 * computation and a memory increment).
 */
static int run_round(struct pvt_timer_queue *q, int64_t now)
{
    struct pvt_hist *h = &q->stats.lateness;
    struct pvt_ladder_node *n;
    struct pvt_timer *t;
    uint64_t v, sum = 0, lo = 0, hi = 0;
    uint64_t b_lo = 0, b_hi = 0, b_n = 0; /* the bucket being counted */
    unsigned int b = 0;
    int ran = 0;

    q->in_round = true;
    q->round_now = now;
    while ((n = pvt_ladder_first(&q->ladder)) != NULL && n->key <= now) {
        (void)pvt_ladder_pop(&q->ladder);
        if (q->ladder.root)
            __builtin_prefetch(timer_of(q->ladder.root), 1);
        t = timer_of(n);
        t->queue = NULL;
        set_state(t, PVT_TIMER_IDLE);
        v = (uint64_t)(now - t->expires);
        if (v < b_lo || v >= b_hi || ran == 0) {
            /* (in deadline order only v < b_lo comes after the first) */
            if (b_n)
                h->bucket[b] += b_n;
            b = pvt__hist_bucket(v);
            b_lo = pvt__hist_bucket_lo(b);
            b_hi = pvt__hist_bucket_end(b);
            b_n = 0;
        }
        b_n++;
        if (ran == 0)
            hi = lo = v;
        else if (v < lo)
            lo = v;
        else if (v > hi)
            hi = v;
        sum = pvt_add_sat_u64(sum, v);
        ran++;
        t->fn(t);
    }
    q->in_round = false;
    if (q->late_head)
        late_flush(q);
    if (ran) {
        h->bucket[b] += b_n;
        if (h->count == 0 || lo < h->min)
            h->min = lo;
        if (h->count == 0 || hi > h->max)
            h->max = hi;
        h->count += (uint64_t)ran;
        h->sum = pvt_add_sat_u64(h->sum, sum);
        q->stats.fired += (uint64_t)ran;
    }
    return ran;
}

int pvt_tq_run_expired(struct pvt_timer_queue *q)
{
    int64_t now;

    if (!q)
        return -PVT_EINVAL;
    if (q->in_round)
        return -PVT_EBUSY;
    take_inbox(q);
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
    if (q->in_round)
        return -PVT_EBUSY;
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
    /* remote armers kick from here on; what they pushed before, judging
     * by the value this event answers, is drained now */
    publish(q, PVT_TIME_MAX);
    (void)drain(q);
    q->in_event = true;
    for (rounds = 1;; rounds++) {
        ran += run_round(q, now);
        next = pvt_tq_earliest(q);
        rc = pvt_clockevent_program(dev, next, false);
        if (rc == 0) {
            publish(q, next);
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
                publish(q, next);
                q->hang_pending = true;
            } else
                q->stats.program_errors++;
            break;
        }
        q->stats.retries++;
    }
    q->in_event = false;
    /* pushed while the callbacks ran or after the publication above */
    take_inbox(q);
    if (ran == 0 && rounds == 1) {
        if (split)
            q->stats.splits++;
        else
            q->stats.spurious++;
    }
    return ran;
}

int pvt_tq_set_kick(struct pvt_timer_queue *q, pvt_tq_kick_fn kick, void *ctx)
{
    if (!q)
        return -PVT_EINVAL;
    q->kick = kick;
    q->kick_ctx = ctx;
    return 0;
}

int pvt_tq_arm_remote(struct pvt_timer_queue *q, struct pvt_timer *t,
                      int64_t expires)
{
    struct pvt_timer *head;
    int64_t programmed;

    if (!q || !t || !t->fn)
        return -PVT_EINVAL;
    if (state_of(t) != PVT_TIMER_IDLE)
        return -PVT_EBUSY;
    t->expires = expires < 0 ? 0 : expires;
    t->queue = q;
    set_state(t, PVT_TIMER_REMOTE);
    head = __atomic_load_n(&q->inbox, __ATOMIC_RELAXED);
    do
        set_link_next(t, head);
    while (!__atomic_compare_exchange_n(&q->inbox, &head, t, true,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    programmed = (int64_t)pvt__atomic_load_u64((uint64_t *)&q->programmed,
                                               __ATOMIC_SEQ_CST);
    if (q->kick && t->expires < programmed)
        q->kick(q, q->kick_ctx);
    return 0;
}

int pvt_tq_kicked(struct pvt_timer_queue *q)
{
    int n;

    if (!q)
        return -PVT_EINVAL;
    n = drain(q);
    if (n > 0)
        (void)program(q, false);
    return n;
}

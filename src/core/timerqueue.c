/*
 * The timer queue: a ladder of unsorted buckets over a pairing heap of
 * intrusive timers (see timerqueue.h), the device it programs in
 * high-resolution mode, and the never-early expiry rounds.
 *
 * Heap links: `child` is the first child; siblings are a doubly linked
 * list through `next` and `prev`, where the first child's `prev` points to
 * its parent. The root has no prev and no next. In a bucket or the top
 * list, timers are a doubly linked list through next/prev (child unused).
 * Timers collected for a round leave the queue and are chained through
 * next/prev instead.
 */
#include "pvtimer/timerqueue.h"

/* ---- the pairing heap ------------------------------------------------- */

static bool before(const struct pvt_timer *a, const struct pvt_timer *b)
{
    return a->expires < b->expires ||
           (a->expires == b->expires && a->seq < b->seq);
}

/* Merge two heap roots (both without siblings); returns the new root. */
static struct pvt_timer *link(struct pvt_timer *a, struct pvt_timer *b)
{
    struct pvt_timer *t;

    if (before(b, a)) {
        t = a;
        a = b;
        b = t;
    }
    /* b becomes a's first child */
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    return a;
}

/*
 * Merge a sibling list into one heap with the standard two passes, without
 * recursion (the list can be as long as the queue): first link pairs left
 * to right, stacking the results through `next`; then fold the stack,
 * which holds the pairs right to left, into one root.
 */
static struct pvt_timer *merge_pairs(struct pvt_timer *first)
{
    struct pvt_timer *stack = NULL, *root, *a, *b, *rest;

    while (first) {
        a = first;
        b = a->next;
        rest = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b) {
            b->next = b->prev = NULL;
            a = link(a, b);
        }
        a->next = stack;
        stack = a;
        first = rest;
    }
    if (!stack)
        return NULL;
    root = stack;
    stack = stack->next;
    root->next = NULL;
    while (stack) {
        rest = stack->next;
        stack->next = NULL;
        root = link(root, stack);
        stack = rest;
    }
    root->prev = NULL;
    return root;
}

static void heap_insert(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    t->child = t->next = t->prev = NULL;
    t->where = PVT_TQ_IN_HEAP;
    q->root = q->root ? link(q->root, t) : t;
    q->heap_count++;
}

static void heap_remove(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    struct pvt_timer *sub;

    if (t == q->root) {
        q->root = merge_pairs(t->child);
    } else {
        /* unlink from its sibling list; prev is the parent or a sibling */
        if (t->prev->child == t)
            t->prev->child = t->next;
        else
            t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        sub = merge_pairs(t->child);
        if (sub)
            q->root = link(q->root, sub);
    }
    t->child = t->next = t->prev = NULL;
    q->heap_count--;
}

/*
 * Sort a list (through `next`) by (expires, seq): merge sort, bottom-up
 * and iterative, O(n log n) with no extra memory. Returns the new head.
 */
static struct pvt_timer *sort_list(struct pvt_timer *list)
{
    size_t width = 1, merges;

    if (!list)
        return NULL;
    do {
        struct pvt_timer *p = list, *head = NULL, **tail = &head;
        merges = 0;
        while (p) {
            struct pvt_timer *a = p, *b = p;
            size_t na = 0, nb = width;
            merges++;
            while (b && na < width) {
                na++;
                b = b->next;
            }
            while (na || (nb && b)) {
                struct pvt_timer *x;
                if (!na || (nb && b && before(b, a))) {
                    x = b;
                    b = b->next;
                    nb--;
                } else {
                    x = a;
                    a = a->next;
                    na--;
                }
                *tail = x;
                tail = &x->next;
            }
            p = b;
        }
        *tail = NULL;
        list = head;
        width *= 2;
    } while (merges > 1);
    return list;
}

/*
 * Make the (empty) heap from a list: sorted, it is a chain in which every
 * node's one child is the next, so each expiry pops in O(1).
 */
static void heap_load(struct pvt_timer_queue *q, struct pvt_timer *list)
{
    struct pvt_timer *t, *parent = NULL;

    for (t = sort_list(list); t; t = t->next) {
        t->where = PVT_TQ_IN_HEAP;
        t->child = NULL;
        t->prev = parent;
        if (parent) {
            parent->child = t;
            parent->next = NULL;
        } else {
            q->root = t;
        }
        parent = t;
        q->heap_count++;
    }
    if (parent)
        parent->next = NULL;
}

/* ---- the ladder: unsorted buckets above the heap ---------------------- */

static void list_push(struct pvt_timer **head, struct pvt_timer *t)
{
    t->child = NULL;
    t->prev = NULL;
    t->next = *head;
    if (*head)
        (*head)->prev = t;
    *head = t;
}

static void list_unlink(struct pvt_timer **head, struct pvt_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        *head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

/* lo + off, saturating: a rung may reach past the last representable
 * time. */
static int64_t offset_sat(int64_t lo, uint64_t off)
{
    return off > (uint64_t)INT64_MAX ? INT64_MAX
                                     : pvt_add_sat_s64(lo, (int64_t)off);
}

/* Where a rung's first bucket not yet handed on begins. */
static int64_t rung_start(const struct pvt_tq_rung *r)
{
    return offset_sat(r->lo, (uint64_t)r->cur << r->shift);
}

static void rung_reset(struct pvt_tq_rung *r, int64_t lo, unsigned int shift)
{
    unsigned int b;

    r->lo = lo;
    r->shift = shift;
    r->cur = 0;
    for (b = 0; b < PVT_TQ_BUCKETS / 64; b++)
        r->bitmap[b] = 0;
    for (b = 0; b < PVT_TQ_BUCKETS; b++) {
        r->head[b] = NULL;
        r->count[b] = 0;
    }
}

/* Into rung ri's bucket for t (the caller knows it falls in the rung). */
static void bucket_put(struct pvt_timer_queue *q, unsigned int ri,
                       struct pvt_timer *t)
{
    struct pvt_tq_rung *r = &q->rung[ri];
    unsigned int b = (unsigned int)((uint64_t)(t->expires - r->lo) >> r->shift);

    list_push(&r->head[b], t);
    r->count[b]++;
    r->bitmap[b / 64] |= 1ull << (b % 64);
    t->where = ri * PVT_TQ_BUCKETS + b;
}

/*
 * The heap grew past PVT_TQ_HEAP_MAX (timers armed below every rung): turn
 * it into a new deepest rung spanning [its earliest, the old deepest
 * start), so that it is sorted a bucket at a time like the rest. The tree
 * is flattened into one list without recursion or memory: walking the list
 * from its head, each node's children are appended at the tail.
 */
static void heap_demote(struct pvt_timer_queue *q)
{
    int64_t lo = q->root->expires;
    int64_t hi = q->nrungs ? rung_start(&q->rung[q->nrungs - 1]) : q->top_start;
    uint64_t span = (uint64_t)(hi - lo);
    struct pvt_timer *head = q->root, *tail = q->root, *x, *next;
    unsigned int shift = 0, ri;

    while (span >> shift > PVT_TQ_BUCKETS - 1)
        shift++;
    head->next = NULL;
    for (x = head; x; x = x->next) {
        if (x->child) {
            tail->next = x->child;
            while (tail->next)
                tail = tail->next;
            x->child = NULL;
        }
    }
    q->root = NULL;
    q->heap_count = 0;
    q->stats.heap_demotions++;
    ri = q->nrungs++;
    rung_reset(&q->rung[ri], lo, shift);
    for (x = head; x; x = next) {
        next = x->next;
        bucket_put(q, ri, x);
    }
}

/*
 * Where a timer goes: top when at or past top_start; else the first rung
 * (coarsest first) whose unhanded part it falls in; else, below every
 * rung, the heap. Rung r + 1 always covers exactly the bucket of rung r
 * that was handed on last, so these ranges tile the time line in order:
 * heap < deepest rung < ... < rung 0 < top.
 */
static void place(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    unsigned int ri;

    if (t->expires >= q->top_start) {
        if (q->top_count == 0 || t->expires < q->top_min)
            q->top_min = t->expires;
        if (q->top_count == 0 || t->expires > q->top_max)
            q->top_max = t->expires;
        list_push(&q->top, t);
        q->top_count++;
        t->where = PVT_TQ_IN_TOP;
        return;
    }
    for (ri = 0; ri < q->nrungs; ri++) {
        if (t->expires >= rung_start(&q->rung[ri])) {
            bucket_put(q, ri, t);
            return;
        }
    }
    if (q->heap_count >= PVT_TQ_HEAP_MAX && q->nrungs < PVT_TQ_RUNGS &&
        t->expires > q->root->expires) {
        heap_demote(q);
        bucket_put(q, q->nrungs - 1, t);
        return;
    }
    heap_insert(q, t);
}

static void unplace(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    if (t->where == PVT_TQ_IN_HEAP) {
        heap_remove(q, t);
    } else if (t->where == PVT_TQ_IN_TOP) {
        list_unlink(&q->top, t);
        q->top_count--;
    } else {
        struct pvt_tq_rung *r = &q->rung[t->where / PVT_TQ_BUCKETS];
        unsigned int b = t->where % PVT_TQ_BUCKETS;
        list_unlink(&r->head[b], t);
        if (--r->count[b] == 0)
            r->bitmap[b / 64] &= ~(1ull << (b % 64));
    }
}

/*
 * Keep the earliest timer in the heap: while the heap is empty and timers
 * wait elsewhere, hand on the next bucket of the deepest rung (into the
 * heap when small, else spread over a new, 256 times finer rung), or, with
 * no rung left, spread the top list over a new rung 0 that spans it.
 */
static void refill(struct pvt_timer_queue *q)
{
    while (!q->root && q->count) {
        struct pvt_timer *t, *next;
        if (q->nrungs) {
            struct pvt_tq_rung *r = &q->rung[q->nrungs - 1];
            unsigned int b, ri, w;
            uint32_t n;

            for (w = r->cur / 64; w < PVT_TQ_BUCKETS / 64 && !r->bitmap[w]; w++)
                ;
            if (w == PVT_TQ_BUCKETS / 64) {
                q->nrungs--; /* drained: back to its parent's next bucket */
                continue;
            }
            b = w * 64 + (unsigned int)__builtin_ctzll(r->bitmap[w]);
            t = r->head[b];
            n = r->count[b];
            r->head[b] = NULL;
            r->count[b] = 0;
            r->bitmap[w] &= ~(1ull << (b % 64));
            r->cur = b + 1;
            if (n > PVT_TQ_BUCKET_MAX && r->shift > 0 &&
                q->nrungs < PVT_TQ_RUNGS) {
                ri = q->nrungs++;
                q->stats.rungs_spawned++;
                rung_reset(&q->rung[ri],
                           offset_sat(r->lo, (uint64_t)b << r->shift),
                           r->shift > PVT_TQ_BUCKET_BITS
                               ? r->shift - PVT_TQ_BUCKET_BITS
                               : 0);
                for (; t; t = next) {
                    next = t->next;
                    bucket_put(q, ri, t);
                }
            } else {
                heap_load(q, t);
            }
        } else if (q->top_count) {
            /* PVT_TQ_BUCKETS buckets of 2^shift ns from top_min must reach
             * top_max */
            uint64_t span = (uint64_t)(q->top_max - q->top_min);
            unsigned int shift = 0;

            while ((span >> shift) >= PVT_TQ_BUCKETS)
                shift++;
            rung_reset(&q->rung[0], q->top_min, shift);
            q->nrungs = 1;
            q->top_start =
                offset_sat(q->top_min, (uint64_t)PVT_TQ_BUCKETS << shift);
            t = q->top;
            q->top = NULL;
            q->top_count = 0;
            for (; t; t = next) {
                next = t->next;
                bucket_put(q, 0, t);
            }
        } else {
            break; /* cannot happen: count says timers wait somewhere */
        }
    }
}

static void enqueue(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    q->count++;
    place(q, t);
    if (!q->root)
        refill(q);
}

static void dequeue(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    unplace(q, t);
    q->count--;
    if (!q->root)
        refill(q);
}

/* ---- the round list ----------------------------------------------------- */

static void round_append(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    t->child = NULL;
    t->next = NULL;
    t->prev = q->round_tail;
    if (q->round_tail)
        q->round_tail->next = t;
    else
        q->round_head = t;
    q->round_tail = t;
}

static void round_remove(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->round_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->round_tail = t->prev;
    t->next = t->prev = NULL;
}

/* Take t out of wherever it is; it becomes idle. */
static void detach(struct pvt_timer_queue *q, struct pvt_timer *t)
{
    if (t->state == PVT_TIMER_QUEUED)
        dequeue(q, t);
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
    int64_t next = q->root ? q->root->expires : PVT_TIME_MAX;
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

int pvt_tq_init(struct pvt_timer_queue *q, struct pvt_timekeeper *tk)
{
    if (!q || !tk || !tk->cs)
        return -PVT_EINVAL;
    *q = (struct pvt_timer_queue){.tk = tk, .programmed = PVT_TIME_MAX};
    pvt_hist_init(&q->stats.lateness);
    pvt_shist_init(&q->stats.device_error);
    return 0;
}

int pvt_tq_arm(struct pvt_timer_queue *q, struct pvt_timer *t, int64_t expires)
{
    bool was_root;

    if (!q || !t || !t->fn)
        return -PVT_EINVAL;
    if (t->state != PVT_TIMER_IDLE && t->queue != q)
        return -PVT_EBUSY;
    was_root = t == q->root;
    detach(q, t);
    t->expires = expires < 0 ? 0 : expires;
    t->seq = q->next_seq++;
    t->queue = q;
    t->state = PVT_TIMER_QUEUED;
    enqueue(q, t);
    q->stats.armed++;
    /* the device needs to hear only of a new earliest, or of a moved one */
    if (t == q->root || was_root)
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
    was_root = t == q->root;
    detach(q, t);
    q->stats.cancelled++;
    if (was_root)
        program(q, false);
    return 1;
}

int64_t pvt_tq_earliest(const struct pvt_timer_queue *q)
{
    return q && q->root ? q->root->expires : PVT_TIME_MAX;
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
    if (pvt_clockevent_state(dev) != PVT_CE_ONESHOT) {
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

    while (q->root && q->root->expires <= now) {
        t = q->root;
        dequeue(q, t);
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
    const struct pvt_ce_program *last;
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
                           (int64_t)(((1ull << dev->shift) + dev->mult - 1) /
                                     dev->mult);
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

/*
 * The simulator's event queue (events.h): a binary min-heap of event
 * pointers, each event holding its index; a round is a doubly linked list
 * of the events collected for it.
 */
#include "events.h"

#include <stdlib.h>

/* Whether a runs before b: earlier, or as early and armed before. */
static inline bool before(const struct pvt_sim_event *a,
                          const struct pvt_sim_event *b)
{
    return a->expires < b->expires ||
           (a->expires == b->expires && a->seq < b->seq);
}

static inline void put(struct pvt_sim_evq *q, uint32_t i,
                       struct pvt_sim_event *ev)
{
    q->heap[i] = ev;
    ev->pos = i;
}

/* ev's new home at or above index i (a hole there). */
static inline void sift_up(struct pvt_sim_evq *q, uint32_t i,
                           struct pvt_sim_event *ev)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(ev, q->heap[parent]))
            break;
        put(q, i, q->heap[parent]);
        i = parent;
    }
    put(q, i, ev);
}

/* ev's new home at or below index i (a hole there). */
static inline void sift_down(struct pvt_sim_evq *q, uint32_t i,
                             struct pvt_sim_event *ev)
{
    uint32_t n = q->n;

    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q->heap[c], ev))
            break;
        put(q, i, q->heap[c]);
        i = c;
    }
    put(q, i, ev);
}

/* ev at index i, its key changed (or a new last element): where it goes. */
static inline void settle(struct pvt_sim_evq *q, uint32_t i,
                          struct pvt_sim_event *ev)
{
    if (i > 0 && before(ev, q->heap[(i - 1) / 2]))
        sift_up(q, i, ev);
    else
        sift_down(q, i, ev);
}

static void heap_remove(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    uint32_t i = ev->pos;
    struct pvt_sim_event *last = q->heap[--q->n];

    if (last != ev)
        settle(q, i, last);
}

/* The earliest event out of the heap (not empty). */
static inline struct pvt_sim_event *heap_pop(struct pvt_sim_evq *q)
{
    struct pvt_sim_event *ev = q->heap[0];
    struct pvt_sim_event *last = q->heap[--q->n];

    if (q->n)
        sift_down(q, 0, last);
    return ev;
}

/* The earliest queued event, or NULL. */
static inline struct pvt_sim_event *first(const struct pvt_sim_evq *q)
{
    return q->front ? q->front : q->n ? q->heap[0] : NULL;
}

/* ev (its key set, room in the heap) into the queue: in front when it is
 * before everything queued, else into the heap. */
static inline void insert(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    struct pvt_sim_event *f = q->front;

    ev->state = PVT_SIM_EVENT_QUEUED;
    if (!f) {
        if (!q->n || before(ev, q->heap[0])) {
            q->front = ev;
            return;
        }
    } else if (before(ev, f)) {
        q->front = ev;
        ev = f; /* before everything in the heap: it climbs to the top */
    }
    sift_up(q, q->n++, ev);
}

/* The earliest queued event out of the queue (not empty). */
static inline struct pvt_sim_event *pop(struct pvt_sim_evq *q)
{
    struct pvt_sim_event *ev = q->front;

    if (ev) {
        q->front = NULL;
        return ev;
    }
    return heap_pop(q);
}

static void round_remove(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    if (ev->prev)
        ev->prev->next = ev->next;
    else
        q->round_head = ev->next;
    if (ev->next)
        ev->next->prev = ev->prev;
    else
        q->round_tail = ev->prev;
    ev->next = ev->prev = NULL;
}

static void round_append(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    ev->next = NULL;
    ev->prev = q->round_tail;
    if (q->round_tail)
        q->round_tail->next = ev;
    else
        q->round_head = ev;
    q->round_tail = ev;
}

/* Out of the heap or the round; idle. */
static void detach(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    if (ev->state == PVT_SIM_EVENT_QUEUED) {
        if (q->front == ev)
            q->front = NULL;
        else
            heap_remove(q, ev);
    } else if (ev->state == PVT_SIM_EVENT_DUE)
        round_remove(q, ev);
    ev->state = PVT_SIM_EVENT_IDLE;
}

int pvt_sim_event_init(struct pvt_sim_event *ev, pvt_sim_event_fn fn,
                       void *data)
{
    if (!ev || !fn)
        return -1;
    *ev = (struct pvt_sim_event){.fn = fn, .data = data};
    return 0;
}

int pvt_sim_evq_init(struct pvt_sim_evq *q, size_t cap)
{
    if (!q)
        return -1;
    *q = (struct pvt_sim_evq){0};
    return pvt_sim_evq_reserve(q, cap);
}

void pvt_sim_evq_free(struct pvt_sim_evq *q)
{
    if (!q)
        return;
    free(q->heap);
    *q = (struct pvt_sim_evq){0};
}

int pvt_sim_evq_reserve(struct pvt_sim_evq *q, size_t more)
{
    struct pvt_sim_event **h;
    size_t cap;

    if (!q)
        return -1;
    cap = (size_t)q->cap + (more ? more : 1);
    if (cap > UINT32_MAX)
        return -1;
    h = realloc(q->heap, cap * sizeof(*h));
    if (!h)
        return -1;
    q->heap = h;
    q->cap = (uint32_t)cap;
    return 0;
}

int pvt_sim_evq_arm(struct pvt_sim_evq *q, struct pvt_sim_event *ev,
                    int64_t expires)
{
    if (!q || !ev || !ev->fn)
        return -1;
    detach(q, ev);
    /* (room for one more in the heap, wherever it goes) */
    if (q->n == q->cap && pvt_sim_evq_reserve(q, q->cap))
        return -1;
    ev->expires = expires < 0 ? 0 : expires;
    ev->seq = q->seq++;
    insert(q, ev);
    return 0;
}

int pvt_sim_evq_cancel(struct pvt_sim_evq *q, struct pvt_sim_event *ev)
{
    if (!q || !ev)
        return -1;
    if (ev->state == PVT_SIM_EVENT_IDLE)
        return 0;
    detach(q, ev);
    return 1;
}

int64_t pvt_sim_evq_earliest(const struct pvt_sim_evq *q)
{
    const struct pvt_sim_event *ev = q ? first(q) : NULL;

    return ev ? ev->expires : INT64_MAX;
}

bool pvt_sim_evq_in_round(const struct pvt_sim_evq *q)
{
    return q && q->round_head != NULL;
}

static inline bool due(const struct pvt_sim_evq *q, int64_t now)
{
    const struct pvt_sim_event *ev = first(q);

    return ev && ev->expires <= now;
}

int pvt_sim_evq_run(struct pvt_sim_evq *q, int64_t now)
{
    struct pvt_sim_event *ev;
    int ran = 0;

    if (!q)
        return -1;
    if (!due(q, now))
        return 0;
    ev = pop(q);
    if (!due(q, now)) {
        /* the usual round: one event, run as the round would run it */
        ev->state = PVT_SIM_EVENT_IDLE;
        ev->fn(ev);
        return 1;
    }
    ev->state = PVT_SIM_EVENT_DUE;
    round_append(q, ev);
    while (due(q, now)) {
        ev = pop(q);
        ev->state = PVT_SIM_EVENT_DUE;
        round_append(q, ev);
    }
    /* a function may take any later event out of the round, or re-arm it:
     * the head is the truth after each */
    while ((ev = q->round_head) != NULL) {
        round_remove(q, ev);
        ev->state = PVT_SIM_EVENT_IDLE;
        ran++;
        ev->fn(ev);
    }
    return ran;
}

/*
 * The simulator's event queue: the model's own events (a hypervisor timer
 * firing, an interrupt delivered, a workload arrival, a cancellation, a
 * milestone) in true time. A binary heap of the events keyed by (time,
 * arming order): ties run in the order they were armed, so a run is
 * deterministic. It holds a handful of events per vCPU and one per
 * cancellable workload timer, so a heap of pointers beats a general timer
 * queue here (no clock, no device, no statistics). The model mostly arms
 * an event that comes before every other (an interrupt on its way, the
 * hypervisor timer) and then runs it: the earliest event may wait in a
 * slot in front of the heap, which such an arming and its run take
 * without a walk up or down the heap.
 *
 * Its runs are rounds, as the timer queue's: every event due at `now` is
 * collected first, then their functions run in order; an event a function
 * arms (even into the past) waits for the next round, and one it cancels
 * or re-arms is taken out of the round.
 *
 * Not thread-safe: one queue per world.
 */
#ifndef PVTIMER_SIM_EVENTS_H
#define PVTIMER_SIM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pvt_sim_event;
typedef void (*pvt_sim_event_fn)(struct pvt_sim_event *ev);

enum pvt_sim_event_state {
    PVT_SIM_EVENT_IDLE = 0,
    PVT_SIM_EVENT_QUEUED, /* in the heap */
    PVT_SIM_EVENT_DUE,    /* collected for the round running now */
};

struct pvt_sim_event {
    int64_t expires; /* when it was last armed for (kept after it ran) */
    uint64_t seq;    /* its arming's place in the queue's order */
    pvt_sim_event_fn fn;
    void *data;
    struct pvt_sim_event *next, *prev; /* the round (DUE) */
    uint32_t pos;                      /* its index in the heap (QUEUED) */
    enum pvt_sim_event_state state;
};

struct pvt_sim_evq {
    struct pvt_sim_event *front; /* NULL, or queued before the whole heap */
    struct pvt_sim_event **heap;
    uint32_t n, cap;
    uint64_t seq;
    struct pvt_sim_event *round_head, *round_tail;
};

/* An idle event that calls fn(ev) when it runs. Returns 0, or -1 when ev
 * or fn is NULL. */
int pvt_sim_event_init(struct pvt_sim_event *ev, pvt_sim_event_fn fn,
                       void *data);

/* An empty queue with room for `cap` events queued at once. Returns 0, or
 * -1 when q is NULL or out of memory. */
int pvt_sim_evq_init(struct pvt_sim_evq *q, size_t cap);
void pvt_sim_evq_free(struct pvt_sim_evq *q);

/* Room for `more` events queued at once beyond what was asked before, so
 * that pvt_sim_evq_arm need not grow the heap. Returns 0, or -1 (q NULL,
 * out of memory). */
int pvt_sim_evq_reserve(struct pvt_sim_evq *q, size_t more);

/* Arm ev for `expires` (below 0: 0), after every event armed before for
 * the same time; an armed or due event moves. Returns 0, or -1 (q or ev
 * NULL, ev without a function, out of memory: ev is then idle). */
int pvt_sim_evq_arm(struct pvt_sim_evq *q, struct pvt_sim_event *ev,
                    int64_t expires);

/* Take ev out of the queue or the round: 1 if it was in one, 0 if it was
 * idle, -1 when q or ev is NULL. */
int pvt_sim_evq_cancel(struct pvt_sim_evq *q, struct pvt_sim_event *ev);

/* The earliest queued event's time, INT64_MAX when none (or q NULL). */
int64_t pvt_sim_evq_earliest(const struct pvt_sim_evq *q);

/* Whether a round is running with events still to run. */
bool pvt_sim_evq_in_round(const struct pvt_sim_evq *q);

/* One round at `now`: returns how many events ran (-1 when q is NULL). */
int pvt_sim_evq_run(struct pvt_sim_evq *q, int64_t now);

#endif /* PVTIMER_SIM_EVENTS_H */

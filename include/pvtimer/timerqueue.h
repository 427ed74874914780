/*
 * pvtimer: the timer queue (hrtimer-like), never early.
 *
 * Timers are intrusive: the queue's links live in the caller's struct
 * pvt_timer, so arming never allocates. Timers are ordered by (expires,
 * seq), where seq is the arming order, so equal deadlines fire in the order
 * they were armed.
 *
 * The timers wait in a ladder (ladder.h), keyed by deadline: arming is
 * O(1), the earliest is known in O(1), a cancel is O(1) (O(log n)
 * amortised near the front) and an expiry O(log n) amortised.
 *
 * In high-resolution mode the queue owns one clockevent device and keeps it
 * programmed (through the device's strategy) for the earliest timer. On a
 * device event it reads the guest clock and runs only timers whose deadline
 * has passed; an event that finds nothing due re-programs and is counted as
 * spurious (or as a split, when it is the planned early wake of a wait
 * longer than the device's max_delta). A round runs the timers due at the
 * time it read, in deadline order, each taken out of the queue just before
 * its callback runs; a callback may cancel or re-arm itself or any other
 * timer, even with zero delay: a timer armed during a round for a
 * deadline the round has reached (re-armed into the past) waits, pending
 * (PVT_TIMER_EXPIRED), for the round's end and is run by a later round,
 * never by the same one. A device
 * event runs at most PVT_TQ_MAX_ROUNDS rounds; when timers keep expiring
 * faster than they run (a hang, as Linux calls it), the device is
 * programmed for now + min(time spent, 100 ms) and the rest waits.
 *
 * In low-resolution (periodic tick) mode the queue owns no device and the
 * tick runs it (pvt_tq_run_expired).
 *
 * Callbacks run with the guest clock at or past the timer's deadline, in
 * the clock the timer was set on (the guest monotonic clock): never early.
 *
 * Several vCPUs. A queue belongs to one vCPU, its owner, as its device
 * does (each vCPU has its own clockevent device and its own queue): every
 * function below runs in the owner's context (its thread, or its
 * interrupts), serialised there, except pvt_tq_arm_remote, which any vCPU
 * may call at any time, concurrently with the owner and with other remote
 * armers. A timer for another vCPU is armed by a remote enqueue followed
 * by a reprogramming request to the owner: pvt_tq_arm_remote pushes the
 * timer onto the queue's inbox (a lock-free list: one compare-and-swap)
 * and, when the owner's device might otherwise wake too late for it, calls
 * the queue's kick callback (the owner's IPI); the owner drains the inbox
 * into its ladder, in arming order and with each timer's own deadline, at
 * the start of every call it makes on the queue and in pvt_tq_kicked (the
 * IPI's handler), then re-programs its device if the earliest moved.
 * Linux's hrtimers offer the other model, "enqueue locally unless pinned":
 * the timer goes into the arming CPU's own queue under that queue's lock
 * and migrates with it. The core has no locks, and in this model nothing
 * but the owner ever touches a queue's container, its device or its
 * statistics: the ladder and the device stay single-threaded code, and
 * the only shared state is the inbox's head and the published programmed
 * deadline, both single words read and written atomically. A timer armed
 * for vCPU B also runs on B, which is what a caller arming it there asked
 * for; "locally" would run it on the arming vCPU instead.
 *
 * The kick rule: the remote armer reads the deadline the owner's device
 * is programmed for (q->programmed, which the owner publishes, PVT_TIME_MAX
 * when none) after its push, and kicks when its deadline is earlier. Not
 * otherwise: the owner drains at its next event anyway, which comes no
 * later than the new deadline. The owner, after publishing a new
 * programmed deadline, looks at the inbox again and drains what arrived
 * meanwhile (both sides sequentially consistent: either the owner sees the
 * push or the armer sees the new deadline), so a timer is never left
 * waiting past its deadline. A queue without a device (low-resolution
 * mode) publishes PVT_TIME_MAX: every remote arming kicks.
 */
#ifndef PVTIMER_TIMERQUEUE_H
#define PVTIMER_TIMERQUEUE_H

#include "pvtimer/base.h"
#include "pvtimer/clockevent.h"
#include "pvtimer/histogram.h"
#include "pvtimer/ladder.h"
#include "pvtimer/timekeeping.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pvt_timer;
struct pvt_timer_queue;

/* The callback: runs once per expiry, with the timer idle (re-armable). */
typedef void (*pvt_timer_fn)(struct pvt_timer *t);

enum pvt_timer_state {
    PVT_TIMER_IDLE = 0, /* not armed */
    PVT_TIMER_QUEUED,   /* armed, waiting */
    PVT_TIMER_EXPIRED,  /* armed during an expiry round for a deadline the
                           round has reached: due, waits for a later round
                           (pending) */
    PVT_TIMER_REMOTE,   /* armed by pvt_tq_arm_remote, in the queue's inbox
                           (pending: the owner has not drained it yet) */
};

struct pvt_timer {
    /* ---- set by pvt_timer_init ---- */
    pvt_timer_fn fn;
    void *data; /* the caller's */

    /* ---- owned by the queue ---- */
    union {
        struct pvt_ladder_node node; /* in the queue's ladder, by deadline;
                                        out of it, node.next / prev link
                                        the late list (EXPIRED) or the
                                        inbox (REMOTE) */
        int64_t expires;             /* the deadline (guest ns): node.key */
    };
    struct pvt_timer_queue *queue; /* while not idle */
    enum pvt_timer_state state;
};

_Static_assert(offsetof(struct pvt_ladder_node, key) == 0,
               "pvt_timer's expires is its node's key");

/* The rungs a queue has by default (pvt_tq_init): the ladder's depth. */
#define PVT_TQ_RUNGS 8

#define PVT_TQ_MAX_ROUNDS  3 /* expiry rounds per event */
#define PVT_TQ_HANG_MAX_NS (100 * PVT_NSEC_PER_MSEC) /* hang back-off cap */

struct pvt_tq_stats {
    uint64_t armed;           /* pvt_tq_arm calls */
    uint64_t fired;           /* callbacks run (counted, as lateness, at a
                                 round's end) */
    uint64_t cancelled;       /* pending timers cancelled */
    uint64_t interrupts;      /* device events handled */
    uint64_t spurious;        /* events that found nothing due (device early) */
    uint64_t splits;          /* planned early wakes of waits > max_delta */
    uint64_t retries;         /* extra rounds within one event */
    uint64_t hangs;           /* events that gave up after PVT_TQ_MAX_ROUNDS */
    uint64_t program_errors;  /* device programming failed (gave up) */
    uint64_t remote;          /* timers drained from the inbox (also in
                                 armed) */
    struct pvt_hist lateness; /* callback run time - deadline, ns */
    struct pvt_shist device_error; /* event time - programmed target, ns */
};

/* The kick callback: ask q's owner to call pvt_tq_kicked(q) (an IPI).
 * Called on the remote armer's vCPU, from pvt_tq_arm_remote. */
typedef void (*pvt_tq_kick_fn)(struct pvt_timer_queue *q, void *ctx);

/*
 * A queue. Memory: the fixed part and the ladder's rungs, PVT_TQ_RUNGS of
 * them held by value even when pvt_tq_init_rungs gives it others: on LP64,
 * sizeof is 76,136 bytes, of which 74,176 are the 8 rungs (9,272 each, see
 * ladder.h), 760 the rest of the ladder and 1,032 the two histograms of
 * stats; a timer is 80 bytes (tq_memory in tests/core/test-timerqueue.c
 * checks these figures against sizeof).
 */
struct pvt_timer_queue {
    struct pvt_timekeeper *tk;
    struct pvt_clockevent *dev; /* owned device (high-res mode) or NULL */
    struct pvt_ladder ladder;   /* queued timers; its root is the earliest */
    struct pvt_ladder_rung rung[PVT_TQ_RUNGS]; /* the ladder's by default */
    int64_t programmed; /* what the device is set for, or MAX; written by
                           the owner, read by remote armers (atomic) */
    struct pvt_timer *late_head; /* armed during a round for a deadline it
                                    has reached: wait for its end */
    struct pvt_timer *late_tail;
    int64_t late_min;  /* the earliest deadline there (when not empty) */
    int64_t round_now; /* the time the current round runs to */
    bool in_round;     /* a round's callbacks are running */
    bool in_event;     /* inside pvt_tq_event: program once, at the end */
    bool hang_pending; /* a hang back-off is programmed: keep it, as Linux's
                          hang_detected, until the next event */
    struct pvt_timer *inbox; /* remotely armed, newest first (atomic) */
    pvt_tq_kick_fn kick;     /* the owner's IPI, or NULL */
    void *kick_ctx;
    struct pvt_tq_stats stats;
};

/* Initialise a timer with its callback (and the caller's data); the timer
 * must not be pending (initialising a pending timer corrupts its queue).
 * Returns 0 or -PVT_EINVAL (NULL t or fn). */
int pvt_timer_init(struct pvt_timer *t, pvt_timer_fn fn, void *data);

/* Is the timer armed (locally, remotely, or for a later round: EXPIRED)?
 * From another vCPU than the one the timer is with, a snapshot. */
bool pvt_timer_pending(const struct pvt_timer *t);

/* An empty queue reading time from tk, owning no device, its ladder on
 * the PVT_TQ_RUNGS rungs it holds. Returns 0 or -PVT_EINVAL (NULL q or tk,
 * tk without a clocksource). */
int pvt_tq_init(struct pvt_timer_queue *q, struct pvt_timekeeper *tk);

/*
 * pvt_tq_init with the ladder on the caller's rungs[0 .. nrungs - 1]
 * instead (more rungs, for many timers crowding together, or rungs kept
 * elsewhere), which must stay valid and unshared while q is in use; q's
 * own rungs are then unused. Timers run in the same order whatever the
 * rungs. Returns 0 or -PVT_EINVAL (as pvt_tq_init, or NULL rungs, nrungs
 * 0 or above PVT_LADDER_MAX_RUNGS).
 */
int pvt_tq_init_rungs(struct pvt_timer_queue *q, struct pvt_timekeeper *tk,
                      struct pvt_ladder_rung *rungs, unsigned int nrungs);

/*
 * Arm (or re-arm) t to fire at guest time `expires`. A deadline in the
 * past fires at the next opportunity; negative deadlines are taken as 0.
 * Re-arming a pending timer moves it; a timer armed remotely
 * on q and not yet drained is drained first, then moved. Returns 0,
 * -PVT_EINVAL (NULL, uninitialised timer), -PVT_EBUSY (t pending on
 * another queue, or being armed remotely on q at this very moment).
 * Context: q's owner.
 */
int pvt_tq_arm(struct pvt_timer_queue *q, struct pvt_timer *t, int64_t expires);

/* Arm t delta_ns after the guest clock's now, the sum saturating at
 * PVT_TIME_MAX. Returns as pvt_tq_arm, or -PVT_EINVAL for delta_ns < 0. */
int pvt_tq_arm_after(struct pvt_timer_queue *q, struct pvt_timer *t,
                     int64_t delta_ns);

/*
 * Cancel t: it will not run (also when it is due in the current round,
 * or waits for the round's end, or was armed remotely on q and still in the inbox: the inbox is
 * drained first). Returns 1 if it was pending, 0 if it was idle,
 * -PVT_EINVAL (NULL), -PVT_EBUSY (pending on another queue, which is what
 * a vCPU that armed t remotely gets when it cancels it on its own queue:
 * the timer is the owner's until it runs or the owner cancels it; or t is
 * being armed remotely on q at this very moment). Context: q's owner only;
 * never from another vCPU.
 */
int pvt_tq_cancel(struct pvt_timer_queue *q, struct pvt_timer *t);

/* The earliest deadline, or PVT_TIME_MAX when empty (or q is NULL); timers
 * still in the inbox are not counted. Context: q's owner. */
int64_t pvt_tq_earliest(const struct pvt_timer_queue *q);

/*
 * Take dev (registered, oneshot-capable) for high-resolution mode: the
 * queue binds itself as its owner (pvt_clockevent_bind), puts it in
 * ONESHOT state and programs it for the earliest timer. NULL releases the
 * device (the queue goes back to being run by the tick). Returns 0,
 * -PVT_EINVAL (NULL q, unregistered dev, another owner), -PVT_EOPNOTSUPP
 * (no oneshot), or the device's error. Context: serialised against the
 * device's interrupt (as pvt_clockevent_bind).
 */
int pvt_tq_set_device(struct pvt_timer_queue *q, struct pvt_clockevent *dev);

/*
 * The high-resolution event handler (bound by pvt_tq_set_device as the
 * device's handler; call it directly only for tests). Returns the number
 * of callbacks run, -PVT_EINVAL (NULL q, no device) or -PVT_EBUSY (called
 * from a callback of q's round: rounds do not nest). Context: the device's
 * interrupt.
 */
int pvt_tq_event(struct pvt_timer_queue *q);

/*
 * Run the timers due now, once (one round), without touching any device:
 * the periodic tick calls this in low-resolution mode. Returns the number
 * of callbacks run, -PVT_EINVAL (NULL q) or -PVT_EBUSY (called from a
 * callback of q's round: rounds do not nest).
 */
int pvt_tq_run_expired(struct pvt_timer_queue *q);

/*
 * Re-program the owned device for the earliest timer now (after a clock
 * jump, a strategy change or a resume). Returns 0, -PVT_EINVAL, or the
 * device's error.
 */
int pvt_tq_reprogram(struct pvt_timer_queue *q);

/*
 * Set the callback pvt_tq_arm_remote calls to ask q's owner to drain its
 * inbox (NULL: none; the owner then drains only at its next call on q).
 * Context: the owner, before any other vCPU arms on q (not concurrently
 * with pvt_tq_arm_remote). Returns 0 or -PVT_EINVAL (NULL q).
 */
int pvt_tq_set_kick(struct pvt_timer_queue *q, pvt_tq_kick_fn kick, void *ctx);

/*
 * Arm t on q, a queue of another vCPU (or of this one), to fire at guest
 * time `expires` (negative taken as 0), without touching q's ladder or
 * device: t is pushed onto q's inbox (state PVT_TIMER_REMOTE, pending) and
 * the owner enqueues it when it drains the inbox. Calls q's kick callback
 * when the deadline is earlier than what the owner's device is programmed
 * for (see the kick rule above), not otherwise. t must be idle and the
 * caller's alone (nobody else arming or cancelling it); from then on it is
 * the owner's until its callback runs (on the owner's vCPU) or the owner
 * cancels it. Returns 0, -PVT_EINVAL (NULL q or t, uninitialised timer),
 * -PVT_EBUSY (t not idle). Context: any vCPU, any context, concurrently
 * with q's owner and with other remote armers; lock-free.
 */
int pvt_tq_arm_remote(struct pvt_timer_queue *q, struct pvt_timer *t,
                      int64_t expires);

/*
 * The kick's handler, on q's owner (its IPI): drain the inbox into the
 * ladder and re-program the device if the earliest moved. Runs no
 * callbacks (the device's event does). Returns the number of timers
 * drained, or -PVT_EINVAL (NULL q). Context: q's owner, as pvt_tq_event.
 */
int pvt_tq_kicked(struct pvt_timer_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_TIMERQUEUE_H */

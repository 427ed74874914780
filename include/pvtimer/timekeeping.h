/*
 * pvtimer: the guest's monotonic clock.
 *
 * The timekeeper turns the current clocksource's counter into guest
 * monotonic ns, anchored at (cycle_last, base_ns):
 *
 *     now = base_ns + ((delta * mult + frac) >> shift),
 *     delta = (read() - cycle_last) & mask
 *
 * where frac (< 2^shift) carries the sub-ns remainder of earlier
 * accumulations, so accumulating never loses time. The product is formed in
 * 96 bits, so a long interval cannot overflow; a counter narrower than 64
 * bits must be accumulated (pvt_timekeeper_update) at least every half of
 * its range, which now() also does by itself when it sees a delta past a
 * quarter of the range.
 *
 * The clock never goes backwards: a reading below the last one returned
 * (a counter that stepped back, a delta past half the range) returns the
 * last value. Switching clocksource is continuous: the new source takes
 * over from the current value. Whoever needs to hear of a switch or a
 * resume adds a listener; the timekeeper knows nothing of what listens.
 *
 * Calling context: one timekeeper per guest, read by every vCPU at once.
 * Readers take no lock: the anchor is guarded by a sequence count, which
 * the functions that change it (update, set_clocksource, resume) make odd
 * while they write, as Linux's timekeeping does, and readers retry while
 * it is odd or changed, at most PVT_TK_MAX_RETRIES times, after which they
 * return the last value any reader was returned (counted in stale), so a
 * writer stopped half way (a preempted vCPU, or the code an interrupt
 * interrupted) never hangs a reader. The never-backwards guard is per
 * reading, without a locked instruction: a vCPU's readings never go
 * backwards; across vCPUs the clock is as monotonic as the clocksource
 * (the pvclock reader's own guard, pvclock.h). The counters are atomic.
 * Per function:
 * - now(), ns_to_cycles(): any vCPU, any context (interrupts included),
 *   concurrently with each other and with update(), set_clocksource(),
 *   resume() and the listener functions on other vCPUs.
 * - update(): as now(), concurrently with other update()s too: writing is
 *   a try-lock, and an update() that finds the anchor being written leaves
 *   the fold to the writer and only reads.
 * - set_clocksource(), resume(), pvt_timekeeper_follow(): concurrently
 *   with readers and update() on any vCPU; serialised by the caller
 *   against each other and against the listener functions (they walk the
 *   listeners). They wait for the write side a bounded time (-PVT_EAGAIN
 *   if it never frees: a holder they interrupted on the same vCPU). resume()
 *   re-anchors on the counter's value: a reading on another vCPU between a
 *   jump of the counter and resume() sees the jump, so a guest calls it
 *   before its other vCPUs run again (as a kernel resumes timekeeping with
 *   one CPU up).
 * - add_listener(), remove_listener(): serialised by the caller as above;
 *   concurrently with readers and update().
 * - init(): before anything else, alone.
 * The fields of struct pvt_timekeeper are for reading by single-threaded
 * code and tests; concurrent code goes through the functions.
 */
#ifndef PVTIMER_TIMEKEEPING_H
#define PVTIMER_TIMEKEEPING_H

#include "pvtimer/base.h"
#include "pvtimer/clocksource.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a listener is told. */
enum pvt_timekeeper_event {
    PVT_TK_CLOCKSOURCE, /* the guest switched clocksource */
    PVT_TK_RESUME,      /* the clock resumed after a pause or migration */
};

struct pvt_timekeeper_listener;

/* Called after the change, in the context of the call that made it (with
 * the caller's serialisation held). It may read the timekeeper but must
 * not add or remove listeners. */
typedef void (*pvt_timekeeper_listener_fn)(struct pvt_timekeeper_listener *l,
                                           enum pvt_timekeeper_event what);

/* Intrusive: embedded in the listener's own struct (recover it from l). */
struct pvt_timekeeper_listener {
    pvt_timekeeper_listener_fn fn;
    struct pvt_timekeeper_listener *next; /* the timekeeper's list */
};

/* Sequence-count retries of a reader, or of a writer waiting for the write
 * side, before it gives up (see above). */
#define PVT_TK_MAX_RETRIES (1u << 20)

struct pvt_timekeeper {
    /* ---- the anchor: written under seq, read in snapshots ---- */
    struct pvt_clocksource *cs;
    uint64_t cycle_last;    /* counter value at base_ns */
    int64_t base_ns;        /* guest ns at cycle_last */
    uint64_t frac;          /* remainder, in 2^-shift ns, < 2^shift */
    uint32_t seq;           /* odd while the anchor is written */
    uint32_t cs_generation; /* bumped at every clocksource switch */
    /* ---- atomic ---- */
    int64_t last_ns;    /* the last value now() returned (see the guard) */
    uint64_t backwards; /* readings clamped by the guard */
    uint64_t stale;     /* readings that gave up on a busy writer */
    /* ---- changed under the caller's serialisation ---- */
    struct pvt_timekeeper_listener
        *listeners; /* told of switches and resumes */
};

/*
 * Start keeping time on cs (initialised, see pvt_clocksource_init) with the
 * clock reading start_ns now (start_ns >= 0; a guest boots at 0).
 * Returns 0 or -PVT_EINVAL. Context: before any other call on tk, alone.
 */
int pvt_timekeeper_init(struct pvt_timekeeper *tk, struct pvt_clocksource *cs,
                        int64_t start_ns);

/* Guest monotonic ns now (>= 0), or -PVT_EINVAL for a NULL or
 * uninitialised tk. Never below a value returned before on any vCPU (a
 * reading that completed before this one started). Context: any (see
 * above); lock-free, bounded. */
int64_t pvt_timekeeper_now(struct pvt_timekeeper *tk);

/*
 * Fold the time elapsed since the anchor into it (read once). Call at
 * least every half of the counter's range (the tick does). Returns the new
 * now, or -PVT_EINVAL for a NULL or uninitialised tk. Context: any, also
 * concurrently with itself (the fold is a try-lock). now() folds by itself
 * too when it sees a delta past a quarter of the range.
 */
int64_t pvt_timekeeper_update(struct pvt_timekeeper *tk);

/*
 * Switch to clocksource cs, continuing from the current time, and tell
 * every listener (PVT_TK_CLOCKSOURCE), after the switch is visible to
 * readers. Switching to the current one does nothing. Returns 0,
 * -PVT_EINVAL (NULL or uninitialised cs), -PVT_EAGAIN (the write side
 * stayed busy; nothing changed). Context: serialised by the caller against
 * resume and the listener functions; concurrently with readers.
 */
int pvt_timekeeper_set_clocksource(struct pvt_timekeeper *tk,
                                   struct pvt_clocksource *cs);

/*
 * After a pause or a live migration: continue from the last value returned
 * (a kernel's monotonic clock does not count time it was not running),
 * re-anchored on the counter's current value, so that a jump of the counter
 * meanwhile (a new host's clock) is not taken as elapsed time. Every
 * listener is told PVT_TK_RESUME. Returns 0, -PVT_EINVAL or -PVT_EAGAIN
 * (as set_clocksource). Context: as set_clocksource, before the guest's
 * other vCPUs read the clock again (see above).
 */
int pvt_timekeeper_resume(struct pvt_timekeeper *tk);

/*
 * Add l (fn set; not on any list) to the listeners: the most recently
 * added is told first. l must stay valid until removed. Returns 0,
 * -PVT_EINVAL (NULL, no fn, uninitialised tk), or -PVT_EBUSY (l is already
 * on this timekeeper's list). Context: serialised by the caller against
 * set_clocksource, resume and remove_listener.
 */
int pvt_timekeeper_add_listener(struct pvt_timekeeper *tk,
                                struct pvt_timekeeper_listener *l);

/*
 * Take l off the listeners: it is told nothing more. Returns 0,
 * -PVT_EINVAL (NULL), or -PVT_ENOENT (l is not on the list). Context: as
 * add_listener.
 */
int pvt_timekeeper_remove_listener(struct pvt_timekeeper *tk,
                                   struct pvt_timekeeper_listener *l);

/*
 * A pvt_cs_registry_switch_fn for pvt_cs_registry_init(reg, ..., tk): follows the
 * registry's choice of clocksource. ctx is the timekeeper. Context: as
 * set_clocksource (whose failure it cannot report: the registry's switch
 * callback returns nothing).
 */
void pvt_timekeeper_follow(void *ctx, struct pvt_clocksource *old,
                           struct pvt_clocksource *new_cs);

/*
 * The counter value of the current clocksource at which the guest clock
 * will read at least ns (rounded up: never early, late by less than the
 * cycles of 1 ns).
 * A time not after the anchor gives cycle_last. The result is a full
 * counter value, wrapped to the counter's mask. Returns 0, -PVT_EINVAL,
 * -PVT_ERANGE when ns is further than half the counter's range ahead (the
 * value would be ambiguous after wrapping), or -PVT_EAGAIN when a writer
 * kept the anchor busy for PVT_TK_MAX_RETRIES attempts. Context: as now().
 */
int pvt_timekeeper_ns_to_cycles(const struct pvt_timekeeper *tk, int64_t ns,
                                uint64_t *cycles);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_TIMEKEEPING_H */

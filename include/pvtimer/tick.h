/*
 * pvtimer: the tick, jiffies, and the switch to high resolution.
 *
 * A guest boots with a periodic tick at HZ: on a periodic-capable device,
 * or emulated on a oneshot-only device by programming the next period at
 * every tick (next = last programmed deadline + period, as Linux does).
 * Each tick adds one jiffy, folds time into the timekeeper and runs the
 * timer queue's due timers (low resolution: timers are tick-granular). When
 * the emulated tick finds its next deadline already past, it skips the
 * missed periods and, only if the current clocksource is valid for high-res
 * (so that time is known independently of ticks), accounts them as jiffies;
 * on the jiffies clocksource itself they are simply lost, which is why the
 * jiffies clock loses time when ticks are late or missing. A deadline the
 * device refuses while it is still ahead is no missed period: it is
 * programmed forced (retried at min_delta, bounded) and nothing is counted.
 *
 * At every tick the tick checks whether it can go high-res: the current
 * clocksource is continuous and valid for high-res and the device can do
 * oneshot. It then hands the device to the timer queue, tells the device's
 * strategy of the mode change, asks the registry (if given) to keep only
 * high-res clocksources, and becomes a timer in the queue that updates
 * jiffies from the clock every period. Armed timers stay armed.
 *
 * The tick may also run on a device of its own (the hypervisor's periodic
 * timer, as Xen guests did) while the timer queue already owns a oneshot
 * device: the tick then only counts jiffies, the queue runs itself, and
 * the switch stops the tick's device and moves the tick into the queue.
 *
 * Tickless idle (high-res mode): entering idle cancels the tick timer, so
 * the queue programs the device for the next real timer; a wait longer than
 * the device's max_delta is split into several programmings by the
 * clockevent layer's clamp. On a clocksource narrower than 64 bits the
 * tick's timer stays armed a quarter of the counter's range ahead and
 * only reads the clock (as Linux bounds idle by max_idle_ns): unread for
 * more than half its range, a counter that wrapped would look behind and
 * whole wraps of time would be lost. Leaving idle catches jiffies up from
 * the clock and restarts the tick on its period grid.
 *
 * Calling context: one tick per vCPU, not locked. The tick's handlers run
 * in its device's interrupt; init, check_highres and the idle calls run
 * on the tick's vCPU, serialised with that interrupt (the prototypes say
 * which).
 */
#ifndef PVTIMER_TICK_H
#define PVTIMER_TICK_H

#include "pvtimer/base.h"
#include "pvtimer/clockevent.h"
#include "pvtimer/clocksource.h"
#include "pvtimer/timekeeping.h"
#include "pvtimer/timerqueue.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pvt_tick_mode {
    PVT_TICK_PERIODIC, /* the device ticks by itself */
    PVT_TICK_EMULATED, /* periodic, emulated on a oneshot device */
    PVT_TICK_HIGHRES,  /* oneshot: the tick is a timer in the queue */
};

struct pvt_tick_stats {
    uint64_t ticks;        /* tick events handled */
    uint64_t jiffies_late; /* missed periods accounted from the clock */
    uint64_t jiffies_lost; /* missed periods never accounted (jiffies cs) */
    uint64_t idle_enters, idle_exits;
    uint64_t program_errors;
};

struct pvt_tick {
    struct pvt_timekeeper *tk;
    struct pvt_timer_queue *q;
    struct pvt_clockevent *dev;
    struct pvt_jiffies *jiffies;
    struct pvt_cs_registry *reg; /* may be NULL */
    uint64_t period_ns;
    enum pvt_tick_mode mode;
    bool stopped;        /* tickless idle: the tick does not run (its timer only
                     reads a narrow clock) */
    int64_t last_update; /* guest ns of the last jiffy */
    int64_t highres_at;  /* guest ns of the switch, or -1 */
    struct pvt_timer sched; /* the tick in high-res mode */
    struct pvt_tick_stats stats;
};

/*
 * Start the periodic tick on dev (registered with tk, owned by nobody) at
 * the rate of `jiffies` (initialised, see pvt_jiffies_init), running the
 * timers of q; reg (may be NULL) is told to require high-res clocksources
 * once the tick goes high-res. Returns 0, -PVT_EINVAL (NULL argument,
 * unregistered device, q or jiffies not initialised), -PVT_EBUSY (dev has
 * an owner, or is the queue's device), -PVT_EOPNOTSUPP (dev can neither tick nor fire once), or the
 * device's error. The tick binds itself as the device's owner
 * (pvt_clockevent_bind). Context: serialised against the device's
 * interrupt, as binding is.
 */
int pvt_tick_init(struct pvt_tick *tick, struct pvt_timekeeper *tk,
                  struct pvt_timer_queue *q, struct pvt_clockevent *dev,
                  struct pvt_jiffies *jiffies, struct pvt_cs_registry *reg);

/*
 * Switch to high-res mode now if the conditions hold (the tick also checks
 * by itself at every tick). Returns 1 if it switched, 0 if not (already
 * high-res, or the clocksource or device does not qualify), or a negative
 * error from the device; the tick then stays as it was (the queue lets go
 * of the device, which is put back in periodic state or re-programmed for
 * the emulated tick's deadline; a driver refusing that is counted in
 * stats.program_errors). Context: the tick's device interrupt (the tick
 * calls it there), or serialised against it and the queue's device.
 */
int pvt_tick_check_highres(struct pvt_tick *tick);

/*
 * Idle: stop the tick (high-res mode only) / restart it. Entering twice or
 * leaving when not stopped does nothing. Return 0, -PVT_EINVAL, or
 * -PVT_EOPNOTSUPP (enter in a periodic mode). Context: the vCPU's idle
 * path, with the queue's device interrupt held off.
 */
int pvt_tick_idle_enter(struct pvt_tick *tick);
int pvt_tick_idle_exit(struct pvt_tick *tick);

/* A mode's name ("highres"), or "invalid". */
const char *pvt_tick_mode_name(enum pvt_tick_mode mode);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_TICK_H */

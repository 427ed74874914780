/*
 * pvtimer: programming strategies, the ways of turning a guest deadline
 * (guest monotonic ns) into what a clockevent device takes.
 *
 *   abs-boot-offset  device time = guest deadline + (device - guest) offset
 *                    taken once, when the strategy is attached (boot).
 *                    Wrong by all the drift since boot: grows without bound.
 *   abs-mode-offset  the same, the offset re-taken at every device mode
 *                    change and clocksource switch. Wrong by the drift since
 *                    the last change (e.g. all of boot).
 *   relative         the delta is handed to the device (set_next_event):
 *                    the hypervisor adds *its* now when it handles the call,
 *                    so a vCPU preempted before the call fires late.
 *   delta            device time = device now + (guest deadline - guest
 *                    now), read afresh at every programming. Error is local:
 *                    drift x delta, never cumulative.
 *   coupled          exact absolute conversion when the device counts the
 *                    current clocksource's cycles (dev->coupled_cs), else
 *                    delta.
 *   compensated      delta, the delta scaled by an online estimate of the
 *                    device clock's rate against the guest clock (a 32-bit
 *                    mult/shift), the correction held so it never aims
 *                    earlier than delta by more than a bound. Unscaled
 *                    while the estimator is not locked (still paired with
 *                    the midpoint of its guest-device-guest reads); plain
 *                    delta when the device does not count ns. Its state
 *                    is the caller's estimator, a struct pvt_drift
 *                    (drift.h), given to pvt_clockevent_set_strategy().
 *
 * All of them aim at the clamped target the clockevent layer gives them,
 * round towards later (a request is never earlier than the guest asked, in
 * the guest's own view of the conversion) and saturate instead of wrapping.
 * Strategies are constant objects, so one serves any number of devices and
 * guests. Their per-device state is the caller's, handed over with the
 * strategy (a strategy with PVT_STRATEGY_STATE names the type it takes);
 * the two offset strategies keep their offset in the device itself, so
 * that every built-in strategy but compensated needs nothing from the
 * caller.
 *
 * Which strategies are linked: strategy.c holds the offset strategies,
 * relative, delta and coupled; strategy-compensated.c holds compensated,
 * which needs drift.c; strategies.c holds the table of all six that
 * pvt_strategies() and pvt_strategy_find() use (linking it links them all).
 * A guest that wants no estimator links strategy.c alone and names its
 * strategy directly.
 *
 * Calling context: program and notify run in the context of the
 * clockevent call that invokes them (see clockevent.h); set_strategy is
 * serialised like registration; the table functions touch no shared state.
 */
#ifndef PVTIMER_STRATEGY_H
#define PVTIMER_STRATEGY_H

#include "pvtimer/base.h"
#include "pvtimer/clockevent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a strategy needs of a device. */
#define PVT_CE_NEEDS_RELATIVE (1u << 0) /* set_next_event */
#define PVT_CE_NEEDS_ABSOLUTE (1u << 1) /* set_next_abs + read_timebase */

/*
 * What a strategy is, for callers that treat strategies alike:
 *   STATE      needs a state from the caller (pvt_clockevent_set_strategy)
 *   ESTIMATOR  ... and that state is a struct pvt_drift (drift.h)
 *   COUPLED    exact only while dev->coupled_cs is the current clocksource
 *   OFFSET     aims by an offset taken once in a while: its error grows
 *              with the drift since
 */
#define PVT_STRATEGY_STATE     (1u << 0)
#define PVT_STRATEGY_ESTIMATOR (1u << 1)
#define PVT_STRATEGY_COUPLED   (1u << 2)
#define PVT_STRATEGY_OFFSET    (1u << 3)
/*
 *   PAIRED     reads the guest clock and the device's timebase together at
 *              every programming: on a device that pairs them (read_paired,
 *              clockevent.h) the clockevent layer takes its own reading of
 *              the guest clock paired, and the strategy aims from that pair
 *              (program_pair: pvt_clockevent_program reads the counter
 *              once); such a strategy must have a program_pair op
 */
#define PVT_STRATEGY_PAIRED (1u << 4)

struct pvt_strategy {
    const char *name;    /* "delta" */
    const char *summary; /* one line for --help and reports */
    uint32_t needs;      /* PVT_CE_NEEDS_*: device time is absolute when
                            it needs PVT_CE_NEEDS_ABSOLUTE */
    uint32_t flags;      /* PVT_STRATEGY_* */
    /*
     * Program dev to fire at guest time `target`: later than the guest
     * time the programming started from, by a delta already clamped to the
     * device's limits. A strategy reads what else it needs (the clocks,
     * pvt_clockevent_strategy_state(dev)). Returns 0, or the device's
     * error (-PVT_ETIME when it refuses).
     */
    int (*program)(struct pvt_clockevent *dev, int64_t target);
    /*
     * PVT_STRATEGY_PAIRED only (NULL otherwise): program as program does,
     * from the guest time gnow and the device's timebase dnow that the
     * clockevent layer read together (read_paired; or back to back, guest
     * first, when the paired clocksource is not the current one), gnow
     * being the time target was clamped against. Instead of program for
     * every programming that starts with such a reading; program still
     * serves the others (a forced minimum delta re-reads the clocks).
     */
    int (*program_pair)(struct pvt_clockevent *dev, int64_t target,
                        int64_t gnow, uint64_t dnow);
    /* React to a change (may be NULL). now is the guest time. */
    void (*notify)(struct pvt_clockevent *dev, enum pvt_clockevent_notify what,
                   int64_t now);
    /* Check the state given to set_strategy (may be NULL: any non-NULL
     * state is taken). Returns 0 or a negative error. */
    int (*check_state)(const void *state);
};

extern const struct pvt_strategy pvt_strategy_abs_boot_offset;
extern const struct pvt_strategy pvt_strategy_abs_mode_offset;
extern const struct pvt_strategy pvt_strategy_relative;
extern const struct pvt_strategy pvt_strategy_delta;
extern const struct pvt_strategy pvt_strategy_coupled;
extern const struct pvt_strategy pvt_strategy_compensated;

/* The built-in strategies, in the order of the README's table
 * (strategies.c). count may be NULL. */
const struct pvt_strategy *const *pvt_strategies(size_t *count);

/* Look a built-in strategy up by name; NULL if unknown or name is NULL. */
const struct pvt_strategy *pvt_strategy_find(const char *name);

/*
 * Give a registered device a strategy and its state: state must be given
 * (and pass s->check_state) when s->flags has PVT_STRATEGY_STATE, and is
 * ignored (not kept) otherwise, so a caller may hand its estimator to
 * whichever strategy it picks. The state must stay valid while the device
 * uses the strategy. The strategy is then told PVT_CE_NOTIFY_ATTACH (the
 * offset strategies take their offset, compensated resets its estimator).
 * Returns 0, -PVT_EINVAL (NULL, unregistered device, strategy without a
 * program op, a PAIRED one without program_pair, state missing or
 * refused), -PVT_EOPNOTSUPP (the device lacks
 * what the strategy needs); the device keeps its strategy on error.
 * Context: serialised (as registration).
 */
int pvt_clockevent_set_strategy(struct pvt_clockevent *dev,
                                const struct pvt_strategy *s, void *state);

/* The device's strategy, or NULL (none, or NULL dev). */
const struct pvt_strategy *pvt_clockevent_strategy(
    const struct pvt_clockevent *dev);

/* The state given with the strategy (NULL for a stateless one, or a NULL
 * dev): what a strategy's program and notify read. */
void *pvt_clockevent_strategy_state(const struct pvt_clockevent *dev);

/*
 * The offset an offset strategy aims by: guest ns and device time taken
 * together. Returns 0, -PVT_EINVAL (NULL), or -PVT_ENOENT (the device's
 * strategy has taken no offset).
 */
int pvt_clockevent_get_offset(const struct pvt_clockevent *dev,
                              int64_t *guest_base, uint64_t *device_base);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_STRATEGY_H */

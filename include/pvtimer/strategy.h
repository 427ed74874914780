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
 *                    delta when the device has no estimator
 *                    (pvt_drift_attach, drift.h) or does not count ns.
 *
 * All of them aim at the clamped target the clockevent layer gives them,
 * round towards later (a request is never earlier than the guest asked, in
 * the guest's own view of the conversion) and saturate instead of wrapping.
 * Strategies are stateless objects; their per-device state lives in
 * dev->sstate, so one strategy serves any number of devices and guests.
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

struct pvt_ce_strategy {
    const char *name;    /* "delta" */
    const char *summary; /* one line for --help and reports */
    uint32_t needs;      /* PVT_CE_NEEDS_* */
    /*
     * Program dev to fire at guest time `target` (> now, already clamped
     * to the device's limits; delta_ns = target - now). Returns 0, or the
     * device's error (-PVT_ETIME when it refuses).
     */
    int (*program)(struct pvt_clockevent *dev, int64_t now, int64_t target,
                   uint64_t delta_ns);
    /* React to a change (may be NULL). now is the guest time. */
    void (*notify)(struct pvt_clockevent *dev, enum pvt_ce_notify what,
                   int64_t now);
};

extern const struct pvt_ce_strategy pvt_strategy_abs_boot_offset;
extern const struct pvt_ce_strategy pvt_strategy_abs_mode_offset;
extern const struct pvt_ce_strategy pvt_strategy_relative;
extern const struct pvt_ce_strategy pvt_strategy_delta;
extern const struct pvt_ce_strategy pvt_strategy_coupled;
extern const struct pvt_ce_strategy pvt_strategy_compensated;

/* The built-in strategies, in the order of the table in DESIGN.md. */
const struct pvt_ce_strategy *const *pvt_strategies(size_t *count);

/* Look a strategy up by name; NULL if unknown or name is NULL. */
const struct pvt_ce_strategy *pvt_strategy_find(const char *name);

/*
 * Give a registered device a strategy; it is told PVT_CE_NOTIFY_ATTACH (the
 * offset strategies take their offset then). Returns 0, -PVT_EINVAL (NULL,
 * unregistered device, strategy without a program op), -PVT_EOPNOTSUPP (the
 * device lacks what the strategy needs).
 */
int pvt_clockevent_set_strategy(struct pvt_clockevent *dev,
                                const struct pvt_ce_strategy *s);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_STRATEGY_H */

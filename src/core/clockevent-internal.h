/*
 * Between the clockevent layer and the strategies (not installed).
 */
#ifndef PVTIMER_CORE_CLOCKEVENT_INTERNAL_H
#define PVTIMER_CORE_CLOCKEVENT_INTERNAL_H

#include "pvtimer/clockevent.h"

/* Hand the device a relative delta in ticks / an absolute time in its
 * timebase, recording it in dev->last. Return the driver's result. */
int pvt__ce_set_relative(struct pvt_clockevent *dev, uint64_t ticks);

/*
 * A delta in ns as device ticks: rounded up (never early), then held to
 * [min_delta_ticks, max_delta_ticks]. The ns limits come from Linux's
 * delta2ns, which may round max_delta_ns up by a fraction of a tick; the
 * rounded-up conversion of that would be one tick more than the device
 * takes.
 */
static inline uint64_t pvt__ce_delta_ticks(const struct pvt_clockevent *dev,
                                           uint64_t ns)
{
    uint64_t t = pvt_clockevent_ns2ticks(dev, ns);

    if (dev->max_delta_ticks && t > dev->max_delta_ticks)
        t = dev->max_delta_ticks;
    if (t < dev->min_delta_ticks)
        t = dev->min_delta_ticks;
    return t;
}
int pvt__ce_set_absolute(struct pvt_clockevent *dev, uint64_t when);

/* The `delta` strategy's programming, which `coupled` and `compensated`
 * fall back to (strategy.c). */
int pvt__delta_program(struct pvt_clockevent *dev, int64_t now, int64_t target,
                       uint64_t delta_ns);

#endif /* PVTIMER_CORE_CLOCKEVENT_INTERNAL_H */

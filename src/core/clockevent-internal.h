/*
 * Between the clockevent layer, the strategies and the core's owners (the
 * timer queue, the tick): unchecked entry points for callers that hold a
 * device they have already validated (not installed).
 */
#ifndef PVTIMER_CORE_CLOCKEVENT_INTERNAL_H
#define PVTIMER_CORE_CLOCKEVENT_INTERNAL_H

#include "pvtimer/clockevent.h"

/* Hand the device a relative delta in ticks / an absolute time in its
 * timebase, recording it in the device's last programming. Return the
 * driver's result. Context: a strategy's program. */
int pvt__ce_set_relative(struct pvt_clockevent *dev, uint64_t ticks);
int pvt__ce_set_absolute(struct pvt_clockevent *dev, uint64_t when);

/*
 * The one delta clamp: a delta in ns held to [min_delta_ns, max_delta_ns]
 * (the clockevent layer's clamp of a request, and the floor the strategies
 * that re-read the clocks apply to what is left of it). *clamped (may be
 * NULL) is set to -1 when it was raised, 1 when cut, 0 otherwise.
 */
static inline uint64_t pvt__ce_clamp_ns(const struct pvt_clockevent *dev,
                                        uint64_t ns, int *clamped)
{
    int c = 0;

    /* (branches, not selects: rarely taken, and kept off the chain from
     * the clock reading to the device's value) */
    if (__builtin_expect(ns > dev->max_delta_ns, 0)) {
        ns = dev->max_delta_ns;
        c = 1;
    } else if (__builtin_expect(ns < dev->min_delta_ns, 0)) {
        ns = dev->min_delta_ns;
        c = -1;
    }
    if (clamped)
        *clamped = c;
    return ns;
}

/*
 * A delta in ns as device ticks: rounded up (never early), then held to
 * [min_delta_ticks, max_delta_ticks]. The ns limits come from Linux's
 * delta2ns, which may round max_delta_ns up by a fraction of a tick; the
 * rounded-up conversion of that would be one tick more than the device
 * takes.
 */
static inline uint64_t pvt__ce_clamp_ticks(const struct pvt_clockevent *dev,
                                           uint64_t t)
{
    if (__builtin_expect(dev->max_delta_ticks && t > dev->max_delta_ticks, 0))
        t = dev->max_delta_ticks;
    if (__builtin_expect(t < dev->min_delta_ticks, 0))
        t = dev->min_delta_ticks;
    return t;
}

/* pvt_add_sat_u64, its rare saturation a branch (see pvt__ce_clamp_ns). */
static inline uint64_t pvt__ce_add_sat(uint64_t a, uint64_t b)
{
    uint64_t r;

    if (__builtin_expect(__builtin_add_overflow(a, b, &r), 0))
        return UINT64_MAX;
    return r;
}

/* Does the device count ns (mult 2^shift: a hypervisor's timer)? Then a
 * delta in ns is its own tick count. */
static inline bool pvt__ce_counts_ns(const struct pvt_clockevent *dev)
{
    return dev->shift < 32 && dev->mult == (1u << dev->shift);
}

static inline uint64_t pvt__ce_delta_ticks(const struct pvt_clockevent *dev,
                                           uint64_t ns)
{
    /* a device counting ns converts to itself: the same value without the
     * 96-bit product */
    return pvt__ce_clamp_ticks(
        dev, pvt__ce_counts_ns(dev) ? ns : pvt_clockevent_ns2ticks(dev, ns));
}

/* The guest time the clockevent layer read for the programming in
 * progress (target was clamped against it). Context: a strategy's
 * program. */
static inline int64_t pvt__ce_program_now(const struct pvt_clockevent *dev)
{
    return dev->core.program_now;
}

/* The `delta` strategy's programming, which `coupled` and `compensated`
 * fall back to (strategy.c): its program, which reads both clocks, and
 * its aim from a guest reading gnow and the device's dnow taken with it
 * (device now + ticks(target - guest now), the delta held to the device's
 * limits). */
int pvt__delta_program(struct pvt_clockevent *dev, int64_t target);

static inline int pvt__delta_aim(struct pvt_clockevent *dev, int64_t target,
                                 int64_t gnow, uint64_t dnow)
{
    uint64_t delta_ns = pvt__ce_clamp_ns(
        dev, target > gnow ? (uint64_t)(target - gnow) : 0, NULL);

    return pvt__ce_set_absolute(
        dev, pvt__ce_add_sat(dnow, pvt__ce_delta_ticks(dev, delta_ns)));
}

/* pvt_clockevent_notify() for a registered device. */
void pvt__clockevent_notify(struct pvt_clockevent *dev,
                            enum pvt_clockevent_notify what);

/* Bind / release for an owner that knows the device registered and its own
 * (release) or free (bind). Context: serialised, as the checked ones. */
void pvt__clockevent_bind(struct pvt_clockevent *dev,
                          pvt_clockevent_handler_fn handler, void *owner);
void pvt__clockevent_release(struct pvt_clockevent *dev);

#endif /* PVTIMER_CORE_CLOCKEVENT_INTERNAL_H */

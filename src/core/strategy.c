/*
 * Programming strategies: guest deadline -> device value, and how a device
 * is given one. The built-in table is in strategies.c, compensated in
 * strategy-compensated.c: this file links without the drift estimator.
 *
 * Units: guest times are ns; device values are device ticks, converted from
 * ns with the device's mult/shift rounded up (pvt_clockevent_ns2ticks), so
 * a conversion never aims earlier than asked. Sums saturate.
 */
#include "pvtimer/strategy.h"

#include "clockevent-internal.h"
#include "timekeeping-internal.h"

/* ---- offset strategies ------------------------------------------------ */

/*
 * Their state is a pair of readings kept in the device (core.offset), not
 * the caller's: it is three words every device may need, and a caller that
 * picks a strategy by name then has nothing to provide but an estimator.
 */

/* Pair a guest reading with a device reading: the offset between the two
 * timebases, as a kernel takes it (guest first, then device). */
static void take_offset(struct pvt_clockevent *dev, int64_t guest_now)
{
    struct pvt_clockevent_offset *o = &dev->core.offset;

    o->guest_base = guest_now;
    o->device_base = dev->read_timebase(dev);
    o->valid = true;
}

/* device time = device_base + ticks(target - guest_base) */
static int abs_offset_program(struct pvt_clockevent *dev, int64_t target)
{
    const struct pvt_clockevent_offset *o = &dev->core.offset;
    uint64_t when;

    /* attaching takes the offset: this is for a strategy whose notify
     * did not (none of the built-in ones) */
    if (!o->valid)
        take_offset(dev, pvt__ce_program_now(dev));
    if (target >= o->guest_base) {
        uint64_t ahead = (uint64_t)(target - o->guest_base);
        when = pvt_add_sat_u64(o->device_base,
                               pvt_clockevent_ns2ticks(dev, ahead));
    } else {
        /* a target before the offset was taken (cannot happen with a
         * monotonic guest clock): round the distance down, stay at >= 0 */
        uint64_t back = pvt_mul_u64_u32_shr((uint64_t)(o->guest_base - target),
                                            dev->mult, dev->shift);
        when = o->device_base > back ? o->device_base - back : 0;
    }
    return pvt__ce_set_absolute(dev, when);
}

static void abs_boot_notify(struct pvt_clockevent *dev,
                            enum pvt_clockevent_notify what, int64_t now)
{
    /* once, when attached (at boot), never again: that is its flaw */
    if (what == PVT_CE_NOTIFY_ATTACH)
        take_offset(dev, now);
}

static void abs_mode_notify(struct pvt_clockevent *dev,
                            enum pvt_clockevent_notify what, int64_t now)
{
    switch (what) {
    case PVT_CE_NOTIFY_ATTACH:
    case PVT_CE_NOTIFY_MODE:
    case PVT_CE_NOTIFY_CLOCKSOURCE:
    case PVT_CE_NOTIFY_RESUME:
        take_offset(dev, now);
        break;
    }
}

const struct pvt_strategy pvt_strategy_abs_boot_offset = {
    .name = "abs-boot-offset",
    .summary = "guest deadline + offset taken once at boot",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_OFFSET,
    .program = abs_offset_program,
    .notify = abs_boot_notify,
};

const struct pvt_strategy pvt_strategy_abs_mode_offset = {
    .name = "abs-mode-offset",
    .summary = "guest deadline + offset re-taken at every mode or "
               "clocksource change",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_OFFSET,
    .program = abs_offset_program,
    .notify = abs_mode_notify,
};

/* ---- relative ---------------------------------------------------------- */

/* The delta from the clockevent layer's own reading of the guest clock:
 * the time from that reading to the device's (the path to a hypercall) is
 * this strategy's error, and re-reading here would hide part of it. */
static int relative_program(struct pvt_clockevent *dev, int64_t target)
{
    uint64_t delta_ns = (uint64_t)(target - pvt__ce_program_now(dev));

    return pvt__ce_set_relative(dev, pvt__ce_delta_ticks(dev, delta_ns));
}

const struct pvt_strategy pvt_strategy_relative = {
    .name = "relative",
    .summary = "the delta is handed over; the device adds its own now",
    .needs = PVT_CE_NEEDS_RELATIVE,
    .flags = 0,
    .program = relative_program,
    .notify = NULL,
};

/* ---- delta ------------------------------------------------------------- */

/*
 * device now + ticks(target - guest now), with the two clocks read back to
 * back here rather than reusing the clockevent layer's earlier reading:
 * anything that delays the vCPU between that read and this one (a
 * preemption) must not shift the deadline. Guest first, then device: a
 * delay between the two reads makes the event late, never early. When
 * the device pairs its timebase with the current clocksource (read_paired,
 * clockevent.h) both come from one counter read: no gap at all.
 */
int pvt__delta_program(struct pvt_clockevent *dev, int64_t target)
{
    uint64_t dnow;
    int64_t gnow = pvt__timekeeper_now_paired(dev->core.tk, dev, &dnow);

    return pvt__delta_aim(dev, target, gnow, dnow);
}

/* The layer's paired reading is as good as a new one: no gap. */
static int delta_program_pair(struct pvt_clockevent *dev, int64_t target,
                              int64_t gnow, uint64_t dnow)
{
    return pvt__delta_aim(dev, target, gnow, dnow);
}

const struct pvt_strategy pvt_strategy_delta = {
    .name = "delta",
    .summary = "device now + (deadline - guest now), read at every "
               "programming",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_PAIRED,
    .program = pvt__delta_program,
    .program_pair = delta_program_pair,
    .notify = NULL,
};

/* ---- coupled ----------------------------------------------------------- */

/* While the device counts the current clocksource's cycles, the deadline
 * converts exactly through the timekeeper; otherwise fall back to delta. */
static int coupled_program(struct pvt_clockevent *dev, int64_t target)
{
    struct pvt_timekeeper *tk = dev->core.tk;
    uint64_t cycles;

    if (dev->coupled_cs && dev->coupled_cs == tk->cs &&
        pvt__timekeeper_ns_to_cycles(tk, target, &cycles) == 0)
        return pvt__ce_set_absolute(dev, cycles);
    return pvt__delta_program(dev, target);
}

const struct pvt_strategy pvt_strategy_coupled = {
    .name = "coupled",
    .summary = "exact conversion when the device counts the current "
               "clocksource, else delta",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_COUPLED,
    .program = coupled_program,
    .notify = NULL,
};

/* ---- giving a device a strategy ------------------------------------------ */

int pvt_clockevent_set_strategy(struct pvt_clockevent *dev,
                                const struct pvt_strategy *s, void *state)
{
    int rc;

    if (!dev || !dev->core.tk || dev->core.state == PVT_CE_DETACHED || !s ||
        !s->program || (s->flags & PVT_STRATEGY_PAIRED && !s->program_pair))
        return -PVT_EINVAL;
    if ((s->needs & PVT_CE_NEEDS_RELATIVE) && !dev->set_next_event)
        return -PVT_EOPNOTSUPP;
    if ((s->needs & PVT_CE_NEEDS_ABSOLUTE) &&
        (!dev->set_next_abs || !dev->read_timebase))
        return -PVT_EOPNOTSUPP;
    if (!(s->flags & PVT_STRATEGY_STATE)) {
        state = NULL;
    } else if (!state) {
        return -PVT_EINVAL;
    } else if (s->check_state) {
        rc = s->check_state(state);
        if (rc)
            return rc < 0 ? rc : -PVT_EINVAL;
    }
    dev->core.strategy = s;
    dev->core.strategy_state = state;
    dev->core.offset = (struct pvt_clockevent_offset){0};
    pvt__clockevent_notify(dev, PVT_CE_NOTIFY_ATTACH);
    return 0;
}

const struct pvt_strategy *pvt_clockevent_strategy(
    const struct pvt_clockevent *dev)
{
    return dev ? dev->core.strategy : NULL;
}

void *pvt_clockevent_strategy_state(const struct pvt_clockevent *dev)
{
    return dev ? dev->core.strategy_state : NULL;
}

int pvt_clockevent_get_offset(const struct pvt_clockevent *dev,
                              int64_t *guest_base, uint64_t *device_base)
{
    if (!dev || !guest_base || !device_base)
        return -PVT_EINVAL;
    if (!dev->core.offset.valid)
        return -PVT_ENOENT;
    *guest_base = dev->core.offset.guest_base;
    *device_base = dev->core.offset.device_base;
    return 0;
}

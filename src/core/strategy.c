/*
 * Programming strategies: guest deadline -> device value.
 *
 * Units: guest times are ns; device values are device ticks, converted from
 * ns with the device's mult/shift rounded up (pvt_clockevent_ns2ticks), so
 * a conversion never aims earlier than asked. Sums saturate.
 */
#include "pvtimer/strategy.h"

#include "clockevent-internal.h"
#include "pvtimer/timekeeping.h"
#include "util.h"

/* ---- offset strategies ------------------------------------------------ */

/* Pair a guest reading with a device reading: the offset between the two
 * timebases, as a kernel takes it (guest first, then device). */
static void take_offset(struct pvt_clockevent *dev, int64_t guest_now)
{
    dev->sstate.guest_base = guest_now;
    dev->sstate.device_base = dev->read_timebase(dev);
    dev->sstate.have_offset = true;
}

/* device time = device_base + ticks(target - guest_base) */
static int abs_offset_program(struct pvt_clockevent *dev, int64_t now,
                              int64_t target, uint64_t delta_ns)
{
    struct pvt_ce_strategy_state *st = &dev->sstate;
    uint64_t when;

    (void)delta_ns;
    if (!st->have_offset)
        take_offset(dev, now);
    if (target >= st->guest_base) {
        uint64_t ahead = (uint64_t)(target - st->guest_base);
        when = pvt_add_sat_u64(st->device_base,
                               pvt_clockevent_ns2ticks(dev, ahead));
    } else {
        /* a target before the offset was taken (cannot happen with a
         * monotonic guest clock): round the distance down, stay at >= 0 */
        uint64_t back = pvt_mul_u64_u32_shr((uint64_t)(st->guest_base - target),
                                            dev->mult, dev->shift);
        when = st->device_base > back ? st->device_base - back : 0;
    }
    return pvt__ce_set_absolute(dev, when);
}

static void abs_boot_notify(struct pvt_clockevent *dev, enum pvt_ce_notify what,
                            int64_t now)
{
    /* once, when attached (at boot), never again: that is its flaw */
    if (what == PVT_CE_NOTIFY_ATTACH)
        take_offset(dev, now);
}

static void abs_mode_notify(struct pvt_clockevent *dev, enum pvt_ce_notify what,
                            int64_t now)
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

const struct pvt_ce_strategy pvt_strategy_abs_boot_offset = {
    .name = "abs-boot-offset",
    .summary = "guest deadline + offset taken once at boot",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .program = abs_offset_program,
    .notify = abs_boot_notify,
};

const struct pvt_ce_strategy pvt_strategy_abs_mode_offset = {
    .name = "abs-mode-offset",
    .summary = "guest deadline + offset re-taken at every mode or "
               "clocksource change",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .program = abs_offset_program,
    .notify = abs_mode_notify,
};

/* ---- relative ---------------------------------------------------------- */

static int relative_program(struct pvt_clockevent *dev, int64_t now,
                            int64_t target, uint64_t delta_ns)
{
    (void)now;
    (void)target;
    return pvt__ce_set_relative(dev, pvt__ce_delta_ticks(dev, delta_ns));
}

const struct pvt_ce_strategy pvt_strategy_relative = {
    .name = "relative",
    .summary = "the delta is handed over; the device adds its own now",
    .needs = PVT_CE_NEEDS_RELATIVE,
    .program = relative_program,
    .notify = NULL,
};

/* ---- delta ------------------------------------------------------------- */

/*
 * device now + ticks(target - guest now), with the two clocks read back to
 * back here rather than reusing the caller's earlier `now`: anything that
 * delays the vCPU between the clockevent layer's read and this one (a
 * preemption) must not shift the deadline. Guest first, then device: a
 * delay between the two reads makes the event late, never early.
 */
int pvt__delta_program(struct pvt_clockevent *dev, int64_t now, int64_t target,
                       uint64_t delta_ns)
{
    int64_t gnow = pvt_timekeeper_now(dev->tk);
    uint64_t dnow = dev->read_timebase(dev);

    (void)now;
    delta_ns = target > gnow ? (uint64_t)(target - gnow) : 0;
    if (delta_ns < dev->min_delta_ns)
        delta_ns = dev->min_delta_ns;
    return pvt__ce_set_absolute(
        dev, pvt_add_sat_u64(dnow, pvt__ce_delta_ticks(dev, delta_ns)));
}

const struct pvt_ce_strategy pvt_strategy_delta = {
    .name = "delta",
    .summary = "device now + (deadline - guest now), read at every "
               "programming",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .program = pvt__delta_program,
    .notify = NULL,
};

/* ---- coupled ----------------------------------------------------------- */

/* While the device counts the current clocksource's cycles, the deadline
 * converts exactly through the timekeeper; otherwise fall back to delta. */
static int coupled_program(struct pvt_clockevent *dev, int64_t now,
                           int64_t target, uint64_t delta_ns)
{
    uint64_t cycles;

    if (dev->coupled_cs && dev->coupled_cs == dev->tk->cs &&
        pvt_timekeeper_ns_to_cycles(dev->tk, target, &cycles) == 0)
        return pvt__ce_set_absolute(dev, cycles);
    return pvt__delta_program(dev, now, target, delta_ns);
}

const struct pvt_ce_strategy pvt_strategy_coupled = {
    .name = "coupled",
    .summary = "exact conversion when the device counts the current "
               "clocksource, else delta",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .program = coupled_program,
    .notify = NULL,
};

/* ---- table ------------------------------------------------------------- */

static const struct pvt_ce_strategy *const strategies[] = {
    &pvt_strategy_abs_boot_offset, &pvt_strategy_abs_mode_offset,
    &pvt_strategy_relative,        &pvt_strategy_delta,
    &pvt_strategy_coupled,         &pvt_strategy_compensated,
};

const struct pvt_ce_strategy *const *pvt_strategies(size_t *count)
{
    if (count)
        *count = PVT_ARRAY_SIZE(strategies);
    return strategies;
}

const struct pvt_ce_strategy *pvt_strategy_find(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < PVT_ARRAY_SIZE(strategies); i++)
        if (pvt__strcmp(strategies[i]->name, name) == 0)
            return strategies[i];
    return NULL;
}

int pvt_clockevent_set_strategy(struct pvt_clockevent *dev,
                                const struct pvt_ce_strategy *s)
{
    if (!dev || !dev->tk || dev->state == PVT_CE_DETACHED || !s || !s->program)
        return -PVT_EINVAL;
    if ((s->needs & PVT_CE_NEEDS_RELATIVE) && !dev->set_next_event)
        return -PVT_EOPNOTSUPP;
    if ((s->needs & PVT_CE_NEEDS_ABSOLUTE) &&
        (!dev->set_next_abs || !dev->read_timebase))
        return -PVT_EOPNOTSUPP;
    dev->strategy = s;
    dev->sstate.have_offset = false;
    dev->sstate.guest_base = 0;
    dev->sstate.device_base = 0;
    pvt_clockevent_notify(dev, PVT_CE_NOTIFY_ATTACH);
    return 0;
}

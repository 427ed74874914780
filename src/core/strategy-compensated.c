/*
 * The `compensated` strategy: delta, with the delta scaled by the drift
 * estimator's rate (drift.h).
 *
 * At each programming it reads guest clock, device timebase, guest clock
 * (g1, d, g2). When the bracket g2 - g1 is narrow (at most the estimator's
 * max_delay_ns), d is paired with its midpoint: that removes the read
 * latency `delta` leaves in every deadline (delta pairs d with g1, read
 * before it). A wide bracket means the vCPU was held up in it; then g1 is
 * used, as delta does, so a preemption makes the event late, never early.
 * The same bracket is offered to the estimator, which keeps one sample per
 * min_interval_ns. Then
 *
 *     device deadline = d + ticks(scale(target - gref))
 *
 * where scale multiplies by the rate (ceil(delta * mult >> 31)) while the
 * estimator is locked, never shortening the delta by more than
 * max_early_ns. The estimate needs the device's ticks to be ns (a
 * hypervisor's singleshot timer): any other device is programmed as delta.
 *
 * Notifications: a clocksource switch and a resume (migration, pause)
 * change the guest clock's rate or the device clock's origin, so they
 * restart the fit (STEP) instead of letting the old one drag; attaching
 * the strategy starts from UNLOCKED.
 *
 * Its state is the caller's estimator (struct pvt_drift, initialised),
 * given to pvt_clockevent_set_strategy(); this file is all the glue
 * between the estimator and the clockevent layer, so that drift.h needs
 * no clockevent.h.
 */
#include "clockevent-internal.h"
#include "drift-internal.h"
#include "pvtimer/drift.h"
#include "pvtimer/strategy.h"
#include "timekeeping-internal.h"

/*
 * Would pvt_drift_feed drop a sample at a_ns (>= 0) for being within
 * min_interval of the last one kept, changing nothing? Exactly its checks,
 * in its order (a bracket too wide is counted first; a new epoch, an
 * empty ring or a reading behind the last restarts), so that the common
 * case, a programming between two samples, skips building the sample and
 * the call. The last three are one comparison (skip_len, drift.h).
 */
static bool feed_would_skip(const struct pvt_drift *d, int64_t a_ns,
                            uint64_t delay_ns, uint32_t epoch)
{
    if (d->cfg.max_delay_ns && delay_ns > d->cfg.max_delay_ns)
        return false;
    if (d->have_epoch && epoch != d->epoch)
        return false;
    return (uint64_t)(a_ns - d->a_last) < d->skip_len;
}

/*
 * Aim from gref, the guest time the device's reading dnow is paired with:
 * device deadline = dnow + ticks(scale(target - gref)), on a device that
 * counts ns. No call but the driver's (a tail call), so that the common
 * programming saves no registers.
 */
static inline __attribute__((always_inline)) int aim(struct pvt_clockevent *dev,
                                                     const struct pvt_drift *d,
                                                     int64_t target,
                                                     int64_t gref,
                                                     uint64_t dnow)
{
    uint64_t delta_ns = pvt__ce_clamp_ns(
        dev, target > gref ? (uint64_t)(target - gref) : 0, NULL);

    return pvt__ce_set_absolute(
        dev, pvt__ce_add_sat(dnow, pvt__ce_clamp_ticks(
                                       dev, pvt__drift_scale(d, delta_ns))));
}

/* Offer the estimator the sample (gref, dnow, bracket), then aim (out of
 * line: one programming in many). */
static __attribute__((noinline)) int feed_and_aim(struct pvt_clockevent *dev,
                                                  int64_t target, int64_t gref,
                                                  uint64_t dnow,
                                                  uint64_t bracket)
{
    struct pvt_drift *d = dev->core.strategy_state;
    const struct pvt_timekeeper *tk = dev->core.tk;
    struct pvt_drift_sample s;

    s.a_ns = gref;
    s.b_ns = dnow;
    s.delay_ns = bracket;
    s.res_ns = pvt_clocksource_cyc2ns(tk->cs, 1);
    s.epoch = tk->cs_generation;
    pvt_drift_feed(d, &s);
    return aim(dev, d, target, gref, dnow);
}

/* Offer the sample unless the estimator would drop it, and aim. */
static inline __attribute__((always_inline)) int compensated_aim(
    struct pvt_clockevent *dev, int64_t target, int64_t gref, uint64_t dnow,
    uint64_t bracket)
{
    const struct pvt_drift *d = dev->core.strategy_state;

    if (gref < 0 ||
        !feed_would_skip(d, gref, bracket, dev->core.tk->cs_generation))
        return feed_and_aim(dev, target, gref, dnow, bracket);
    return aim(dev, d, target, gref, dnow);
}

static int compensated_program(struct pvt_clockevent *dev, int64_t target)
{
    const struct pvt_drift *d = dev->core.strategy_state;
    struct pvt_timekeeper *tk = dev->core.tk;
    int64_t g1, g2, gref;
    uint64_t dnow, bracket;

    if (!pvt__ce_counts_ns(dev))
        return pvt__delta_program(dev, target);
    if (dev->read_paired && dev->paired_cs == tk->cs) {
        /* both clocks from one counter read: a bracket of zero */
        g1 = g2 = pvt__timekeeper_now_paired(tk, dev, &dnow);
    } else {
        g1 = pvt__timekeeper_now(tk);
        dnow = dev->read_timebase(dev);
        g2 = pvt__timekeeper_now(tk);
    }
    bracket = g2 > g1 ? (uint64_t)(g2 - g1) : 0;
    gref = g1;
    if (d->cfg.max_delay_ns == 0 || bracket <= d->cfg.max_delay_ns)
        gref = g1 + (int64_t)(bracket / 2);
    return compensated_aim(dev, target, gref, dnow, bracket);
}

/* The clockevent layer's paired reading: a bracket of zero, dnow paired
 * with gnow itself. */
static int compensated_program_pair(struct pvt_clockevent *dev, int64_t target,
                                    int64_t gnow, uint64_t dnow)
{
    if (!pvt__ce_counts_ns(dev))
        return pvt__delta_aim(dev, target, gnow, dnow);
    return compensated_aim(dev, target, gnow, dnow, 0);
}

static void compensated_notify(struct pvt_clockevent *dev,
                               enum pvt_clockevent_notify what, int64_t now)
{
    struct pvt_drift *d = dev->core.strategy_state;

    (void)now;
    switch (what) {
    case PVT_CE_NOTIFY_ATTACH:
        pvt_drift_reset(d, false);
        break;
    case PVT_CE_NOTIFY_CLOCKSOURCE:
    case PVT_CE_NOTIFY_RESUME:
        pvt_drift_reset(d, true);
        break;
    case PVT_CE_NOTIFY_MODE:
        break;
    }
}

/* An initialised estimator: pvt_drift_get refuses any other. */
static int compensated_check(const void *state)
{
    struct pvt_drift_estimate e;

    return pvt_drift_get(state, &e);
}

const struct pvt_strategy pvt_strategy_compensated = {
    .name = "compensated",
    .summary = "delta, scaled by an online estimate of the drift (32-bit "
               "fixed point)",
    .needs = PVT_CE_NEEDS_ABSOLUTE,
    .flags = PVT_STRATEGY_STATE | PVT_STRATEGY_ESTIMATOR | PVT_STRATEGY_PAIRED,
    .program = compensated_program,
    .program_pair = compensated_program_pair,
    .notify = compensated_notify,
    .check_state = compensated_check,
};

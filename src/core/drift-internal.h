/*
 * The drift estimator's unchecked hot path, for the compensated strategy,
 * which holds an estimator pvt_clockevent_set_strategy() checked (not
 * installed).
 */
#ifndef PVTIMER_CORE_DRIFT_INTERNAL_H
#define PVTIMER_CORE_DRIFT_INTERNAL_H

#include "pvtimer/drift.h"

/* pvt_drift_scale() of an initialised estimator, the scaled delta
 * returned: inline, as it runs at every programming. */
static inline uint64_t pvt__drift_scale(const struct pvt_drift *d,
                                        uint64_t delta_ns)
{
    uint64_t r;

    if (d->best < 0)
        return delta_ns;
    r = pvt_mul_u64_u32_shr_ceil(delta_ns, d->mult, PVT_DRIFT_MULT_SHIFT);
    if (r < delta_ns && delta_ns - r > d->cfg.max_early_ns)
        r = delta_ns - d->cfg.max_early_ns;
    return r;
}

#endif /* PVTIMER_CORE_DRIFT_INTERNAL_H */

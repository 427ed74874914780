/*
 * The hypervisor's per-vCPU timers (Xen semantics), clock-independent.
 */
#include "pvtimer/hvtimer.h"

int pvt_hv_timer_init(struct pvt_hv_vcpu_timer *t,
                      const struct pvt_hv_timer_config *cfg, uint64_t now)
{
    if (!t || !cfg)
        return -PVT_EINVAL;
    if (cfg->default_period_ns && cfg->default_period_ns < cfg->min_period_ns)
        return -PVT_EINVAL;
    *t = (struct pvt_hv_vcpu_timer){
        .cfg = *cfg,
        .single = PVT_HV_NEVER,
        .single_fire = PVT_HV_NEVER,
        .last_fire = PVT_HV_NEVER,
    };
    if (cfg->default_period_ns) {
        t->period = cfg->default_period_ns;
        t->periodic_next = pvt_add_sat_u64(now, t->period);
    }
    return 0;
}

int pvt_hv_set_singleshot(struct pvt_hv_vcpu_timer *t, uint64_t deadline,
                          uint64_t now)
{
    if (!t)
        return -PVT_EINVAL;
    t->stats.sets++;
    if (deadline <= now) {
        /* fires at once: never lost, never refused */
        t->stats.past_sets++;
        t->single = t->single_fire = now;
        return 0;
    }
    t->single = deadline;
    t->single_fire = deadline;
    if (deadline - now < t->cfg.slop_ns) {
        /* Xen does not reprogram its hardware closer than the slop */
        t->single_fire = now + t->cfg.slop_ns;
        t->stats.slopped++;
    }
    return 0;
}

int pvt_hv_set_relative(struct pvt_hv_vcpu_timer *t, uint64_t delta,
                        uint64_t now)
{
    if (!t)
        return -PVT_EINVAL;
    return pvt_hv_set_singleshot(t, pvt_add_sat_u64(now, delta), now);
}

int pvt_hv_set_timer_op(struct pvt_hv_vcpu_timer *t, int64_t deadline,
                        uint64_t now)
{
    if (!t)
        return -PVT_EINVAL;
    if (deadline == 0)
        return pvt_hv_stop_singleshot(t);
    if (deadline < 0 ||
        (uint64_t)deadline > pvt_add_sat_u64(now, PVT_HV_LEGACY_MAX_AHEAD_NS)) {
        t->stats.absurd_sets++;
        return pvt_hv_set_singleshot(
            t, pvt_add_sat_u64(now, PVT_HV_LEGACY_FALLBACK_NS), now);
    }
    return pvt_hv_set_singleshot(t, (uint64_t)deadline, now);
}

int pvt_hv_stop_singleshot(struct pvt_hv_vcpu_timer *t)
{
    if (!t)
        return -PVT_EINVAL;
    t->stats.stops++;
    t->single = t->single_fire = PVT_HV_NEVER;
    return 0;
}

int pvt_hv_set_periodic(struct pvt_hv_vcpu_timer *t, uint64_t period,
                        uint64_t now)
{
    if (!t || (period && period < t->cfg.min_period_ns))
        return -PVT_EINVAL;
    t->period = period;
    t->periodic_next = period ? pvt_add_sat_u64(now, period) : 0;
    return 0;
}

/* When the timers fire next; *limited when the rate limit deferred it. */
static uint64_t plan(const struct pvt_hv_vcpu_timer *t, bool *limited)
{
    uint64_t fire = t->single_fire;

    *limited = false;
    if (t->period && t->periodic_next < fire)
        fire = t->periodic_next;
    if (fire == PVT_HV_NEVER)
        return PVT_HV_NEVER;
    /* rate limit: deferred, never dropped */
    if (t->cfg.min_interval_ns && t->last_fire != PVT_HV_NEVER) {
        uint64_t earliest =
            pvt_add_sat_u64(t->last_fire, t->cfg.min_interval_ns);
        if (fire < earliest) {
            fire = earliest;
            *limited = true;
        }
    }
    return fire;
}

uint64_t pvt_hv_next_fire(const struct pvt_hv_vcpu_timer *t)
{
    bool limited;

    return t ? plan(t, &limited) : PVT_HV_NEVER;
}

unsigned int pvt_hv_expire(struct pvt_hv_vcpu_timer *t, uint64_t now)
{
    unsigned int fired = 0;
    bool limited;
    uint64_t fire;

    if (!t)
        return 0;
    fire = plan(t, &limited);
    if (fire == PVT_HV_NEVER || now < fire)
        return 0; /* nothing fires early */
    if (t->single_fire <= now) {
        fired |= PVT_HV_SINGLESHOT;
        t->stats.fires_single++;
        t->single = t->single_fire = PVT_HV_NEVER;
    }
    if (t->period && t->periodic_next <= now) {
        /* one event for all the periods that passed: a periodic timer is a
         * tick, not a queue of them */
        uint64_t behind = (now - t->periodic_next) / t->period;
        fired |= PVT_HV_PERIODIC;
        t->stats.fires_periodic++;
        t->stats.periodic_missed += behind;
        t->periodic_next =
            pvt_add_sat_u64(t->periodic_next, (behind + 1) * t->period);
    }
    if (limited)
        t->stats.rate_limited++;
    t->last_fire = now;
    return fired;
}

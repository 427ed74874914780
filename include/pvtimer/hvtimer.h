/*
 * pvtimer: the hypervisor's per-vCPU timers, as Xen defines them, written
 * once and independent of where time comes from: the simulator drives them
 * with simulated hypervisor time, the KVM monitor with its clock and
 * timerfd. All times are hypervisor-absolute ns (kvmclock / Xen system
 * time); the caller passes `now` to every call.
 *
 *   singleshot  absolute deadline; one in the past fires at once; only the
 *               vCPU itself sets it
 *   relative    the legacy "delta" op: the hypervisor adds its own now
 *   set_timer   the legacy op: 0 stops, a negative or absurdly far (more
 *               than 2^50 ns ahead) deadline becomes now + 100 ms
 *   periodic    every vCPU starts with a default periodic timer (10 ms)
 *               that the guest must stop when it goes oneshot; periods
 *               below 1 ms are refused
 *
 * Firing: a timer never fires before its deadline. As in Xen, where the
 * timer softirq programs the hardware for max(earliest deadline, now +
 * slop), a singleshot deadline less than `slop_ns` after the moment it was
 * set fires at set time + slop (up to the slop late, never early); one
 * already past when set fires at once. When both timers are due, they fire
 * together.
 * A per-vCPU minimum interval between fires rate-limits a guest that arms
 * timers as fast as it can: a fire that would come sooner is deferred, not
 * dropped.
 *
 * No allocation, no global state, no libc: one struct per vCPU.
 *
 * Calling context (host side): one struct per vCPU, not locked. The
 * caller (the simulator's event loop, the timer service's thread under its
 * lock) serialises every call on the same vCPU's timers.
 */
#ifndef PVTIMER_HVTIMER_H
#define PVTIMER_HVTIMER_H

#include "pvtimer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PVT_HV_SINGLESHOT (1u << 0)
#define PVT_HV_PERIODIC   (1u << 1)

#define PVT_HV_NEVER UINT64_MAX

struct pvt_hv_timer_config {
    uint64_t slop_ns;           /* minimum reprogramming distance (50 us) */
    uint64_t default_period_ns; /* periodic timer at vCPU start; 0: none */
    uint64_t min_period_ns;     /* shortest periodic timer (1 ms) */
    uint64_t min_interval_ns;   /* rate limit between fires; 0: none */
};

/* Xen's defaults: 50 us slop, 10 ms default periodic, 1 ms minimum. */
#define PVT_HV_TIMER_CONFIG_XEN                                                \
    ((struct pvt_hv_timer_config){.slop_ns = 50000,                            \
                                  .default_period_ns = 10000000,               \
                                  .min_period_ns = 1000000,                    \
                                  .min_interval_ns = 0})

#define PVT_HV_LEGACY_MAX_AHEAD_NS (1ull << 50)
#define PVT_HV_LEGACY_FALLBACK_NS  (100 * 1000000ull)

struct pvt_hv_timer_stats {
    uint64_t sets;         /* singleshot / relative / legacy sets */
    uint64_t past_sets;    /* deadlines already past when set */
    uint64_t absurd_sets;  /* legacy deadlines replaced by now + 100 ms */
    uint64_t stops;        /* singleshot stops */
    uint64_t fires_single; /* singleshot expiries delivered */
    uint64_t fires_periodic;
    uint64_t periodic_missed; /* periods skipped because nobody was there */
    uint64_t slopped;         /* singleshot fires pushed later by the slop */
    uint64_t rate_limited;    /* fires deferred by min_interval_ns */
};

struct pvt_hv_vcpu_timer {
    struct pvt_hv_timer_config cfg;
    uint64_t single;      /* deadline, or PVT_HV_NEVER */
    uint64_t single_fire; /* when it fires: deadline, slop applied */
    uint64_t period;      /* 0: periodic stopped */
    uint64_t periodic_next;
    uint64_t last_fire; /* PVT_HV_NEVER before the first */
    struct pvt_hv_timer_stats stats;
};

/*
 * Start a vCPU's timers at hypervisor time now: no singleshot, the default
 * periodic timer (if the config has one) first due at now + period.
 * Returns 0 or -PVT_EINVAL (NULL; a default period below the minimum).
 */
int pvt_hv_timer_init(struct pvt_hv_vcpu_timer *t,
                      const struct pvt_hv_timer_config *cfg, uint64_t now);

/* Singleshot at an absolute deadline (a past one fires at once). Returns
 * 0, or -PVT_EINVAL for NULL. */
int pvt_hv_set_singleshot(struct pvt_hv_vcpu_timer *t, uint64_t deadline,
                          uint64_t now);

/* Singleshot at now + delta (saturating). Returns 0 or -PVT_EINVAL. */
int pvt_hv_set_relative(struct pvt_hv_vcpu_timer *t, uint64_t delta,
                        uint64_t now);

/* The legacy set_timer_op: 0 stops; < 0 or more than 2^50 ns ahead gives
 * now + 100 ms. Returns 0 or -PVT_EINVAL. */
int pvt_hv_set_timer_op(struct pvt_hv_vcpu_timer *t, int64_t deadline,
                        uint64_t now);

/* Stop the singleshot timer. Returns 0 or -PVT_EINVAL. */
int pvt_hv_stop_singleshot(struct pvt_hv_vcpu_timer *t);

/* Start (period > 0, first due at now + period) or stop (0) the periodic
 * timer. Returns 0 or -PVT_EINVAL (NULL, 0 < period < min_period_ns). */
int pvt_hv_set_periodic(struct pvt_hv_vcpu_timer *t, uint64_t period,
                        uint64_t now);

/*
 * When the vCPU's timers fire next: the earliest of the singleshot's fire
 * time (slop applied) and the periodic deadline, no sooner than
 * min_interval_ns after the last fire. PVT_HV_NEVER when nothing is armed
 * (or t is NULL).
 */
uint64_t pvt_hv_next_fire(const struct pvt_hv_vcpu_timer *t);

/*
 * Fire what is due at now (call at or after pvt_hv_next_fire): returns a
 * mask of PVT_HV_SINGLESHOT / PVT_HV_PERIODIC that fired (0 if called
 * early: nothing fires early), disarming the singleshot and moving the
 * periodic timer to its next period after now.
 */
unsigned int pvt_hv_expire(struct pvt_hv_vcpu_timer *t, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_HVTIMER_H */

/*
 * The simulator: a deterministic discrete-event model of a hypervisor
 * (src/host's timer semantics driven with simulated time, a pvclock page
 * per vCPU it publishes), one or more vCPUs (preemption as a random
 * process each), the guest's oscillators (a TSC with a true rate, offset
 * per vCPU by an error, a drifting boot clock), and the guest kernel, which
 * is the unmodified pvtimer core. Only time, preemption and oscillators
 * are simulated.
 *
 * Every strategy runs in its own world built from the same parameters and
 * seed: the same workload, the same preemptions, so differences are the
 * strategies' alone. The same parameters and seed give byte-identical
 * results.
 */
#ifndef PVTIMER_SIM_SIM_H
#define PVTIMER_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "pvtimer/pvtimer.h"
#include "stats.h"

#define PVT_SIM_SERIES_BINS 240

/* What happened in one stretch of guest uptime (for plots). */
struct pvt_sim_bin {
    double t_s;          /* start, guest s */
    uint64_t programs;   /* device programmings whose aim was measured */
    int64_t aim_max_abs; /* largest |aim error| */
    double aim_sum;      /* signed, for the mean */
    int64_t dev_max_abs; /* largest |device error| */
    uint64_t interrupts;
    uint64_t fired;
};

/* One vCPU's share of a run: the timers on its queue (armed there or
 * remotely for it) and its device's programmings. */
struct pvt_sim_vcpu_result {
    uint64_t timers; /* armed on its queue */
    uint64_t fired;
    uint64_t cancelled;
    uint64_t pending;
    uint64_t lost;
    uint64_t early_callbacks;
    uint64_t device_interrupts;
    uint64_t spurious_interrupts;
    uint64_t remote_armed; /* of its timers, armed by another vCPU */
    uint64_t ipis;         /* kicks it handled */
    int64_t tsc_offset_ns; /* its TSC's error, in ns */
    struct pvt_sim_hist lateness;
    struct pvt_sim_hist device_error;
    struct pvt_sim_hist aim_error;
};

struct pvt_sim_result {
    const struct pvt_strategy *strategy;
    uint64_t timers; /* armed by the workload */
    uint64_t fired;
    uint64_t cancelled;
    uint64_t pending; /* still armed when the run ended */
    uint64_t lost;    /* armed, not fired, not cancelled, not pending */
    uint64_t early_callbacks;
    uint64_t device_interrupts;
    uint64_t spurious_interrupts;
    uint64_t splits;
    uint64_t hangs;
    uint64_t hv_past_sets; /* hypervisor deadlines already past when set */
    uint64_t preempted_programmings; /* preemption inside a programming */
    uint64_t events;                 /* model events: hypervisor timer fires,
                                interrupt deliveries, arrivals, cancels */
    uint64_t guest_expiries;         /* guest timer callbacks the core ran */
    bool truncated;                  /* stopped at the event cap (a storm) */
    double highres_at_s;             /* guest s of the high-res switch, or -1 */
    double end_guest_s;
    struct pvt_sim_hist lateness;
    struct pvt_sim_hist device_error;
    struct pvt_sim_hist aim_error;
    struct pvt_sim_hist aim_error_boot;  /* programmings before the switch */
    struct pvt_sim_hist aim_error_after; /* and after it */
    /* programmings made while the device's drift estimator was locked
     * (compensated only), and those of them after the switch */
    struct pvt_sim_hist aim_error_locked;
    struct pvt_sim_hist aim_error_after_locked;
    double locked_at_s;   /* guest s of the last lock (-1: never) */
    uint64_t drift_steps; /* estimator restarts */
    int64_t drift_ppb;    /* the final estimate */
    double bin_s;
    struct pvt_sim_bin bins[PVT_SIM_SERIES_BINS];
    /* several vCPUs: the figures above are the guest's (all vCPUs) */
    unsigned int vcpus;
    /* pvclock reads (the guest clock's source, on any vCPU) and those that
     * returned less than a read that completed before them, in the
     * model's true order */
    uint64_t clock_reads;
    uint64_t clock_backwards;
    uint64_t clock_backwards_max_ns; /* the largest such step back */
    uint64_t clock_guard_clamps;     /* reads the pvclock guard raised */
    /* the guest clock (the timekeeper) as the model read it on a vCPU (at
     * interrupts, timer callbacks, remote arming) below what it read there
     * before; and the readings the timekeeper's own guard held up */
    uint64_t guest_clock_backwards;
    uint64_t timekeeper_clamps;
    struct pvt_sim_vcpu_result vcpu[PVT_SIM_MAX_VCPUS];
};

/*
 * Clears r for a run of strategy on p: no events yet, the switch and the
 * estimator's lock not seen (-1), the series bins spread over the run and
 * its drain, p->vcpus vCPUs. Returns 0, or -1 when r or p is NULL. (Both backends start
 * their results here.)
 */
int pvt_sim_result_init(struct pvt_sim_result *r,
                        const struct pvt_sim_params *p,
                        const struct pvt_strategy *strategy);

/*
 * Run one strategy. progress (may be NULL) is called now and then with the
 * fraction of the run done. Returns 0, or -1 with a message in err (setup
 * failed: a core error, out of memory).
 */
typedef void (*pvt_sim_progress_fn)(void *ctx, double fraction);

int pvt_sim_run(const struct pvt_sim_params *p, uint64_t seed,
                const struct pvt_strategy *strategy, struct pvt_sim_result *r,
                pvt_sim_progress_fn progress, void *progress_ctx, char *err,
                size_t errlen);

/*
 * Runs strategies[0 .. n) side by side, each on its own world, on up to
 * one thread per online CPU (the calling thread when none can be
 * started), into results[0 .. n). The results are those of pvt_sim_run for
 * each strategy alone: worlds share nothing, so scheduling cannot change
 * them. progress (may be NULL) is called on the calling thread about every
 * 100 ms with the fraction of all the runs done. Returns 0; -1 with the
 * first failed run's message in err (the arguments NULL or n 0, out of
 * memory, or a run's setup failed). Not reentrant with respect to
 * results, which the threads write.
 */
int pvt_sim_run_all(const struct pvt_sim_params *p, uint64_t seed,
                    const struct pvt_strategy *const *strategies, size_t n,
                    struct pvt_sim_result *results,
                    pvt_sim_progress_fn progress, void *progress_ctx, char *err,
                    size_t errlen);

#endif /* PVTIMER_SIM_SIM_H */

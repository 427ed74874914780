/*
 * A simulator scenario run on real KVM: one VM per strategy under
 * pvtimer's monitor (src/vmm), the guest kernel (guest/) running the
 * scenario's workload while the run injects its faults (vCPU preemption,
 * a kvmclock jump, host load), the guest's samples folded into the
 * simulator's result structure, so that the table, the JSON and the HTML
 * report are the simulator's, with "backend": "kvm" and the baselines
 * measured in the same run. `pvtimer kvm --scenario` is its command line.
 * With vcpus=N (2 to PVT_KVMRUN_MAX_VCPUS) each VM has N vCPUs
 * (guest/smp.c: no boot phase, no migration): per-vCPU rows, per_vcpu in
 * the JSON, and the cross-vCPU clock check (clock_backwards, and
 * "clock_check" with its pairs beside the baselines).
 *
 * pvt_kvmrun_drift measures the guest's TSC clocksource against kvmclock
 * in a VM (`pvtimer drift --kvm`).
 *
 * pvt_kvmrun_shorten is portable; pvt_kvmrun_scenario and pvt_kvmrun_drift
 * exist only where the monitor is built (x86-64 Linux: PVT_HAVE_KVM).
 */
#ifndef PVTIMER_KVMRUN_KVMRUN_H
#define PVTIMER_KVMRUN_KVMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/params.h"

struct pvt_strategy;
struct pvt_result_drift; /* pvtimer/pvexp.h */

/* Exit status for "KVM is not available here" (automake's "skipped"). */
#define PVT_KVMRUN_NO_KVM 77

/*
 * A scenario's times, shortened for a real run (the guest runs them in
 * real time, once per strategy): caps pvt_kvmrun_shorten applies.
 */
#define PVT_KVMRUN_BOOT_S      2.0
#define PVT_KVMRUN_DURATION_S  8.0
#define PVT_KVMRUN_DRAIN_S     1.0
#define PVT_KVMRUN_DELTA_MAX_S 1.0
#define PVT_KVMRUN_RATE_HZ     150.0
#define PVT_KVMRUN_HZ          100.0

/* The most timers the guest takes from one workload. */
#define PVT_KVMRUN_MAX_TIMERS 16384u

/* The most vCPUs the guest takes (guest/cpu.h's PVT_CPU_MAX), and the
 * cross-vCPU read pairs its clock check makes with several. */
#define PVT_KVMRUN_MAX_VCPUS  16u
#define PVT_KVMRUN_WARP_PAIRS 1000000u

/*
 * Caps p's times and rates at the PVT_KVMRUN_* values (a migration moves
 * with the run's length); the caller applies the user's overrides after
 * it and checks p. Returns 0, or -1 when p is NULL.
 */
int pvt_kvmrun_shorten(struct pvt_sim_params *p);

struct pvt_kvmrun_opts {
    const char *scenario;                /* its name, for the report */
    const struct pvt_sim_params *params; /* checked */
    uint64_t seed;
    const struct pvt_strategy *const *strategies;
    size_t nstrategies;
    const char *guest; /* image path */
    uint64_t mem_bytes;
    unsigned int timeout_s; /* per VM */
    unsigned int load_processes;
    int console_fd;       /* the guest's console (its error messages) */
    const char *kvm_path; /* NULL: /dev/kvm */
    bool json;
    bool progress;      /* a line per strategy on stderr */
    const char *report; /* HTML file, or NULL */
    /* the timer service's advance (KVM's lapic_timer_advance_ns): when
     * advance_fixed, advance_ns (>= 0); otherwise adaptive */
    bool advance_fixed;
    int64_t advance_ns;
    int service_rt; /* the service threads' SCHED_FIFO priority, 0: none */
    /* the timer service's threads for the vCPUs' timers (vCPU i on thread
     * i % n); 0: one per vCPU up to the host's online CPUs */
    unsigned int service_threads;
};

/*
 * Runs every strategy, one VM after another, prints the table (or JSON)
 * on stdout and writes the report; messages go to stderr, prefixed
 * "pvtimer kvm: ". Returns the exit status: 0; 1 (a run failed, or o or
 * a field it needs is NULL); 2 (the parameters ask for more than the
 * guest takes); PVT_KVMRUN_NO_KVM (KVM is not available here). Call from
 * one thread; it starts and joins its own.
 */
int pvt_kvmrun_scenario(const struct pvt_kvmrun_opts *o);

struct pvt_kvmrun_drift_opts {
    const char *guest;    /* image path */
    const char *kvm_path; /* NULL: /dev/kvm */
    int console_fd;       /* the guest's console (its error messages) */
    size_t samples;       /* updates the guest makes: one at the start,
                             then one per interval */
    double interval_ms;   /* > 0 */
    double tsc_cal_ppm;   /* error injected into the guest's TSC
                             calibration */
    /* Called once the VM is ready, before it runs (may be NULL). */
    void (*on_start)(void *ctx);
    /* Each update, in order, as the guest reports it (may be NULL). */
    void (*on_update)(void *ctx, const struct pvt_result_drift *u);
    void *ctx;
};

/*
 * Runs the guest's drift mode in one VM and hands its updates to
 * o->on_update; a guest that reports more than o->samples is stopped.
 * *last gets the last update and *count how many came. Messages go to
 * stderr, prefixed "pvtimer drift: ". Returns 0; 1 (the run failed, or a
 * NULL or bad option); PVT_KVMRUN_NO_KVM (KVM is not available here).
 */
int pvt_kvmrun_drift(const struct pvt_kvmrun_drift_opts *o,
                     struct pvt_result_drift *last, size_t *count);

#endif /* PVTIMER_KVMRUN_KVMRUN_H */

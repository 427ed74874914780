/*
 * The hypervisor's timer service on Linux: the vCPU timers of
 * pvtimer/hvtimer.h (Xen's semantics, written once and clock-independent)
 * driven with real time. One timerfd per vCPU on CLOCK_MONOTONIC, a service
 * thread that waits on them and injects the timer interrupts, as a VMM
 * would.
 *
 * Time: the timers count in hypervisor ns (kvmclock), which runs at the
 * host's CLOCK_MONOTONIC_RAW rate, while a timerfd counts CLOCK_MONOTONIC
 * (NTP-slewed). Every arming therefore takes the two clocks from one paired
 * reading (the owner's read_clock, e.g. KVM_GET_CLOCK bracketed by two
 * clock_gettime calls) and arms at mono_now + (deadline - hv_now): the
 * rate difference costs at most its ppm times that delta, never more. A
 * wake-up that still finds the deadline ahead of the hypervisor clock
 * fires nothing and re-arms for the rest: nothing fires early.
 *
 * Threads: the vCPU threads call the set/stop functions (inside their
 * hypercall handlers); the service thread fires. One mutex guards the
 * timers; inject is called with it held (it must not call back into the
 * service).
 *
 * Errors: 0 or a negative errno value, as everywhere in src/host
 * (docs/conventions.md).
 *
 * Storms: every vCPU timer has a minimum interval between fires (its
 * config's min_interval_ns), so a guest that arms past deadlines as fast as
 * it can gets at most one interrupt per interval; the service's memory is
 * fixed at init.
 */
#ifndef PVTIMER_HOST_TIMERSVC_H
#define PVTIMER_HOST_TIMERSVC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pvtimer/hvtimer.h"

#define PVT_TIMERSVC_MAX_VCPUS 64u
/* Wake-up lateness samples kept (the most recent). */
#define PVT_TIMERSVC_LAT_SAMPLES 65536u

struct pvt_timersvc_ops {
    /*
     * The hypervisor clock (ns) and CLOCK_MONOTONIC (ns) at one moment.
     * Returns 0, or a negative errno value.
     */
    int (*read_clock)(void *ctx, uint64_t *hv_ns, int64_t *mono_ns);
    /* Deliver vector to vCPU vcpu. Returns 0 or a negative errno value. */
    int (*inject)(void *ctx, unsigned int vcpu, uint32_t vector);
};

struct pvt_timersvc_vcpu {
    struct pvt_hv_vcpu_timer t;
    int tfd;             /* timerfd, CLOCK_MONOTONIC */
    int64_t armed_mono;  /* CLOCK_MONOTONIC ns it is armed for, or -1 */
    uint64_t armed_hv;   /* the hypervisor time that stands for */
    uint32_t vec_single; /* vectors injected on fire */
    uint32_t vec_periodic;
    uint64_t injected; /* interrupts injected */
    uint64_t inject_errors;
    uint64_t early_wakeups; /* timerfd fired before the hv deadline */
};

struct pvt_timersvc {
    struct pvt_timersvc_ops ops;
    void *ctx;
    unsigned int nvcpu;
    int epfd;
    int stopfd; /* eventfd: wakes the thread to stop */
    pthread_mutex_t lock;
    bool lock_init;
    pthread_t thread;
    bool running;
    atomic_int thread_err; /* negative errno the thread stopped on, else 0 */
    struct pvt_timersvc_vcpu vcpu[PVT_TIMERSVC_MAX_VCPUS];
    /* host wake-up lateness: CLOCK_MONOTONIC at the wake-up minus the time
     * the timerfd was armed for, ns, a ring of the last samples */
    int64_t lat[PVT_TIMERSVC_LAT_SAMPLES];
    uint64_t lat_count; /* all samples ever; the ring holds the last */
};

/*
 * Sets up the service for nvcpu vCPUs (1..PVT_TIMERSVC_MAX_VCPUS), each
 * with the timer config cfg, started at the hypervisor time read now (so
 * the default periodic timer, if cfg has one, is due one period later),
 * with vectors vec_single and vec_periodic. The thread is not started.
 * Returns 0, or a negative errno value (-EINVAL for bad arguments).
 * pvt_timersvc_destroy must be called after any return.
 */
int pvt_timersvc_init(struct pvt_timersvc *s, unsigned int nvcpu,
                      const struct pvt_hv_timer_config *cfg,
                      uint32_t vec_single, uint32_t vec_periodic,
                      const struct pvt_timersvc_ops *ops, void *ctx);

/* Starts the service thread (and arms the timers already set). Returns 0
 * or a negative errno value. */
int pvt_timersvc_start(struct pvt_timersvc *s);

/*
 * The guest's timer operations for vCPU vcpu, at the hypervisor's now
 * (read inside). Return 0, -EINVAL (bad vCPU, NULL), -ERANGE (a period
 * the timer refuses), or the clock's negative errno.
 */
int pvt_timersvc_singleshot(struct pvt_timersvc *s, unsigned int vcpu,
                            uint64_t deadline);
/* relative: *armed (may be NULL) gets the absolute deadline it made */
int pvt_timersvc_relative(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t delta, uint64_t *armed);
int pvt_timersvc_periodic(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t period);
int pvt_timersvc_stop(struct pvt_timersvc *s, unsigned int vcpu);

/*
 * After the hypervisor clock jumped (KVM_SET_CLOCK, migration): every
 * vCPU's singleshot timer is cancelled (the guest re-arms on resume) and
 * its periodic timer restarts on the new clock. Returns 0 or a negative
 * errno value.
 */
int pvt_timersvc_clock_jumped(struct pvt_timersvc *s);

/* A copy of vCPU vcpu's timer state (stats included), taken under the
 * lock. Returns 0 or -EINVAL. */
int pvt_timersvc_snapshot(struct pvt_timersvc *s, unsigned int vcpu,
                          struct pvt_timersvc_vcpu *out);

/* Copies up to max of the most recent wake-up lateness samples (ns) into
 * out, oldest first; returns how many. */
size_t pvt_timersvc_lateness(struct pvt_timersvc *s, int64_t *out, size_t max);

/* Stops the thread, closes everything. Call it after pvt_timersvc_init,
 * whatever that returned; calling it twice is safe. */
void pvt_timersvc_destroy(struct pvt_timersvc *s);

#endif /* PVTIMER_HOST_TIMERSVC_H */

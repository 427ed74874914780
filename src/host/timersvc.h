/*
 * The hypervisor's timer service on Linux: the virtual timers of
 * pvtimer/hvtimer.h (Xen's semantics, written once and clock-independent)
 * driven with real time, for one VM or many, as a VMM would.
 *
 * Shape. The service has a fixed number of virtual timers (one per vCPU of
 * every VM it serves; 16,384 or more), spread over a few service threads
 * (shards: timer i belongs to shard i % nthreads). Each shard keeps its
 * armed timers in one deadline queue (the project's ladder,
 * pvtimer/ladder.h, keyed by CLOCK_MONOTONIC ns) and has ONE host timer
 * (a timerfd) and one thread: the host timer is armed for the earliest
 * deadline plus the slack, and a wake-up fires every timer whose deadline
 * has passed. Deadlines within the slack of the earliest therefore share a
 * wake-up (coalescing, Xen's timer slop, Linux's timer slack): a timer
 * fires up to the slack late, never early. Memory is allocated once, by
 * pvt_timersvc_create; arming a timer allocates nothing and makes a system
 * call only when it moves its shard's earliest deadline forward.
 *
 * Clients. A client is one VM: its clock (read_clock), its injection
 * (inject) and a contiguous range of the timers (pvt_timersvc_add_client).
 * The set/stop functions name a timer by its service-wide index; inject
 * gets the client's own index (timer - first). pvt_timersvc_init is the
 * one-VM shorthand (one thread, one client, timer index = vCPU index) the
 * monitor uses.
 *
 * Time: the timers count in the client's hypervisor ns (kvmclock), which
 * runs at the host's CLOCK_MONOTONIC_RAW rate, while the queue and the
 * timerfd count CLOCK_MONOTONIC (NTP-slewed). Every arming takes the two
 * clocks from one paired reading (the client's read_clock) and queues at
 * mono_now + (deadline - hv_now); before firing, the service reads the
 * client's clock again and a timer whose deadline is still ahead in the
 * hypervisor's clock is queued again for the rest: nothing fires early.
 *
 * Timer advance (KVM's lapic_timer_advance_ns): the host timer is armed
 * advance_ns before the deadline and the thread finishes the wait with a
 * bounded busy-wait on the clock, so that the injection comes right at the
 * deadline rather than a wake-up latency after it. Adaptive (advance_ns =
 * -1, the default): after each wake-up the advance moves by 1/8 of the
 * wake's error when it came late, by 1/32 when early (KVM moves by 1/8 both
 * ways; here a late wake-up costs lateness, an early one only a bounded
 * busy-wait, so the advance settles above the median wake-up latency),
 * within [0, advance_max_ns], and a wake-up more than advance_max_ns off
 * (a load spike) teaches nothing.
 * The busy-wait is bounded by the advance plus spin_slack_ns and by a
 * per-client CPU budget (spin_cap_ppm of one CPU): a client out of budget
 * gets no advance and no busy-wait. Never early whatever the advance: the
 * busy-wait ends at the deadline.
 *
 * Storms: every timer has a minimum interval between fires (the client's
 * timer config min_interval_ns), and every client a cap on its fires per
 * second (max_fires_per_s, per shard, with a burst): a client that arms
 * past deadlines as fast as it can gets no more than its cap, the fires
 * beyond it deferred (not dropped), so the others' timers keep their
 * lateness.
 *
 * Threads: the clients' vCPU threads call the set/stop functions (inside
 * their hypercall handlers); the service threads fire. One mutex per shard
 * guards its timers; inject (and the fired callback) are called with it held (they must
 * not call back into the service).
 *
 * Errors: 0 or a negative errno value, as everywhere in src/host
 * (docs/conventions.md).
 */
#ifndef PVTIMER_HOST_TIMERSVC_H
#define PVTIMER_HOST_TIMERSVC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/hvtimer.h"

/* The most timers, threads and clients a service takes. */
#define PVT_TIMERSVC_MAX_TIMERS  (1u << 20)
#define PVT_TIMERSVC_MAX_THREADS 64u
#define PVT_TIMERSVC_MAX_CLIENTS 1024u
/* The one-VM shorthand's limit (its vCPUs are timers). */
#define PVT_TIMERSVC_MAX_VCPUS PVT_TIMERSVC_MAX_TIMERS
/* Wake-up lateness samples kept per thread (the most recent). */
#define PVT_TIMERSVC_LAT_SAMPLES 65536u

/* Adaptive advance (pvt_timersvc_config.advance_ns). */
#define PVT_TIMERSVC_ADVANCE_ADAPTIVE (-1)
#define PVT_TIMERSVC_ADVANCE_MAX_NS   200000 /* default bound: 200 us */
#define PVT_TIMERSVC_SPIN_SLACK_NS    20000  /* busy-wait beyond the advance */
#define PVT_TIMERSVC_SPIN_CAP_PPM     50000  /* 5% of a CPU per client */

/* One fire, as the optional fired callback sees it (for the stage
 * breakdown): times in CLOCK_MONOTONIC ns unless hv. */
struct pvt_timersvc_fire {
    uint64_t deadline_hv;  /* when the timer was due (slop applied) */
    uint64_t single_hv;    /* the singleshot deadline the guest asked for,
                              or PVT_HV_NEVER (a periodic fire) */
    uint64_t hv_at_fire;   /* the client's clock, read before inject ... */
    int64_t mono_at_fire;  /* ... paired with this CLOCK_MONOTONIC */
    int64_t deadline_mono; /* the deadline as queued */
    int64_t armed_mono;    /* the host timer was armed for this (advance
                              and slack applied), or -1 (no host timer:
                              fired in the round of another) */
    int64_t woke_mono;     /* the service thread ran (timerfd read) */
    int64_t inject_mono;   /* inject called */
    int64_t injected_mono; /* inject returned */
    int64_t spun_ns;       /* busy-wait before this round */
    unsigned int vector;
};

struct pvt_timersvc_ops {
    /*
     * The hypervisor clock (ns) and CLOCK_MONOTONIC (ns) at one moment.
     * Returns 0, or a negative errno value.
     */
    int (*read_clock)(void *ctx, uint64_t *hv_ns, int64_t *mono_ns);
    /* Deliver vector to the client's vCPU vcpu. Returns 0 or a negative
     * errno value. */
    int (*inject)(void *ctx, unsigned int vcpu, uint32_t vector);
};

/* Told of every fire after its inject (optional; its own ctx). */
typedef void (*pvt_timersvc_fired_fn)(void *ctx, unsigned int vcpu,
                                      const struct pvt_timersvc_fire *f);

/* A timer's state (pvt_timersvc_snapshot). */
struct pvt_timersvc_vcpu {
    struct pvt_hv_vcpu_timer t;
    int64_t armed_mono;  /* CLOCK_MONOTONIC ns it is queued for, or -1 */
    uint64_t armed_hv;   /* the hypervisor time that stands for */
    uint32_t vec_single; /* vectors injected on fire */
    uint32_t vec_periodic;
    uint64_t injected; /* interrupts injected */
    uint64_t inject_errors;
    uint64_t early_wakeups; /* due in the queue, not yet in the hv clock */
    uint64_t throttled;     /* fires deferred by the client's cap */
};

struct pvt_timersvc_config {
    unsigned int ntimers;   /* 1 .. PVT_TIMERSVC_MAX_TIMERS */
    unsigned int nthreads;  /* 1 .. PVT_TIMERSVC_MAX_THREADS (0: 1) */
    unsigned int nclients;  /* 1 .. PVT_TIMERSVC_MAX_CLIENTS (0: 1) */
    uint64_t slack_ns;      /* coalescing window (0: none) */
    int64_t advance_ns;     /* >= 0 fixed, or PVT_TIMERSVC_ADVANCE_ADAPTIVE */
    int64_t advance_max_ns; /* adaptive bound (0: the default) */
    int64_t spin_slack_ns;  /* busy-wait beyond the advance (0: default,
                               < 0: none) */
    uint32_t spin_cap_ppm;  /* per-client busy-wait budget, parts per
                               million of one CPU (0: the default) */
    int rt_priority;        /* 0: the threads keep the default scheduling;
                        1 .. 99: SCHED_FIFO at it, where the host allows
                        it (else the default, silently: stats.rt says) */
    /* CLOCK_MONOTONIC source (NULL: the real one); tests and simulations
     * drive the service with pvt_timersvc_poll on a clock of their own. */
    int64_t (*mono_now)(void *ctx);
    void *mono_ctx;
};

/* The defaults: n timers, one thread, one client, no slack, adaptive
 * advance. */
#define PVT_TIMERSVC_CONFIG_DEFAULT(n)                                         \
    ((struct pvt_timersvc_config){.ntimers = (n),                              \
                                  .nthreads = 1,                               \
                                  .nclients = 1,                               \
                                  .advance_ns =                                \
                                      PVT_TIMERSVC_ADVANCE_ADAPTIVE})

struct pvt_timersvc_client_config {
    unsigned int ntimers; /* its vCPUs */
    struct pvt_hv_timer_config timer;
    uint32_t vec_single, vec_periodic; /* 32 .. 255 */
    struct pvt_timersvc_ops ops;
    void *ctx;
    pvt_timersvc_fired_fn fired; /* NULL: none */
    void *fired_ctx;
    uint64_t max_fires_per_s; /* per thread; 0: no cap */
    uint64_t burst;           /* fires above the rate at once (0: 1) */
};

/* Service-wide statistics (pvt_timersvc_get_stats), summed over threads. */
struct pvt_timersvc_stats {
    uint64_t wakeups;   /* host timer expiries handled */
    uint64_t spurious;  /* wake-ups that fired nothing */
    uint64_t fires;     /* timers fired (an inject or two each) */
    uint64_t coalesced; /* fires that shared a wake-up with an earlier one */
    uint64_t rearms;    /* timerfd_settime calls */
    uint64_t spins;     /* busy-waits */
    uint64_t spin_ns;   /* their total */
    uint64_t throttled; /* fires deferred by a client's cap */
    uint64_t early;     /* due in the queue, not yet in the hv clock */
    int64_t advance_ns; /* the current advance (thread 0's) */
    bool rt;            /* every thread runs SCHED_FIFO */
};

struct pvt__svc_shard;
struct pvt__svc_client;
struct pvt__svc_timer;

struct pvt_timersvc {
    struct pvt_timersvc_config cfg;
    unsigned int ntimers, nthreads, nclients_max;
    unsigned int nclients;          /* added so far */
    unsigned int timers_used;       /* given to clients so far */
    struct pvt__svc_timer *timer;   /* [ntimers] */
    struct pvt__svc_client *client; /* [nclients_max] */
    struct pvt__svc_shard *shard;   /* [nthreads] */
    pthread_mutex_t clients_lock;   /* add_client */
    bool lock_init;
    bool running;
    atomic_int thread_err; /* negative errno a thread stopped on, else 0 */
};

/*
 * Sets up a service of c->ntimers timers on c->nthreads threads for up to
 * c->nclients clients, allocating all its memory. No client, no thread
 * yet. Returns 0, -EINVAL (NULL, a count out of range, advance_ns below
 * -1), -ENOMEM, or a system call's negative errno. pvt_timersvc_destroy
 * must be called after any return.
 */
int pvt_timersvc_create(struct pvt_timersvc *s,
                        const struct pvt_timersvc_config *c);

/*
 * Adds a client (a VM) with cc->ntimers timers, taken from the service's
 * next free ones: *first gets the first one's index (timer first + i is
 * its vCPU i), *id (may be NULL) the client's index. Its timers start at
 * its hypervisor time read now (so the default periodic timer, if its
 * config has one, is due one period later). Before or after start; any
 * thread. Returns 0, -EINVAL (NULL, ntimers 0, bad vectors or ops, a
 * timer config hvtimer refuses), -ENOSPC (not enough timers or clients
 * left), or the clock's negative errno.
 */
int pvt_timersvc_add_client(struct pvt_timersvc *s,
                            const struct pvt_timersvc_client_config *cc,
                            unsigned int *id, unsigned int *first);

/*
 * The one-VM shorthand: pvt_timersvc_create with the defaults for nvcpu
 * timers (1 .. PVT_TIMERSVC_MAX_VCPUS) and one client with the timer
 * config cfg, vectors vec_single and vec_periodic (32 .. 255), ops and
 * ctx, no cap. The thread is not started. Returns 0, or a negative errno
 * value (-EINVAL for bad arguments). pvt_timersvc_destroy must be called
 * after any return.
 */
int pvt_timersvc_init(struct pvt_timersvc *s, unsigned int nvcpu,
                      const struct pvt_hv_timer_config *cfg,
                      uint32_t vec_single, uint32_t vec_periodic,
                      const struct pvt_timersvc_ops *ops, void *ctx);

/* Sets client id's fired callback (NULL: none) and its ctx before
 * start. Returns 0 or -EINVAL (NULL s, bad id, running). */
int pvt_timersvc_set_fired(struct pvt_timersvc *s, unsigned int id,
                           pvt_timersvc_fired_fn fired, void *ctx);

/* Asks for SCHED_FIFO at prio (1 .. 99; 0: none) for the threads, before
 * start. Returns 0 or -EINVAL (NULL, out of range, running). */
int pvt_timersvc_set_rt_priority(struct pvt_timersvc *s, int prio);

/* Sets the advance (>= 0 ns, or PVT_TIMERSVC_ADVANCE_ADAPTIVE) before
 * start. Returns 0 or -EINVAL (NULL, below -1, running). */
int pvt_timersvc_set_advance(struct pvt_timersvc *s, int64_t advance_ns);

/* Starts the service threads (and arms the timers already set). Returns
 * 0 or a negative errno value. */
int pvt_timersvc_start(struct pvt_timersvc *s);

/*
 * The guest's timer operations for timer `vcpu` (service-wide index), at
 * its client's now (read inside). Return 0, -EINVAL (bad timer, a timer no
 * client has, NULL), -ERANGE (a period the timer refuses), or the clock's
 * negative errno.
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
 * timer's singleshot is cancelled (the guest re-arms on resume) and its
 * periodic timer restarts on the new clock; for every client, or only for
 * client id. Return 0 or a negative errno value.
 */
int pvt_timersvc_clock_jumped(struct pvt_timersvc *s);
int pvt_timersvc_client_clock_jumped(struct pvt_timersvc *s, unsigned int id);

/*
 * Without threads (a caller's own loop, a simulation): fires what is due
 * on thread `thread`'s timers at the service's now (cfg.mono_now), no
 * busy-wait, and sets *next (may be NULL) to when that thread's host timer
 * should fire next (INT64_MAX: nothing armed). Returns the number of
 * timers fired, or -EINVAL (NULL, bad thread, the threads running).
 */
int pvt_timersvc_poll(struct pvt_timersvc *s, unsigned int thread,
                      int64_t *next);

/* A copy of timer vcpu's state, taken under its lock. Returns 0 or
 * -EINVAL. */
int pvt_timersvc_snapshot(struct pvt_timersvc *s, unsigned int vcpu,
                          struct pvt_timersvc_vcpu *out);

/* The statistics, summed over the threads. Returns 0 or -EINVAL. */
int pvt_timersvc_get_stats(struct pvt_timersvc *s,
                           struct pvt_timersvc_stats *out);

/* Copies up to max of the most recent host wake-up lateness samples (ns:
 * the thread ran this long after the time its timerfd was armed for) into
 * out, oldest first per thread; returns how many. */
size_t pvt_timersvc_lateness(struct pvt_timersvc *s, int64_t *out, size_t max);

/* Stops the threads, frees everything. Call it after pvt_timersvc_create
 * or pvt_timersvc_init, whatever they returned; calling it twice is safe. */
void pvt_timersvc_destroy(struct pvt_timersvc *s);

#endif /* PVTIMER_HOST_TIMERSVC_H */

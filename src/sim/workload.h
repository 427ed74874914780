/*
 * The random processes a scenario draws, shared by both backends: the
 * simulator consumes them as its world runs, the KVM run (src/kvmrun)
 * draws them up front and hands the timers to the guest. Each process has
 * its own random stream of the seed (timers 1, preemptions 2), so that a
 * seed gives the same timers and preemptions in every strategy's run,
 * whatever else a backend draws.
 */
#ifndef PVTIMER_SIM_WORKLOAD_H
#define PVTIMER_SIM_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "rng.h"

/* The timer workload: arrivals at exponential gaps, each a timer of a
 * log-uniform length, a fraction of them cancelled before they expire. */
struct pvt_sim_workload {
    struct pvt_sim_rng rng;
    double ln_dmin, ln_dmax; /* log of the shortest and longest timer, ns */
    double mean_gap_ns;      /* between arrivals */
    double cancel_fraction;
    /* several vCPUs: which of them a timer is armed for */
    unsigned int vcpu, nvcpus;
    double remote_fraction;
    struct pvt_sim_rng rng_remote;
};

/* One arrival, as drawn (the backends round it their own way). */
struct pvt_sim_arrival {
    double delta_ns;        /* armed this far ahead of now, guest clock */
    bool cancel;            /* cancelled before it expires */
    double cancel_after_ns; /* that long after arming (drawn even when not
                               cancelled: the draw order is fixed) */
    double gap_ns;          /* to the next arrival */
    int remote;             /* the vCPU it is armed for when not the
                               arming one; -1: local (always with 1 vCPU) */
};

/*
 * Starts the workload of p (checked by pvt_sim_params_check) for seed. With
 * timer_rate_hz 0 there are no arrivals: the caller must not draw.
 * Returns 0, or -1 when w or p is NULL. Any thread; w is the caller's.
 */
int pvt_sim_workload_init(struct pvt_sim_workload *w,
                          const struct pvt_sim_params *p, uint64_t seed);

/*
 * The random streams of vCPU v's process kind (1 timers, 2 preemptions, 3
 * the simulator's delivery latency, 4 remote choices): vCPU 0's are the
 * kinds themselves, so that one vCPU draws what it always drew. Returns the
 * stream number.
 */
uint64_t pvt_sim_stream(unsigned int v, unsigned int kind);

/*
 * vCPU v's share of the workload of p (v < p->vcpus): its own stream, at
 * timer_rate_hz / vcpus, a fraction remote_fraction of its timers armed
 * for another vCPU (drawn from a stream of their own, only with several
 * vCPUs). vCPU 0 of 1 is pvt_sim_workload_init. Returns 0, or -1 when w or
 * p is NULL or v is out of range. Any thread; w is the caller's.
 */
int pvt_sim_workload_init_vcpu(struct pvt_sim_workload *w,
                               const struct pvt_sim_params *p, uint64_t seed,
                               unsigned int v);

/* The first arrival's time, ns from the start of the run: the first draw,
 * once, before any pvt_sim_workload_next. -1 when w is NULL. */
double pvt_sim_workload_first(struct pvt_sim_workload *w);

/* The next arrival into *a: four draws, in the order both backends rely
 * on (with several vCPUs, then the remote choice from its own stream).
 * Returns 0, or -1 when w or a is NULL. */
int pvt_sim_workload_next(struct pvt_sim_workload *w,
                          struct pvt_sim_arrival *a);

/* One timer of the workload as a list, in integer ns. */
struct pvt_sim_workload_item {
    uint64_t at_ns;           /* arming time from the start of the run */
    uint64_t delta_ns;        /* >= 1 */
    uint64_t cancel_after_ns; /* >= 1 when cancelled; 0: not cancelled */
};

/*
 * The whole workload of p and seed up to p->duration_s, as the KVM run
 * hands it to its guest: arrival times summed in double precision, then
 * truncated. *out (free it; NULL when there are no timers) and *count.
 * Returns 0; -1 with a message in err when the arguments are NULL, memory
 * runs out, or the workload has more than max timers (a limit of the
 * consumer: nothing is truncated).
 */
int pvt_sim_workload_list(const struct pvt_sim_params *p, uint64_t seed,
                          size_t max, struct pvt_sim_workload_item **out,
                          size_t *count, char *err, size_t errlen);

/* The preemptions of the vCPU: exponential gaps between the end of one
 * and the start of the next, exponential lengths. */
struct pvt_sim_preemptions {
    struct pvt_sim_rng rng;
    bool on; /* preempt_rate_hz and preempt_mean_ms both > 0 */
    double mean_gap_ns, mean_len_ns;
};

/* Starts the preemptions of p for seed. Returns 0, or -1 when pr or p is
 * NULL. */
int pvt_sim_preemptions_init(struct pvt_sim_preemptions *pr,
                             const struct pvt_sim_params *p, uint64_t seed);

/* vCPU v's preemptions (its own stream; vCPU 0's are those of
 * pvt_sim_preemptions_init). Returns 0, or -1 as there. */
int pvt_sim_preemptions_init_vcpu(struct pvt_sim_preemptions *pr,
                                  const struct pvt_sim_params *p, uint64_t seed,
                                  unsigned int v);

/* The gap before the next preemption, then its length, ns: call them in
 * turn, gap first (only when pr->on). -1 when pr is NULL. */
double pvt_sim_preemptions_gap(struct pvt_sim_preemptions *pr);
double pvt_sim_preemptions_len(struct pvt_sim_preemptions *pr);

#endif /* PVTIMER_SIM_WORKLOAD_H */

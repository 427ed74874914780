/*
 * Internal to src/kvmrun: the scenario's faults, injected into a running
 * VM, and extra host load.
 */
#ifndef PVTIMER_KVMRUN_FAULTS_H
#define PVTIMER_KVMRUN_FAULTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim/params.h"

struct pvt_vmm;

/* The simulator's preemption process and migration, for real, on a
 * thread of their own. */
struct pvt__kvmrun_faults {
    struct pvt_vmm *vm;
    const atomic_llong *run_start; /* CLOCK_MONOTONIC ns, 0 until */
    const struct pvt_sim_params *p;
    uint64_t seed;
    atomic_bool stop;
    pthread_t thread;
    bool started;
    bool migrated;
    char err[128]; /* a failed injection; "" when none */
};

/*
 * Starts injecting p's faults into vm, drawn with seed, timed from
 * *run_start (the guest's first WORKLOAD call, pvt_exp_server.started_at;
 * the thread waits while it is 0). vm and run_start must outlive
 * pvt__kvmrun_faults_stop.
 * Returns 0, or -1 for a NULL argument or when no thread could be started
 * (the run goes on without faults).
 */
int pvt__kvmrun_faults_start(struct pvt__kvmrun_faults *f, struct pvt_vmm *vm,
                             const atomic_llong *run_start,
                             const struct pvt_sim_params *p, uint64_t seed);

/* Stops and joins the thread (nothing when it never started); f->err
 * tells of a failed injection. */
void pvt__kvmrun_faults_stop(struct pvt__kvmrun_faults *f);

#define PVT__KVMRUN_LOAD_MAX 64

/* Busy processes loading the host for the run's length. */
struct pvt__kvmrun_load {
    unsigned int n; /* started */
    pid_t pid[PVT__KVMRUN_LOAD_MAX];
};

/* Starts up to n (at most PVT__KVMRUN_LOAD_MAX) busy processes; l->n
 * says how many fork gave. */
void pvt__kvmrun_load_start(struct pvt__kvmrun_load *l, unsigned int n);

/* Kills and reaps them. */
void pvt__kvmrun_load_stop(struct pvt__kvmrun_load *l);

#endif /* PVTIMER_KVMRUN_FAULTS_H */

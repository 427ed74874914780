/*
 * Internal to src/kvmrun: where the paravirtual timer's time goes, stage by
 * stage, in a real run (`pvtimer kvm`'s "path_ns").
 *
 *   deadline -> host timer expiry   the host timer's programmed expiry
 *                                   minus the guest's deadline (negative:
 *                                   armed early by the advance; the slack)
 *   host timer -> thread running    the service thread's wake-up after
 *                                   that expiry (CLOCK_MONOTONIC)
 *   thread running -> injected      the thread's work, the busy-wait, the
 *                                   KVM_SIGNAL_MSI ioctl until it returned
 *   injected -> guest handler       the ioctl's return to the guest
 *                                   handler's first TSC read (the vCPU
 *                                   woken from HLT, the VM entry, the
 *                                   interrupt delivered): derived from the
 *                                   guest's TSC, converted to kvmclock by
 *                                   the guest, matched to the fire by its
 *                                   deadline; the vCPU's re-entry cannot be
 *                                   seen from user space and is inside it
 *   deadline -> guest handler       the whole path, in kvmclock ns
 *   device error after the switch   the guest's own |device error| (guest
 *                                   clock) once it runs on kvmclock: the
 *                                   path plus the strategy's aim
 *   device error before the switch  the same on the boot clock (jiffies),
 *                                   where the clock's tick (a read is up
 *                                   to a tick behind) and drift dominate
 *                                   it; the whole run's device error mixes
 *                                   the two
 *
 * The host stages come from the timer service's fired callback, the last
 * one from the guest's PVT_SAMPLE_ARRIVAL samples. Thread-safe: the
 * service thread records fires, the vCPU thread arrivals.
 */
#ifndef PVTIMER_KVMRUN_PATH_H
#define PVTIMER_KVMRUN_PATH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "timersvc.h"

enum pvt__kvmrun_stage {
    PVT__STAGE_EXPIRY,      /* deadline -> host timer expiry */
    PVT__STAGE_WAKE,        /* -> service thread running */
    PVT__STAGE_INJECT,      /* -> interrupt injected (ioctl returned) */
    PVT__STAGE_GUEST,       /* -> guest handler's first TSC read */
    PVT__STAGE_TOTAL,       /* deadline -> guest handler */
    PVT__STAGE_HOST,        /* deadline -> injected */
    PVT__STAGE_DEVICE,      /* the guest's |device error| after the switch */
    PVT__STAGE_DEVICE_BOOT, /* ... and before it (the boot clock) */
    PVT__STAGES
};

#define PVT__PATH_SAMPLES 65536u /* per stage, the first ones kept */
#define PVT__PATH_SLOTS   4096u  /* fires awaiting their arrival */

struct pvt__kvmrun_path {
    pthread_mutex_t lock;
    struct {
        uint64_t deadline_hv; /* the guest's deadline, 0: empty */
        uint64_t injected_hv;
    } slot[PVT__PATH_SLOTS];
    int64_t *v[PVT__STAGES]; /* [PVT__PATH_SAMPLES] */
    size_t n[PVT__STAGES];
    uint64_t fires, matched, spins;
    int64_t advance_setting; /* -1: adaptive */
    int64_t advance_final;   /* the service's advance at the end */
    bool rt;                 /* the service thread ran SCHED_FIFO */
    unsigned int threads;    /* the service's threads */
};

/* Returns 0 or -1 (out of memory); fini after either. */
int pvt__kvmrun_path_init(struct pvt__kvmrun_path *p, int64_t advance);
void pvt__kvmrun_path_fini(struct pvt__kvmrun_path *p);

/* The timer service's fired callback (ctx: the path). */
void pvt__kvmrun_path_fired(void *ctx, unsigned int vcpu,
                            const struct pvt_timersvc_fire *f);

/* The guest saw the interrupt for deadline_hv at arrival_hv (kvmclock). */
void pvt__kvmrun_path_arrival(struct pvt__kvmrun_path *p, uint64_t deadline_hv,
                              uint64_t arrival_hv);

/* The guest's |device error| of a programming made after the switch to
 * high resolution (kvmclock, the TSC), or before it (after_switch false):
 * the path plus the aim. */
void pvt__kvmrun_path_device_error(struct pvt__kvmrun_path *p, int64_t abs_ns,
                                   bool after_switch);

/* The stages' p50 / p99 as a JSON object's members, and as text lines. */
void pvt__kvmrun_path_json(FILE *f, struct pvt__kvmrun_path *p);
void pvt__kvmrun_path_print(FILE *f, struct pvt__kvmrun_path *p);

#endif /* PVTIMER_KVMRUN_PATH_H */

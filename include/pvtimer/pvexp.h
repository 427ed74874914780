/*
 * pvtimer's experiment protocol: the hypercalls by which pvtimer's own
 * guest (guest/scenario.c, guest/drift.c) takes its workload from the
 * monitor's user and reports what it measured (tools/kvm-scenario.c,
 * tools/kvm-drift.c, served through src/vmm/exp.c). Not platform ABI: a
 * guest OS needs only pvtimer/pvabi.h, and this header is not installed.
 *
 * Self-contained C11 (pvtimer/pvabi.h and <stdint.h>), freestanding. The
 * calling convention, the error codes and PVT_ABI_VERSION are pvabi.h's;
 * the numbers are this header's range of the one space pvabi.h describes,
 * [PVT_HC_EXP_BASE, PVT_HC_PIO_COUNT). A monitor serves these calls only
 * when its user registered the experiment's handlers; otherwise a call
 * stops the VM as any unknown number does.
 */
#ifndef PVTIMER_PVEXP_H
#define PVTIMER_PVEXP_H

#include <stdint.h>

#include "pvtimer/pvabi.h"

enum pvt_exp_hc_nr {
    PVT_HC_RESULT = PVT_HC_EXP_BASE, /* struct pvt_hc_result */
    PVT_HC_WORKLOAD,                 /* struct pvt_hc_workload */
    PVT_HC_EXP_END                   /* one past the highest number */
};

/*
 * RESULT: the guest reports measurements. type says what data points at:
 *   PVT_RESULT_SAMPLES  count (1..PVT_RESULT_BATCH_MAX) struct
 *                       pvt_result_sample
 *   PVT_RESULT_SUMMARY  one struct pvt_result_summary (count = 1); ends a
 *                       run: later samples belong to the next one
 *   PVT_RESULT_DRIFT    count (1..PVT_RESULT_DRIFT_BATCH_MAX) struct
 *                       pvt_result_drift: the drift estimator's updates
 *   PVT_RESULT_CLOCK    one struct pvt_result_clock (count = 1): the
 *                       cross-vCPU clock check of a guest with several
 * Samples and summaries are the calling vCPU's: with several vCPUs each
 * reports its own (the monitor knows which vCPU made the call).
 * OUT: ret 0, -EINVAL (unknown type or kind, bad count, a name that is not
 * NUL-terminated or unknown to the monitor), -EFAULT (data outside RAM),
 * -ENOSPC (more than PVT_RESULT_RUNS_MAX summaries per vCPU in one VM). pvtimer's
 * tool folds samples into fixed-size histograms: reporting costs the host
 * no memory per sample.
 */
#define PVT_RESULT_SAMPLES         1u
#define PVT_RESULT_SUMMARY         2u
#define PVT_RESULT_DRIFT           3u
#define PVT_RESULT_CLOCK           4u
#define PVT_RESULT_BATCH_MAX       256u
#define PVT_RESULT_DRIFT_BATCH_MAX 64u
#define PVT_RESULT_RUNS_MAX        16u

struct pvt_hc_result {
    /* IN */
    uint32_t type;
    uint32_t count;
    uint64_t data; /* guest-physical address */
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* Sample kinds (README.md's "What the numbers mean" defines the first
 * three). */
enum pvt_result_kind {
    PVT_SAMPLE_LATENESS = 1,     /* guest ns: callback time - deadline */
    PVT_SAMPLE_DEVICE_ERROR = 2, /* guest ns: event arrival - target */
    PVT_SAMPLE_AIM_ERROR = 3,    /* guest ns: device_error - (hv at event -
                                    programmed hv deadline) */
    PVT_SAMPLE_TSC_DEADLINE = 4, /* baseline: LAPIC TSC-deadline lateness,
                                    ns, seen by the guest */
    PVT_SAMPLE_ARRIVAL = 5,      /* the paravirtual timer's path: value =
                                    kvmclock ns at the handler's first TSC
                                    read, t_ns = the hv deadline it was
                                    for (not an uptime) */
    PVT_SAMPLE_KIND_MAX
};

/* flags of a sample */
#define PVT_SAMPLE_AFTER_SWITCH (1u << 0) /* programmed after high-res */
#define PVT_SAMPLE_LOCKED                                                      \
    (1u << 1) /* programmed while the device's
                                             drift estimator was locked */
#define PVT_SAMPLE_FLAGS (PVT_SAMPLE_AFTER_SWITCH | PVT_SAMPLE_LOCKED)

struct pvt_result_sample {
    uint32_t kind;  /* enum pvt_result_kind */
    uint32_t flags; /* PVT_SAMPLE_* */
    int64_t value;  /* ns */
    int64_t t_ns;   /* guest uptime of the sample */
};

struct pvt_result_summary {
    char strategy[32]; /* NUL-terminated strategy name */
    uint64_t timers;   /* armed by the workload */
    uint64_t fired;
    uint64_t cancelled;
    uint64_t pending; /* still armed at the end, not yet due */
    uint64_t lost;    /* armed, due more than 1 s ago, not fired */
    uint64_t early_callbacks;
    uint64_t device_interrupts;
    uint64_t spurious_interrupts;
    uint64_t splits;
    uint64_t hangs;
    uint64_t hv_past_sets;      /* hv deadlines already past when set */
    int64_t highres_at_ns;      /* guest ns of the switch, or -1 */
    int64_t end_ns;             /* guest ns at the end */
    uint64_t ticks;             /* boot ticks that arrived */
    uint64_t tsc_khz;           /* the guest's calibrated TSC */
    uint64_t resumes;           /* migrations the guest resumed from */
    int64_t drift_locked_at_ns; /* guest ns the estimator last locked, -1 */
    uint64_t drift_steps;       /* its restarts */
    int64_t drift_ppb;          /* its last frequency estimate */
    uint64_t remote_armed;      /* of its timers, armed by another vCPU */
    uint64_t ipis;              /* kicks (IPIs) it handled */
};

/*
 * The cross-vCPU clock check (Linux's TSC warp check, on the guest
 * clock): the vCPUs take turns at one lock, each reads the guest clock
 * inside it and compares with the last value any vCPU stored there.
 */
struct pvt_result_clock {
    uint64_t reads;       /* clock reads made inside the lock */
    uint64_t cross_pairs; /* reads whose previous read was another vCPU's */
    uint64_t backwards;   /* reads earlier than the previous read */
    uint64_t backwards_max_ns; /* the largest such step back */
    uint64_t guard_clamps;     /* reads the pvclock last-value guard raised */
    uint32_t tsc_stable;       /* 1: the pages' TSC_STABLE was honoured */
    uint32_t pad;
};

/*
 * One update of a drift measurement (`pvtimer drift --kvm`): clock B (the
 * hypervisor's kvmclock) against clock A (the guest's TSC clocksource), as
 * the core's estimator (pvtimer/drift.h) saw it after a sample.
 */
struct pvt_result_drift {
    int64_t t_ns;      /* A's ns since the measurement started */
    int64_t offset_ns; /* B - A, from the fit */
    int64_t slope_q48; /* rate - 1 as 16.48: ppm = slope * 1e6 / 2^48 */
    uint64_t delay_ns; /* the sample's bracket */
    uint32_t state;    /* enum pvt_drift_state, 0..3 */
    uint32_t window;   /* samples in the fit in use */
    uint64_t steps;    /* restarts so far */
    uint64_t dropped;  /* samples dropped for a wide bracket so far */
};

/*
 * WORKLOAD: the timer workload of a scenario run, drawn by the monitor
 * (with the simulator's distributions and seed, so every strategy's run
 * gets the same one): items first .. first + max_items - 1 copied to buf.
 * OUT: ret 0, -EFAULT (buf outside RAM), -EINVAL (max_items 0 or above
 * PVT_WORKLOAD_CHUNK_MAX); count items copied (0 past the end), total in
 * the workload (0: none was given).
 */
#define PVT_WORKLOAD_CHUNK_MAX 4096u

struct pvt_workload_item {
    uint64_t at_ns;           /* when it is armed: ns of true time (the
                                 guest's TSC) since the run started */
    uint64_t delta_ns;        /* armed this far ahead in the guest clock */
    uint64_t cancel_after_ns; /* cancelled this long after arming; 0: not */
};

struct pvt_hc_workload {
    /* IN */
    uint64_t buf; /* guest-physical address of max_items items */
    uint32_t first;
    uint32_t max_items;
    /* OUT */
    int32_t ret;
    uint32_t count;
    uint32_t total;
    uint32_t pad;
};

/* The layout is the ABI: any change here is a new PVT_ABI_VERSION. */
_Static_assert(sizeof(struct pvt_hc_result) == 24, "pvt_hc_result layout");
_Static_assert(sizeof(struct pvt_result_sample) == 24,
               "pvt_result_sample layout");
_Static_assert(sizeof(struct pvt_result_clock) == 48,
               "pvt_result_clock layout");
_Static_assert(sizeof(struct pvt_result_summary) == 200,
               "pvt_result_summary layout");
_Static_assert(sizeof(struct pvt_result_drift) == 56,
               "pvt_result_drift layout");
_Static_assert(sizeof(struct pvt_workload_item) == 24,
               "pvt_workload_item layout");
_Static_assert(sizeof(struct pvt_hc_workload) == 32, "pvt_hc_workload layout");
_Static_assert(PVT_HC_EXP_END <= PVT_HC_PIO_COUNT,
               "the experiment's numbers fit the window");

#endif /* PVTIMER_PVEXP_H */

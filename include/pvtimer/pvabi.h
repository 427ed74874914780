/*
 * pvtimer's guest<->monitor ABI: the hypercalls between the freestanding
 * guest kernel (guest/) and the KVM monitor (src/vmm/).
 *
 * Self-contained C11 (only <stdint.h>), included by both sides; the guest
 * builds it freestanding. Little endian, x86-64.
 *
 * Calling convention: the guest fills the call's struct (IN part), then
 * writes the struct's guest-physical address with a 32-bit `out` to the
 * call's port, PVT_HC_PIO(nr); so every struct lives below 4 GiB. When the
 * `out` instruction completes, the monitor has filled the OUT part. The
 * monitor copies the struct in before it looks at it and copies the OUT
 * part back after, so the guest cannot change a value after it was checked.
 *
 * Errors: `ret` is 0 (or a documented non-negative value) on success and a
 * negated PVT_HC_E* code on failure. The monitor stops the VM, with a
 * message, when it cannot even return an error: an unknown hypercall
 * number, a struct outside guest RAM, or an access to a port of the window
 * that is not a 32-bit `out`.
 *
 * Detecting the monitor: a guest zeroes struct pvt_hc_info and calls INFO;
 * only this monitor sets `magic` to PVT_ABI_MAGIC (on another hypervisor the
 * port write goes nowhere). Then it compares abi_version with its own.
 */
#ifndef PVTIMER_PVABI_H
#define PVTIMER_PVABI_H

#include <stdint.h>

/* Bumped on any incompatible change to a struct, number or meaning. */
#define PVT_ABI_VERSION 2u
/* "PVTM": what INFO writes into magic. */
#define PVT_ABI_MAGIC 0x4d545650u

/*
 * The hypercall port window, [PVT_HC_PIO_BASE, + PVT_HC_PIO_COUNT). KVM
 * emulates none of it in the kernel (PIC 0x20/0xa0, PIT 0x40, PS/2 0x60,
 * RTC 0x70, debug 0x80, ELCR 0x4d0, serial 0x3f8 are all far away), so
 * every access exits to the monitor.
 */
#define PVT_HC_PIO_BASE  0x5000u
#define PVT_HC_PIO_COUNT 0x100u
#define PVT_HC_PIO(nr)   (PVT_HC_PIO_BASE + (uint32_t)(nr))

/* Hypercall numbers. Numbers are never reused. */
enum pvt_hc_nr {
    PVT_HC_INFO = 0,             /* struct pvt_hc_info */
    PVT_HC_CONSOLE_WRITE = 1,    /* struct pvt_hc_console_write */
    PVT_HC_EXIT = 2,             /* struct pvt_hc_exit; does not return */
    PVT_HC_TIMER_SINGLESHOT = 3, /* struct pvt_hc_timer_singleshot */
    PVT_HC_TIMER_RELATIVE = 4,   /* struct pvt_hc_timer_relative */
    PVT_HC_TIMER_PERIODIC = 5,   /* struct pvt_hc_timer_periodic */
    PVT_HC_TIMER_STOP = 6,       /* struct pvt_hc_timer_stop */
    PVT_HC_RESULT = 7,           /* struct pvt_hc_result */
    PVT_HC_SUSPEND = 8,          /* struct pvt_hc_suspend */
    PVT_HC_WORKLOAD = 9,         /* struct pvt_hc_workload */
    PVT_HC_MAX
};

/*
 * Interrupt vectors the monitor injects (as MSIs to the vCPU's local APIC,
 * fixed delivery, edge): the guest installs handlers for them before it
 * enables interrupts. The singleshot and the periodic timer fire
 * separately; when both are due they come together, singleshot first.
 * PVT_VEC_CONTROL means "the monitor wants a PVT_HC_SUSPEND call" (a
 * migration or a pause is waiting for the guest to reach a safe point).
 */
#define PVT_VEC_SINGLESHOT 0x40u
#define PVT_VEC_PERIODIC   0x41u
#define PVT_VEC_CONTROL    0x42u

/* Error codes for `ret`, negated; the numbers are Linux's errno values. */
#define PVT_HC_EFAULT     14 /* a buffer lies (partly) outside guest RAM */
#define PVT_HC_EINVAL     22 /* a bad value (reserved field not 0, ...) */
#define PVT_HC_ERANGE     34 /* a value out of the call's range */
#define PVT_HC_ENOSPC     28 /* a bounded store of the monitor is full */
#define PVT_HC_ENOSYS     38 /* call known but not implemented by this monitor */
#define PVT_HC_EOPNOTSUPP 95 /* the guest's ABI version is not supported */

/* Longest CONSOLE_WRITE: longer writes are refused with -PVT_HC_EINVAL.
 * A VM may write PVT_HC_CONSOLE_BUDGET bytes in all; later writes get
 * -PVT_HC_ENOSPC (a guest cannot fill the host's disk or terminal). */
#define PVT_HC_CONSOLE_MAX    4096u
#define PVT_HC_CONSOLE_BUDGET (64u << 20)

/*
 * INFO: versions, guest RAM and the command line the monitor was given.
 * IN: the guest's ABI version and a buffer for the command line. OUT: ret
 * is 0, or -PVT_HC_EOPNOTSUPP when abi_version differs from the monitor's
 * (the other OUT fields are still filled, so the guest can say why), or
 * -PVT_HC_EFAULT when the buffer is outside RAM. The command line is copied
 * NUL-terminated and truncated to cmdline_size - 1 bytes; cmdline_len is
 * its full length, so cmdline_len >= cmdline_size means it was cut.
 */
struct pvt_hc_info {
    /* IN */
    uint32_t abi_version;  /* the guest's PVT_ABI_VERSION */
    uint32_t cmdline_size; /* bytes at cmdline; 0: no command line wanted */
    uint64_t cmdline;      /* guest-physical address of the buffer */
    /* OUT */
    int32_t ret;
    uint32_t magic;           /* PVT_ABI_MAGIC */
    uint32_t host_abi;        /* the monitor's PVT_ABI_VERSION */
    uint32_t monitor_version; /* major << 16 | minor << 8 | patch */
    uint64_t mem_size;        /* bytes of guest RAM, from GPA 0 */
    uint32_t cmdline_len;     /* length of the full command line */
    uint32_t pad;
};

/*
 * CONSOLE_WRITE: len bytes at data to the monitor's console. OUT: ret is
 * the number of bytes written (len), -PVT_HC_EINVAL when len exceeds
 * PVT_HC_CONSOLE_MAX, -PVT_HC_EFAULT when [data, data + len) is not inside
 * guest RAM (or wraps), -PVT_HC_ENOSPC past PVT_HC_CONSOLE_BUDGET.
 */
struct pvt_hc_console_write {
    /* IN */
    uint64_t data; /* guest-physical address */
    uint64_t len;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* EXIT: stops the VM; the monitor reports status (0 is success). */
struct pvt_hc_exit {
    /* IN */
    int32_t status;
    uint32_t pad;
};

/*
 * The timers, as Xen defines them (pvtimer/hvtimer.h has the semantics):
 * every vCPU starts with a periodic timer of PVT_HC_DEFAULT_PERIOD_NS,
 * first due one period after the vCPU starts, until the guest stops it.
 * A deadline less than the monitor's slop (50 us) ahead fires that slop
 * after the call (late, never early); the monitor rate-limits fires to one
 * per PVT_HC_MIN_INTERVAL_NS per vCPU (deferred, never dropped).
 * Deadlines are kvmclock ns: what the guest reads from its kvmclock page.
 */
#define PVT_HC_DEFAULT_PERIOD_NS 10000000ull
#define PVT_HC_MIN_PERIOD_NS     1000000ull
#define PVT_HC_MIN_INTERVAL_NS   10000ull
/* Deadlines and deltas beyond this (about 13 days ahead) get -ERANGE. */
#define PVT_HC_MAX_AHEAD_NS (1ull << 50)

/*
 * TIMER_SINGLESHOT: fire once at deadline_ns, an absolute kvmclock time; a
 * deadline in the past fires at once, one more than PVT_HC_MAX_AHEAD_NS
 * ahead is refused. OUT: ret 0 or a negated code.
 */
struct pvt_hc_timer_singleshot {
    /* IN */
    uint64_t deadline_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/*
 * TIMER_RELATIVE: fire once delta_ns after the monitor handles the call
 * (delta_ns <= PVT_HC_MAX_AHEAD_NS). OUT: ret 0 or a negated code, and
 * the absolute deadline that makes (the monitor's now + delta_ns), so a
 * guest can see what a late call cost it.
 */
struct pvt_hc_timer_relative {
    /* IN */
    uint64_t delta_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
    uint64_t deadline_ns; /* the kvmclock deadline armed (when ret is 0) */
};

/*
 * TIMER_PERIODIC: fire every period_ns, first one period after the call;
 * 0 stops the periodic timer. OUT: ret 0, or -ERANGE for a period below
 * PVT_HC_MIN_PERIOD_NS or above PVT_HC_MAX_AHEAD_NS.
 */
struct pvt_hc_timer_periodic {
    /* IN */
    uint64_t period_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* TIMER_STOP: cancel the pending singleshot timer. OUT: ret. */
struct pvt_hc_timer_stop {
    /* IN */
    uint32_t reserved; /* must be 0 */
    /* OUT */
    int32_t ret;
};

/*
 * RESULT: the guest reports measurements. type says what data points at:
 *   PVT_RESULT_SAMPLES  count (1..PVT_RESULT_BATCH_MAX) struct
 *                       pvt_result_sample
 *   PVT_RESULT_SUMMARY  one struct pvt_result_summary (count = 1); ends a
 *                       run: later samples belong to the next one
 *   PVT_RESULT_DRIFT    count (1..PVT_RESULT_DRIFT_BATCH_MAX) struct
 *                       pvt_result_drift: the drift estimator's updates
 * OUT: ret 0, -EINVAL (unknown type or kind, bad count, a name that is not
 * NUL-terminated or unknown to the monitor), -EFAULT (data outside RAM),
 * -ENOSPC (more runs than the monitor keeps, PVT_RESULT_RUNS_MAX). The
 * monitor folds samples into fixed-size histograms: reporting costs it no
 * memory per sample.
 */
#define PVT_RESULT_SAMPLES         1u
#define PVT_RESULT_SUMMARY         2u
#define PVT_RESULT_DRIFT           3u
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

/* Sample kinds (DESIGN.md defines the first three). */
enum pvt_result_kind {
    PVT_SAMPLE_LATENESS = 1,     /* guest ns: callback time - deadline */
    PVT_SAMPLE_DEVICE_ERROR = 2, /* guest ns: event arrival - target */
    PVT_SAMPLE_AIM_ERROR = 3,    /* guest ns: device_error - (hv at event -
                                    programmed hv deadline) */
    PVT_SAMPLE_TSC_DEADLINE = 4, /* baseline: LAPIC TSC-deadline lateness,
                                    ns, seen by the guest */
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
 * SUSPEND: the guest's answer to PVT_VEC_CONTROL, made at a safe point
 * (interrupts off, nothing half-programmed). The monitor carries out what
 * was waiting (a migration: a kvmclock jump) before it returns. OUT: ret
 * 0 when nothing happened, 1 when the guest was moved: the clock may have
 * jumped and the singleshot timer was cancelled, so the guest runs its
 * resume path (forget the pvclock last value, continue its clock, re-arm).
 */
struct pvt_hc_suspend {
    /* IN */
    uint32_t reserved; /* must be 0 */
    /* OUT */
    int32_t ret;
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
_Static_assert(sizeof(struct pvt_hc_info) == 48, "pvt_hc_info layout");
_Static_assert(sizeof(struct pvt_hc_console_write) == 24,
               "pvt_hc_console_write layout");
_Static_assert(sizeof(struct pvt_hc_exit) == 8, "pvt_hc_exit layout");
_Static_assert(sizeof(struct pvt_hc_timer_singleshot) == 16,
               "pvt_hc_timer_singleshot layout");
_Static_assert(sizeof(struct pvt_hc_timer_relative) == 24,
               "pvt_hc_timer_relative layout");
_Static_assert(sizeof(struct pvt_hc_timer_periodic) == 16,
               "pvt_hc_timer_periodic layout");
_Static_assert(sizeof(struct pvt_hc_timer_stop) == 8,
               "pvt_hc_timer_stop layout");
_Static_assert(sizeof(struct pvt_hc_result) == 24, "pvt_hc_result layout");
_Static_assert(sizeof(struct pvt_result_sample) == 24,
               "pvt_result_sample layout");
_Static_assert(sizeof(struct pvt_result_summary) == 184,
               "pvt_result_summary layout");
_Static_assert(sizeof(struct pvt_hc_suspend) == 8, "pvt_hc_suspend layout");
_Static_assert(sizeof(struct pvt_result_drift) == 56,
               "pvt_result_drift layout");
_Static_assert(sizeof(struct pvt_workload_item) == 24,
               "pvt_workload_item layout");
_Static_assert(sizeof(struct pvt_hc_workload) == 32, "pvt_hc_workload layout");
_Static_assert(PVT_HC_MAX <= PVT_HC_PIO_COUNT, "hypercalls fit the window");

#endif /* PVTIMER_PVABI_H */

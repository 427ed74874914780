/*
 * The KVM monitor: one VM, guest RAM at GPA 0, one vCPU entered directly
 * in 64-bit long mode at the entry point of an ELF64 guest image.
 *
 * Use: pvt_vmm_init (guest RAM), pvt_vmm_elf_load (needs no KVM, so a bad
 * image is reported even where KVM is absent), pvt_vmm_kvm_setup,
 * pvt_vmm_run, pvt_vmm_destroy (always, even after a failure). Functions
 * return 0 on success and -1 on failure with the reason in vm->err.
 *
 * Guest-physical layout below the image (the image must start at or above
 * PVT_VMM_LOAD_MIN, so loading it cannot overwrite these):
 *   0x1000 GDT, 0x2000 PML4, 0x3000 PDPT, 0x4000.. page directories
 *   (2 MiB pages, one per GiB), 0x80000 top of the boot stack.
 */
#ifndef PVTIMER_VMM_H
#define PVTIMER_VMM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pvtimer/pvabi.h"

struct pvt_timersvc;

#define PVT_VMM_GDT_GPA        0x1000u
#define PVT_VMM_PML4_GPA       0x2000u
#define PVT_VMM_PDPT_GPA       0x3000u
#define PVT_VMM_PD_GPA         0x4000u
#define PVT_VMM_BOOT_STACK_TOP 0x80000u
#define PVT_VMM_LOAD_MIN       0x100000u

/* Guest RAM limits: the tables above need 4 page directories at most, and
 * RAM stays below the IOAPIC/APIC window at 0xFEC00000. */
#define PVT_VMM_MEM_MIN (4ull << 20)
#define PVT_VMM_MEM_MAX (3ull << 30)

/* Largest guest image file read. */
#define PVT_VMM_IMAGE_MAX (64ull << 20)

struct pvt_vmm_config {
    const char *guest_path; /* ELF64 image */
    uint64_t mem_size;      /* bytes, within [PVT_VMM_MEM_MIN, _MAX] */
    unsigned int timeout_s; /* wall-clock limit of pvt_vmm_run; 0: none */
    const char *cmdline;    /* handed to the guest by INFO; may be NULL */
    int console_fd;         /* where the guest console goes */
    bool no_timers;         /* no timer service: timer calls get -ENOSYS */
    const char *kvm_path;   /* NULL: /dev/kvm */
    /* RESULT hypercalls, validated, on the vCPU thread (may be NULL: the
     * results are dropped). A negative return stops the VM. */
    int (*on_samples)(void *ctx, const struct pvt_result_sample *s, size_t n);
    int (*on_summary)(void *ctx, const struct pvt_result_summary *sum);
    int (*on_drift)(void *ctx, const struct pvt_result_drift *u, size_t n);
    void *result_ctx;
    /* the scenario's workload for WORKLOAD calls (may be NULL) */
    const struct pvt_workload_item *workload;
    uint32_t workload_count;
};

/* What the monitor did, for reports. */
struct pvt_vmm_stats {
    uint64_t hypercalls[PVT_HC_MAX];
    uint64_t refused; /* hypercalls answered with an error */
    uint64_t preemptions;
    uint64_t preempted_ns;
    uint64_t migrations;
    uint64_t summaries;
};

struct pvt_vmm {
    struct pvt_vmm_config cfg;
    uint8_t *mem; /* guest RAM, GPA 0 .. cfg.mem_size */
    uint64_t entry;
    int kvm_fd;
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    /* the watchdog: a POSIX timer whose signal sets timed_out and makes
     * KVM_RUN return at once */
    bool timer_armed;
    timer_t timer;
    bool sigaction_saved;
    struct sigaction old_sigaction;
    bool kick_saved;
    struct sigaction old_kick_action;
    volatile sig_atomic_t timed_out;
    /* the timer service (NULL with cfg.no_timers) */
    struct pvt_timersvc *svc;
    /* the vCPU thread (set by pvt_vmm_run), kicked out of KVM_RUN by a
     * signal for faults injected from other threads */
    pthread_t vcpu_thread;
    atomic_bool running;
    atomic_llong preempt_ns; /* a preemption to serve, ns */
    atomic_bool migrate_pending;
    atomic_llong migrate_jump_ns;
    /* CLOCK_MONOTONIC ns of the guest's first WORKLOAD call (its scenario
     * run starts then; fault schedules count from it), or 0 */
    atomic_llong workload_at;
    struct pvt_vmm_stats stats;
    uint64_t console_bytes; /* written so far, against the budget */
    /* results */
    bool kvm_unavailable; /* err says why KVM cannot be used here */
    bool guest_exited;
    int guest_status; /* the EXIT hypercall's status, when guest_exited */
    char err[512];
};

/*
 * Checks cfg, maps cfg->mem_size bytes of zeroed guest RAM and copies cfg
 * into vm (the strings must outlive vm). Opens nothing else.
 * Returns 0, or -1 with vm->err set (bad size, out of memory).
 */
int pvt_vmm_init(struct pvt_vmm *vm, const struct pvt_vmm_config *cfg);

/*
 * Reads vm->cfg.guest_path, validates it as an ELF64 x86-64 executable
 * whose PT_LOAD segments lie within the file and within guest RAM at or
 * above PVT_VMM_LOAD_MIN (vaddr == paddr: the guest is identity mapped),
 * with the entry point inside an executable segment, and only then copies
 * the segments into guest RAM (zeroing the rest of each) and sets vm->entry.
 * Returns 0, or -1 with vm->err naming the file and the defect.
 */
int pvt_vmm_elf_load(struct pvt_vmm *vm);

/*
 * Opens /dev/kvm, creates the VM (TSS, in-kernel irqchip, RAM at GPA 0),
 * one vCPU with TSC-deadline in its CPUID, and puts the vCPU in long mode
 * at vm->entry. Call after pvt_vmm_elf_load. Returns 0, or -1 with vm->err
 * set; vm->kvm_unavailable when /dev/kvm cannot be used at all.
 */
int pvt_vmm_kvm_setup(struct pvt_vmm *vm);

/*
 * Runs the vCPU until the guest calls EXIT (returns 0, status in
 * vm->guest_status) or anything else stops it: the watchdog, a halt, a
 * triple fault, an entry failure, an access outside RAM, a bad hypercall
 * (returns -1, vm->err says which, with the guest's RIP).
 */
int pvt_vmm_run(struct pvt_vmm *vm);

/*
 * Handles the KVM_EXIT_IO in vm->run: a hypercall, validated. Returns 0 to
 * continue, 1 when the guest called EXIT, -1 to stop with vm->err set.
 */
int pvt_vmm_handle_io(struct pvt_vmm *vm);

/*
 * The kvmclock time and CLOCK_MONOTONIC at one moment (KVM_GET_CLOCK
 * between two clock_gettime calls, paired with their midpoint). Returns 0
 * or a negative errno value.
 */
int pvt_vmm_read_clock(void *vm, uint64_t *kvmclock_ns, int64_t *mono_ns);

/*
 * Fault injection, from any thread while pvt_vmm_run runs:
 *   preempt: keep the vCPU out of the guest for ns (it is kicked out of
 *            KVM_RUN and sleeps; interrupts wait in its LAPIC);
 *   migrate: ask the guest for a SUSPEND call (PVT_VEC_CONTROL), in which
 *            the kvmclock jumps by jump_ns (KVM_SET_CLOCK) and the timers
 *            follow. Refused (-EINVAL) if the clock would go below 0.
 * Return 0 or a negative errno value.
 */
int pvt_vmm_preempt(struct pvt_vmm *vm, uint64_t ns);
int pvt_vmm_migrate(struct pvt_vmm *vm, int64_t jump_ns);

/* Releases everything pvt_vmm_init and later steps acquired; vm may be in
 * any state they left it in. */
void pvt_vmm_destroy(struct pvt_vmm *vm);

/* Serves PVT_HC_SUSPEND: carries out a pending migration. Returns 1 when
 * the guest was moved, 0 when nothing was pending, -1 with vm->err set. */
int pvt__vmm_suspend(struct pvt_vmm *vm);

/* Formats the reason into vm->err; returns -1 for `return pvt__vmm_fail()`. */
int pvt__vmm_fail(struct pvt_vmm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Is [gpa, gpa + len) inside guest RAM, without wrapping? */
static inline bool pvt_vmm_gpa_ok(const struct pvt_vmm *vm, uint64_t gpa,
                                  uint64_t len)
{
    return gpa <= vm->cfg.mem_size && len <= vm->cfg.mem_size - gpa;
}

#endif /* PVTIMER_VMM_H */

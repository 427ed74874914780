/*
 * The KVM monitor: one VM, guest RAM at GPA 0, one or more vCPUs (each
 * run by a thread of its own), vCPU 0 entered directly in 64-bit long
 * mode at the entry point of an ELF64 guest image, the others started the
 * same way where the guest asks (PVT_HC_VCPU_UP: no INIT/SIPI here).
 *
 * Use: pvt_vmm_init (guest RAM), pvt_vmm_elf_load (needs no KVM, so a bad
 * image is reported even where KVM is absent), pvt_vmm_kvm_setup,
 * pvt_vmm_run, pvt_vmm_destroy (always, even after a failure). Functions
 * return 0 on success and a negative errno value on failure, with the
 * reason for a human in vm->err (docs/conventions.md).
 *
 * Hypercalls: the monitor serves the platform's (pvtimer/pvabi.h) itself;
 * its user adds others (pvtimer's experiment protocol, src/vmm/exp.h) as a
 * table of handlers in the config, as Solo5's tender registers modules.
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

struct kvm_run;
struct pvt_timersvc;
struct pvt_vmm;

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

/* Largest hypercall struct a handler may take (the monitor's copy lives on
 * the vCPU thread's stack). */
#define PVT_VMM_HC_SIZE_MAX 256u

/* A handler's return: the guest called EXIT, pvt_vmm_run returns 0. */
#define PVT_VMM_HC_EXIT 1

/* Most vCPUs of one VM (the timer service's limit). */
#define PVT_VMM_MAX_VCPUS 64u

/*
 * One hypercall's handler. Before calling it the monitor has checked that
 * the call's struct (size bytes at the address the guest wrote) lies in
 * guest RAM and copied it into args; afterwards it copies all size bytes
 * back. The handler validates every field it uses (the guest is
 * untrusted), reads any buffer the struct points at with
 * pvt_vmm_guest_read (checked, copied), serves the call and fills the OUT
 * part of args. It runs on the vCPU thread, inside pvt_vmm_handle_io.
 * Returns 0 to resume the guest, PVT_VMM_HC_EXIT to end the run, or a
 * negative errno value to stop the VM after setting vm->err (pvt_vmm_fail).
 * With several vCPUs, handlers run on every vCPU's thread but one at a
 * time (the monitor holds a lock around each call); pvt_vmm_vcpu_self
 * says whose call it is.
 */
struct pvt_vmm_hypercall {
    uint32_t nr;   /* below PVT_HC_PIO_COUNT */
    uint32_t size; /* bytes of its struct, 1..PVT_VMM_HC_SIZE_MAX */
    int (*handle)(struct pvt_vmm *vm, void *args, void *ctx);
    void *ctx;
};

struct pvt_vmm_config {
    const char *guest_path; /* ELF64 image */
    uint64_t mem_size;      /* bytes, within [PVT_VMM_MEM_MIN, _MAX] */
    unsigned int timeout_s; /* wall-clock limit of pvt_vmm_run; 0: none */
    const char *cmdline;    /* handed to the guest by INFO; may be NULL */
    int console_fd;         /* where the guest console goes */
    bool no_timers;         /* no timer service: timer calls get -ENOSYS */
    const char *kvm_path;   /* NULL: /dev/kvm */
    unsigned int vcpus;     /* 0 or 1: one; at most PVT_VMM_MAX_VCPUS */
    /* the timer service's threads (vCPU i's timer on thread i % n): 0 or
     * 1: one; more than vcpus counts as vcpus; at most
     * PVT_VMM_MAX_VCPUS. The VM's busy-wait budget is shared among them. */
    unsigned int service_threads;
    /* hypercalls served beside the platform's: hypercall_count entries,
     * numbers distinct and none of the platform's (pvt_vmm_init copies
     * the table; the ctx pointers must outlive vm) */
    const struct pvt_vmm_hypercall *hypercalls;
    size_t hypercall_count;
};

/* What the monitor did, for reports. */
struct pvt_vmm_stats {
    uint64_t hypercalls[PVT_HC_PIO_COUNT]; /* served, per number */
    uint64_t preemptions;
    uint64_t preempted_ns;
    uint64_t migrations;
};

/* One vCPU (APIC ID = index) and the thread that runs it. */
struct pvt_vmm_vcpu {
    struct pvt_vmm *vm;
    unsigned int index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;    /* valid once up */
    bool thread_started; /* a thread of the monitor's (not vCPU 0's) */
    atomic_bool up;      /* running (vCPU 0 from pvt_vmm_run on) */
    atomic_bool claimed; /* VCPU_UP accepted for it */
    uint64_t start_rip, start_rsp, start_arg; /* VCPU_UP's entry */
    atomic_llong preempt_ns;                  /* a preemption to serve, ns */
    int rc;                                   /* how its loop ended */
    char err[512];                            /* why, when rc < 0 */
};

struct pvt_vmm {
    struct pvt_vmm_config cfg;
    uint8_t *mem; /* guest RAM, GPA 0 .. cfg.mem_size */
    uint64_t entry;
    int kvm_fd;
    int vm_fd;
    int vcpu_fd;         /* vCPU 0's */
    struct kvm_run *run; /* vCPU 0's (pvt_vmm_handle_io's) */
    size_t run_size;
    unsigned int nvcpu;         /* cfg.vcpus, at least 1 */
    struct pvt_vmm_vcpu *vcpus; /* nvcpu of them */
    atomic_bool stopping;       /* a vCPU ended the run: the others stop */
    atomic_int first_failed;    /* index + 1 of the vCPU that failed first */
    pthread_mutex_t hc_lock;    /* one hypercall handler at a time */
    bool hc_lock_init;
    /* the handler of each hypercall number (handle NULL: none) */
    struct pvt_vmm_hypercall hc[PVT_HC_PIO_COUNT];
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
    /* the vCPU threads are kicked out of KVM_RUN by a signal for faults
     * injected from other threads */
    atomic_bool running;
    atomic_bool migrate_pending;
    atomic_llong migrate_jump_ns;
    struct pvt_vmm_stats stats;
    uint64_t console_bytes; /* written so far, against the budget */
    /* results */
    bool kvm_unavailable; /* err says why KVM cannot be used here */
    bool guest_exited;
    int guest_status; /* the EXIT hypercall's status, when guest_exited */
    char err[512];
};

/*
 * Checks cfg, maps cfg->mem_size bytes of zeroed guest RAM, copies cfg into
 * vm (the strings must outlive vm) and installs the platform's hypercall
 * handlers and cfg's. Opens nothing else. Returns 0, or with vm->err set:
 * -EINVAL (vm or cfg NULL, a bad size, more than PVT_VMM_MAX_VCPUS vCPUs
 * or timer service threads, a hypercall entry with a number
 * outside the window, a size outside 1..PVT_VMM_HC_SIZE_MAX or no handler),
 * -EEXIST (two entries, or an entry and the platform, share a number),
 * -ENOMEM (guest RAM cannot be mapped). With vm NULL nothing is set.
 */
int pvt_vmm_init(struct pvt_vmm *vm, const struct pvt_vmm_config *cfg);

/*
 * Reads vm->cfg.guest_path, validates it as an ELF64 x86-64 executable
 * whose PT_LOAD segments lie within the file and within guest RAM at or
 * above PVT_VMM_LOAD_MIN (vaddr == paddr: the guest is identity mapped),
 * with the entry point inside an executable segment, and only then copies
 * the segments into guest RAM (zeroing the rest of each) and sets vm->entry.
 * Returns 0, or a negative errno value with vm->err naming the file and the
 * defect: the file's own errno when it cannot be read, -ENOEXEC for an
 * image that is not a valid guest, -EFBIG above PVT_VMM_IMAGE_MAX.
 */
int pvt_vmm_elf_load(struct pvt_vmm *vm);

/*
 * The same checks and loading on an image already in memory (size bytes
 * at file; path names it in messages): what pvt_vmm_elf_load does once it
 * has read the file, and what the ELF fuzz target drives. Returns as
 * pvt_vmm_elf_load, or -EINVAL (NULL vm, path or file, vm not initialised).
 */
int pvt_vmm_elf_load_image(struct pvt_vmm *vm, const char *path,
                           const uint8_t *file, size_t size);

/*
 * Opens /dev/kvm, creates the VM (TSS, in-kernel irqchip, RAM at GPA 0),
 * its vCPUs with TSC-deadline in their CPUID, and puts vCPU 0 in long
 * mode at vm->entry. Call after pvt_vmm_elf_load. Returns 0, or a negative
 * errno value with vm->err set (the failed call's errno; -ENOTSUP for a
 * KVM that lacks a capability); vm->kvm_unavailable when /dev/kvm cannot
 * be used at all.
 */
int pvt_vmm_kvm_setup(struct pvt_vmm *vm);

/*
 * Runs vCPU 0 on the calling thread (the others on threads of their own
 * once the guest starts them) until the guest calls EXIT on any vCPU
 * (returns 0, status in vm->guest_status) or anything else stops one,
 * which stops them all; every thread is joined before it returns. vm->err
 * says what stopped the VM first (with that vCPU and the guest's RIP):
 * the watchdog (-ETIMEDOUT), a halt, a triple
 * fault, an access outside RAM, an unexpected exit (-EIO), a bad hypercall
 * (pvt_vmm_handle_io's code), a failed KVM call (its errno); -EINVAL when
 * the VM was not set up.
 */
int pvt_vmm_run(struct pvt_vmm *vm);

/*
 * Handles the KVM_EXIT_IO in vm->run (vm->run_size bytes): a hypercall,
 * dispatched to its handler. Needs no /dev/kvm: after pvt_vmm_init a
 * caller may point vm->run at its own buffer and drive it (tests, fuzzing).
 * Returns 0 to continue, PVT_VMM_HC_EXIT when the guest called EXIT, or a
 * negative errno value to stop, with vm->err set: -EINVAL for an access
 * that is not a 32-bit `out` to the hypercall window (or vm->run NULL),
 * -ENOSYS for a number without a handler ("unknown hypercall N"), -EFAULT
 * for a struct outside guest RAM, or what the handler returned.
 */
int pvt_vmm_handle_io(struct pvt_vmm *vm);

/* pvt_vmm_handle_io for the exit in run (a vCPU's run area, at least
 * vm->run_size bytes); on that vCPU's thread. */
int pvt__vmm_handle_io_run(struct pvt_vmm *vm, struct kvm_run *run);

/*
 * Copies len bytes of guest RAM at gpa into dst, or dst into guest RAM at
 * gpa, when [gpa, gpa + len) lies inside it (no wrap). Return 0 or -EFAULT
 * (nothing copied). For handlers: copy first, then check what was copied.
 */
int pvt_vmm_guest_read(const struct pvt_vmm *vm, uint64_t gpa, void *dst,
                       size_t len);
int pvt_vmm_guest_write(struct pvt_vmm *vm, uint64_t gpa, const void *src,
                        size_t len);

/*
 * Formats the reason into vm->err and returns -err (err a positive errno
 * value), for `return pvt_vmm_fail(vm, EINVAL, ...)`. Any thread that owns
 * vm; on a vCPU's thread the reason is that vCPU's, and pvt_vmm_run puts
 * the one of the vCPU that stopped first into vm->err.
 */
int pvt_vmm_fail(struct pvt_vmm *vm, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The index of the vCPU whose exit the calling thread is handling (a
 * hypercall handler's caller); 0 on any other thread. */
unsigned int pvt_vmm_vcpu_self(const struct pvt_vmm *vm);

/*
 * The kvmclock time and CLOCK_MONOTONIC at one moment (KVM_GET_CLOCK
 * between two clock_gettime calls, paired with their midpoint). Returns 0
 * or a negative errno value.
 */
int pvt_vmm_read_clock(void *vm, uint64_t *kvmclock_ns, int64_t *mono_ns);

/*
 * Fault injection, from any thread while pvt_vmm_run runs:
 *   preempt: keep vCPU 0 (preempt_vcpu: vCPU vcpu) out of the guest for
 *            ns (it is kicked out of KVM_RUN and sleeps; interrupts wait
 *            in its LAPIC); -ESRCH when that vCPU is not running;
 *   migrate: ask the guest for a SUSPEND call (PVT_VEC_CONTROL), in which
 *            the kvmclock jumps by jump_ns (KVM_SET_CLOCK) and the timers
 *            follow. Refused (-EINVAL) if the clock would go below 0.
 * Return 0 or a negative errno value.
 */
int pvt_vmm_preempt(struct pvt_vmm *vm, uint64_t ns);
int pvt_vmm_preempt_vcpu(struct pvt_vmm *vm, unsigned int vcpu, uint64_t ns);
int pvt_vmm_migrate(struct pvt_vmm *vm, int64_t jump_ns);

/* Releases everything pvt_vmm_init and later steps acquired; vm may be in
 * any state they left it in. */
void pvt_vmm_destroy(struct pvt_vmm *vm);

/* Serves PVT_HC_SUSPEND: carries out a pending migration. Returns 1 when
 * the guest was moved, 0 when nothing was pending, or a negative errno
 * value with vm->err set. */
int pvt__vmm_suspend(struct pvt_vmm *vm);

/* Installs the platform's hypercall handlers (hypercall.c's, then the
 * nmore entries of more) and cfg's table (contract of pvt_vmm_init, whose
 * codes it returns). (hypercall.c) */
int pvt__vmm_hypercalls_init(struct pvt_vmm *vm,
                             const struct pvt_vmm_hypercall *more,
                             size_t nmore);

/* PVT_HC_VCPU_UP's entry: the request checked, vCPU `vcpu` set up at rip,
 * rsp and rdi = arg and its thread started. (vcpu.c) */
extern const struct pvt_vmm_hypercall pvt__vmm_vcpu_hypercall;

/* Reports a failed ioctl named what, with errno: pvt_vmm_fail's codes.
 * (vm.c) */
int pvt__vmm_fail_ioctl(struct pvt_vmm *vm, const char *what);

/* Sends vector to vCPU vcpu's local APIC (APIC ID = vCPU index) as an
 * MSI: fixed delivery, edge. Returns 0 or a negative errno value; vm->err
 * is not set. ctx is the vm (the timer service's inject). (vm.c) */
int pvt__vmm_inject_msi(void *ctx, unsigned int vcpu, uint32_t vector);

/* vCPU v's registers: long mode at rip, rsp, rdi = arg. (vcpu.c) */
int pvt__vmm_set_long_mode(struct pvt_vmm *vm, int fd, uint64_t rip,
                           uint64_t rsp, uint64_t arg);

/* Runs v until its guest exits, it fails or another vCPU stopped the VM;
 * returns PVT_VMM_HC_EXIT, 0 (stopped) or a negative errno value with
 * v->err set. On v's thread. (vcpu.c) */
int pvt__vmm_vcpu_loop(struct pvt_vmm_vcpu *v);

/* Stops every vCPU (from any vCPU's thread). (vcpu.c) */
void pvt__vmm_stop_all(struct pvt_vmm *vm);

/* The signal handlers' setup and teardown (vcpu.c). */
int pvt__vmm_signals_install(struct pvt_vmm *vm);
void pvt__vmm_signals_restore(struct pvt_vmm *vm);

/* The thread-local vCPU, for pvt_vmm_fail and pvt_vmm_vcpu_self. */
extern _Thread_local struct pvt_vmm_vcpu *pvt__vmm_tls_vcpu;

/* Is [gpa, gpa + len) inside guest RAM, without wrapping? */
static inline bool pvt_vmm_gpa_ok(const struct pvt_vmm *vm, uint64_t gpa,
                                  uint64_t len)
{
    return gpa <= vm->cfg.mem_size && len <= vm->cfg.mem_size - gpa;
}

#endif /* PVTIMER_VMM_H */

/*
 * The VM and its vCPU: /dev/kvm, guest RAM, long mode, the run loop and
 * its watchdog.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "timersvc.h"
#include "vmm.h"

/* Where KVM puts the three pages of the real-mode TSS it needs on Intel:
 * just below the BIOS area, far above guest RAM (PVT_VMM_MEM_MAX). */
#define TSS_ADDR 0xfffbd000u

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)

#define CR4_PAE        (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

/* Page-table entry bits. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2) /* user: the guest may run code in ring 3 */
#define PTE_PS (1ull << 7) /* 2 MiB page, in a page-directory entry */

#define GDT_CODE_SEL 0x08u
#define GDT_DATA_SEL 0x10u

/* CPUID.1:ECX.TSC-deadline */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* Watchdog signal (the timer service's thread blocks every signal, so it
 * lands on the vCPU thread and interrupts KVM_RUN). */
#define WATCHDOG_SIGNAL SIGALRM
/* The kick: another thread's fault injection takes the vCPU out of
 * KVM_RUN with it. */
#define KICK_SIGNAL SIGUSR1

#define NSEC_PER_SEC 1000000000ll

/* The VM whose vCPU this thread runs (for the kick's handler). */
static _Thread_local struct pvt_vmm *tls_vm;

/* Contract in vmm.h. */
int pvt_vmm_fail(struct pvt_vmm *vm, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(vm->err, sizeof(vm->err), fmt, ap);
    va_end(ap);
    return err > 0 ? -err : -EINVAL;
}

/* Contract in vmm.h. */
int pvt_vmm_init(struct pvt_vmm *vm, const struct pvt_vmm_config *cfg)
{
    void *mem;

    if (vm == NULL)
        return -EINVAL;
    memset(vm, 0, sizeof(*vm));
    vm->kvm_fd = -1;
    vm->vm_fd = -1;
    vm->vcpu_fd = -1;
    if (cfg == NULL)
        return pvt_vmm_fail(vm, EINVAL, "no configuration");
    vm->cfg = *cfg;
    if (cfg->mem_size < PVT_VMM_MEM_MIN || cfg->mem_size > PVT_VMM_MEM_MAX)
        return pvt_vmm_fail(vm, EINVAL,
                            "guest RAM of %llu MiB: %llu to %llu MiB "
                            "supported",
                            (unsigned long long)(cfg->mem_size >> 20),
                            (unsigned long long)(PVT_VMM_MEM_MIN >> 20),
                            (unsigned long long)(PVT_VMM_MEM_MAX >> 20));
    mem = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return pvt_vmm_fail(vm, ENOMEM, "cannot map %llu MiB of guest RAM: %s",
                            (unsigned long long)(cfg->mem_size >> 20),
                            strerror(errno));
    vm->mem = mem;
    return pvt__vmm_hypercalls_init(vm);
}

/* Reports a failed ioctl with its name. */
static int fail_ioctl(struct pvt_vmm *vm, const char *what)
{
    return pvt_vmm_fail(vm, errno, "KVM: %s failed: %s", what, strerror(errno));
}

/* Sets CPUID from what KVM supports, plus TSC-deadline (which KVM emulates
 * with the in-kernel LAPIC but may not report). */
static int setup_cpuid(struct pvt_vmm *vm)
{
    struct kvm_cpuid2 *cpuid = NULL;
    unsigned int nent = 64;
    unsigned int i;
    int rc;

    for (;;) {
        cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
        if (cpuid == NULL)
            return pvt_vmm_fail(vm, ENOMEM, "out of memory");
        cpuid->nent = nent;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
            break;
        free(cpuid);
        cpuid = NULL;
        if (errno != E2BIG || nent >= 4096)
            return fail_ioctl(vm, "KVM_GET_SUPPORTED_CPUID");
        nent *= 2;
    }
    for (i = 0; i < cpuid->nent; i++)
        if (cpuid->entries[i].function == 1 && cpuid->entries[i].index == 0)
            cpuid->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
    rc = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0
             ? fail_ioctl(vm, "KVM_SET_CPUID2")
             : 0;
    free(cpuid);
    return rc;
}

/* GDT and identity page tables (2 MiB pages over all of RAM) in guest
 * RAM below PVT_VMM_LOAD_MIN. */
static void build_tables(struct pvt_vmm *vm)
{
    uint64_t gdt[3] = {
        0, 0x00af9b000000ffffull, /* code: present, DPL 0, exec/read, L, G */
        0x00cf93000000ffffull,    /* data: present, DPL 0, read/write, D/B, G */
    };
    uint64_t *pml4 = (uint64_t *)(vm->mem + PVT_VMM_PML4_GPA);
    uint64_t *pdpt = (uint64_t *)(vm->mem + PVT_VMM_PDPT_GPA);
    uint64_t *pd = (uint64_t *)(vm->mem + PVT_VMM_PD_GPA);
    uint64_t pages = (vm->cfg.mem_size + (2ull << 20) - 1) >> 21;
    uint64_t i;

    memcpy(vm->mem + PVT_VMM_GDT_GPA, gdt, sizeof(gdt));
    pml4[0] = PVT_VMM_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
    /* PVT_VMM_MEM_MAX <= 4 GiB: at most 4 directories of 512 entries */
    for (i = 0; i < (pages + 511) / 512; i++)
        pdpt[i] = (PVT_VMM_PD_GPA + i * 0x1000) | PTE_P | PTE_RW | PTE_US;
    for (i = 0; i < pages; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
                        bool code)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xffffffffu;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->db = code ? 0 : 1;
    s->s = 1;
    s->l = code ? 1 : 0;
    s->g = 1;
}

/* Long mode from the reset state (KVM_GET_SREGS keeps the APIC base and
 * the TR KVM wants), RIP at the entry point. */
static int setup_long_mode(struct pvt_vmm *vm)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    build_tables(vm);
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return fail_ioctl(vm, "KVM_GET_SREGS");
    sregs.gdt.base = PVT_VMM_GDT_GPA;
    sregs.gdt.limit = 3 * 8 - 1;
    set_segment(&sregs.cs, GDT_CODE_SEL, 11, true);
    set_segment(&sregs.ds, GDT_DATA_SEL, 3, false);
    sregs.es = sregs.ds;
    sregs.fs = sregs.ds;
    sregs.gs = sregs.ds;
    sregs.ss = sregs.ds;
    sregs.cr3 = PVT_VMM_PML4_GPA;
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    sregs.efer = EFER_LME | EFER_LMA;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return fail_ioctl(vm, "KVM_SET_SREGS");

    memset(&regs, 0, sizeof(regs));
    regs.rip = vm->entry;
    regs.rsp = PVT_VMM_BOOT_STACK_TOP;
    regs.rflags = 2; /* bit 1 is always set; interrupts off */
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return fail_ioctl(vm, "KVM_SET_REGS");
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_read_clock(void *ctx, uint64_t *kvmclock_ns, int64_t *mono_ns)
{
    struct pvt_vmm *vm = ctx;
    struct kvm_clock_data data;
    struct timespec a, b;

    memset(&data, 0, sizeof(data));
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &data) < 0)
        return -errno;
    clock_gettime(CLOCK_MONOTONIC, &b);
    *kvmclock_ns = data.clock;
    *mono_ns = ((int64_t)a.tv_sec * NSEC_PER_SEC + a.tv_nsec +
                (int64_t)b.tv_sec * NSEC_PER_SEC + b.tv_nsec) /
               2;
    return 0;
}

/* The timer service's interrupt: an MSI to the vCPU's local APIC (APIC
 * ID = vCPU index), fixed delivery, edge. */
static int inject_msi(void *ctx, unsigned int vcpu, uint32_t vector)
{
    struct pvt_vmm *vm = ctx;
    struct kvm_msi msi;

    memset(&msi, 0, sizeof(msi));
    msi.address_lo = 0xfee00000u | (vcpu << 12);
    msi.data = vector;
    return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

/* The paravirtual timers: Xen's semantics with this ABI's constants. */
static int setup_timers(struct pvt_vmm *vm)
{
    static const struct pvt_timersvc_ops ops = {
        .read_clock = pvt_vmm_read_clock,
        .inject = inject_msi,
    };
    struct pvt_hv_timer_config cfg = PVT_HV_TIMER_CONFIG_XEN;
    int rc;

    if (vm->cfg.no_timers)
        return 0;
    cfg.default_period_ns = PVT_HC_DEFAULT_PERIOD_NS;
    cfg.min_period_ns = PVT_HC_MIN_PERIOD_NS;
    cfg.min_interval_ns = PVT_HC_MIN_INTERVAL_NS;
    vm->svc = calloc(1, sizeof(*vm->svc));
    if (vm->svc == NULL)
        return pvt_vmm_fail(vm, ENOMEM, "out of memory");
    rc = pvt_timersvc_init(vm->svc, 1, &cfg, PVT_VEC_SINGLESHOT,
                           PVT_VEC_PERIODIC, &ops, vm);
    if (rc < 0)
        return pvt_vmm_fail(vm, -rc, "timer service: %s", strerror(-rc));
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_kvm_setup(struct pvt_vmm *vm)
{
    struct kvm_userspace_memory_region region;
    const char *path;
    int api;
    int size;
    int rc;
    void *run;

    if (vm == NULL)
        return -EINVAL;
    path = vm->cfg.kvm_path ? vm->cfg.kvm_path : "/dev/kvm";
    vm->kvm_fd = open(path, O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        vm->kvm_unavailable = true;
        return pvt_vmm_fail(vm, errno, "KVM is not available: %s: %s", path,
                            strerror(errno));
    }
    api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        vm->kvm_unavailable = true;
        return pvt_vmm_fail(vm, ENOTSUP,
                            "KVM is not available: API version %d, "
                            "%d expected",
                            api, KVM_API_VERSION);
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) <= 0) {
        vm->kvm_unavailable = true;
        return pvt_vmm_fail(vm, ENOTSUP,
                            "KVM is not available: it lacks the in-kernel "
                            "irqchip, user memory, immediate exit, MSI "
                            "injection or KVM_SET_CLOCK");
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return fail_ioctl(vm, "KVM_CREATE_VM");
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
        return fail_ioctl(vm, "KVM_SET_TSS_ADDR");
    /* the irqchip must exist before any vCPU */
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return fail_ioctl(vm, "KVM_CREATE_IRQCHIP");

    memset(&region, 0, sizeof(region));
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = vm->cfg.mem_size;
    region.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail_ioctl(vm, "KVM_SET_USER_MEMORY_REGION");

    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return fail_ioctl(vm, "KVM_CREATE_VCPU");
    size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return fail_ioctl(vm, "KVM_GET_VCPU_MMAP_SIZE");
    run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
               vm->vcpu_fd, 0);
    if (run == MAP_FAILED)
        return pvt_vmm_fail(vm, errno,
                            "KVM: cannot map the vCPU's run area: %s",
                            strerror(errno));
    vm->run = run;
    vm->run_size = (size_t)size;

    if ((rc = setup_cpuid(vm)) < 0 || (rc = setup_long_mode(vm)) < 0)
        return rc;
    return setup_timers(vm);
}

/* The watchdog's signal: the timer carries vm in its value. Only
 * async-signal-safe stores. */
static void on_watchdog(int sig, siginfo_t *si, void *ctx)
{
    struct pvt_vmm *vm = si->si_value.sival_ptr;

    (void)sig;
    (void)ctx;
    if (si->si_code != SI_TIMER || vm == NULL)
        return;
    vm->timed_out = 1;
    if (vm->run)
        vm->run->immediate_exit = 1;
}

static void on_kick(int sig)
{
    (void)sig;
    if (tls_vm && tls_vm->run)
        tls_vm->run->immediate_exit = 1;
}

/* Contract in vmm.h. */
int pvt_vmm_preempt(struct pvt_vmm *vm, uint64_t ns)
{
    if (vm == NULL || ns == 0 || ns > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (!atomic_load(&vm->running))
        return -ESRCH;
    atomic_fetch_add(&vm->preempt_ns, (long long)ns);
    return -pthread_kill(vm->vcpu_thread, KICK_SIGNAL);
}

/* Contract in vmm.h. */
int pvt_vmm_migrate(struct pvt_vmm *vm, int64_t jump_ns)
{
    uint64_t now;
    int64_t mono;
    int rc;

    if (vm == NULL || vm->svc == NULL)
        return -EINVAL;
    if (!atomic_load(&vm->running))
        return -ESRCH;
    if ((rc = pvt_vmm_read_clock(vm, &now, &mono)) < 0)
        return rc;
    if (jump_ns < 0 && (uint64_t)-jump_ns > now)
        return -EINVAL;
    atomic_store(&vm->migrate_jump_ns, jump_ns);
    atomic_store(&vm->migrate_pending, true);
    return inject_msi(vm, 0, PVT_VEC_CONTROL);
}

/* Contract in vmm.h. */
int pvt__vmm_suspend(struct pvt_vmm *vm)
{
    struct kvm_clock_data data;
    int64_t jump;
    int rc;

    if (!atomic_exchange(&vm->migrate_pending, false))
        return 0;
    jump = atomic_load(&vm->migrate_jump_ns);
    /* the timers set on the old clock are cancelled before it jumps (a
     * singleshot must not fire on the new clock for the old deadline),
     * and the periodic timer restarted on the new one after */
    if (vm->svc && (rc = pvt_timersvc_clock_jumped(vm->svc)) < 0)
        return pvt_vmm_fail(vm, -rc, "timer service before the clock jump: %s",
                            strerror(-rc));
    memset(&data, 0, sizeof(data));
    if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &data) < 0)
        return fail_ioctl(vm, "KVM_GET_CLOCK");
    if (jump < 0 && (uint64_t)-jump > data.clock)
        jump = -(int64_t)data.clock;
    data.clock += (uint64_t)jump;
    data.flags = 0;
    if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &data) < 0)
        return fail_ioctl(vm, "KVM_SET_CLOCK");
    if (vm->svc && (rc = pvt_timersvc_clock_jumped(vm->svc)) < 0)
        return pvt_vmm_fail(vm, -rc, "timer service after the clock jump: %s",
                            strerror(-rc));
    vm->stats.migrations++;
    return 1;
}

/* Serves a preemption asked for by another thread: the vCPU stays out of
 * the guest meanwhile (the watchdog still ends it). */
static void serve_preemption(struct pvt_vmm *vm)
{
    long long ns = atomic_exchange(&vm->preempt_ns, 0);
    struct timespec until;

    if (ns <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ns / NSEC_PER_SEC);
    until.tv_nsec += (long)(ns % NSEC_PER_SEC);
    if (until.tv_nsec >= NSEC_PER_SEC) {
        until.tv_sec++;
        until.tv_nsec -= NSEC_PER_SEC;
    }
    while (!vm->timed_out && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
                                             &until, NULL) == EINTR)
        continue;
    vm->stats.preemptions++;
    vm->stats.preempted_ns += (uint64_t)ns;
}

static int install_kick(struct pvt_vmm *vm)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, &vm->old_kick_action) < 0)
        return pvt_vmm_fail(vm, errno, "sigaction: %s", strerror(errno));
    vm->kick_saved = true;
    tls_vm = vm;
    vm->vcpu_thread = pthread_self();
    atomic_store(&vm->running, true);
    return 0;
}

static int arm_watchdog(struct pvt_vmm *vm)
{
    struct sigaction sa;
    struct sigevent sev;
    struct itimerspec its;

    if (vm->cfg.timeout_s == 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_watchdog;
    /* no SA_RESTART: the watchdog must also end a console write blocked
     * on a reader that does not read */
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(WATCHDOG_SIGNAL, &sa, &vm->old_sigaction) < 0)
        return pvt_vmm_fail(vm, errno, "sigaction: %s", strerror(errno));
    vm->sigaction_saved = true;

    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = WATCHDOG_SIGNAL;
    sev.sigev_value.sival_ptr = vm;
    if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
        return pvt_vmm_fail(vm, errno, "timer_create: %s", strerror(errno));
    vm->timer_armed = true;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)vm->cfg.timeout_s;
    if (timer_settime(vm->timer, 0, &its, NULL) < 0)
        return pvt_vmm_fail(vm, errno, "timer_settime: %s", strerror(errno));
    return 0;
}

static uint64_t guest_rip(struct pvt_vmm *vm)
{
    struct kvm_regs regs;

    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return 0;
    return regs.rip;
}

/* Contract in vmm.h. */
int pvt_vmm_run(struct pvt_vmm *vm)
{
    struct kvm_run *run;
    int rc;

    if (vm == NULL)
        return -EINVAL;
    run = vm->run;
    if (run == NULL)
        return pvt_vmm_fail(vm, EINVAL, "the VM was not set up");
    if ((rc = arm_watchdog(vm)) < 0 || (rc = install_kick(vm)) < 0)
        return rc;
    if (vm->svc && (rc = pvt_timersvc_start(vm->svc)) < 0)
        return pvt_vmm_fail(vm, -rc, "timer service: %s", strerror(-rc));
    for (;;) {

        if (!vm->timed_out) {
            serve_preemption(vm);
            /* a kick's immediate exit is served; the watchdog's stays */
            run->immediate_exit = 0;
            if (atomic_load(&vm->preempt_ns) > 0)
                continue;
        }
        if (vm->timed_out)
            return pvt_vmm_fail(
                vm, ETIMEDOUT,
                "the guest did not finish within %u s (watchdog), RIP "
                "0x%llx%s%s",
                vm->cfg.timeout_s, (unsigned long long)guest_rip(vm),
                vm->svc && vm->svc->thread_err
                    ? "; the timer service had stopped: "
                    : "",
                vm->svc && vm->svc->thread_err ? strerror(-vm->svc->thread_err)
                                               : "");
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail_ioctl(vm, "KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            rc = pvt_vmm_handle_io(vm);
            if (rc < 0)
                return rc;
            if (rc > 0) {
                vm->guest_exited = true;
                return 0;
            }
            break;
        case KVM_EXIT_HLT:
            return pvt_vmm_fail(vm, EIO, "the guest halted, RIP 0x%llx",
                                (unsigned long long)guest_rip(vm));
        case KVM_EXIT_SHUTDOWN:
            return pvt_vmm_fail(vm, EIO,
                                "the guest shut down (triple fault?), "
                                "RIP 0x%llx",
                                (unsigned long long)guest_rip(vm));
        case KVM_EXIT_FAIL_ENTRY:
            return pvt_vmm_fail(
                vm, EIO,
                "KVM could not enter the guest: hardware reason 0x%llx",
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            return pvt_vmm_fail(
                vm, EIO, "KVM internal error, suberror %u, RIP 0x%llx",
                run->internal.suberror, (unsigned long long)guest_rip(vm));
        case KVM_EXIT_MMIO:
            return pvt_vmm_fail(vm, EIO,
                                "the guest accessed 0x%llx, outside RAM, "
                                "RIP 0x%llx",
                                (unsigned long long)run->mmio.phys_addr,
                                (unsigned long long)guest_rip(vm));
        default:
            return pvt_vmm_fail(
                vm, EIO, "unexpected KVM exit reason %u, RIP 0x%llx",
                run->exit_reason, (unsigned long long)guest_rip(vm));
        }
    }
}

/* Contract in vmm.h. */
void pvt_vmm_destroy(struct pvt_vmm *vm)
{
    if (vm == NULL)
        return;
    atomic_store(&vm->running, false);
    if (vm->svc) {
        pvt_timersvc_destroy(vm->svc);
        free(vm->svc);
        vm->svc = NULL;
    }
    if (vm->kick_saved) {
        sigaction(KICK_SIGNAL, &vm->old_kick_action, NULL);
        vm->kick_saved = false;
        tls_vm = NULL;
    }
    if (vm->timer_armed) {
        timer_delete(vm->timer);
        vm->timer_armed = false;
    }
    if (vm->sigaction_saved) {
        sigaction(WATCHDOG_SIGNAL, &vm->old_sigaction, NULL);
        vm->sigaction_saved = false;
    }
    if (vm->run) {
        munmap(vm->run, vm->run_size);
        vm->run = NULL;
    }
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
    if (vm->mem) {
        munmap(vm->mem, vm->cfg.mem_size);
        vm->mem = NULL;
    }
}

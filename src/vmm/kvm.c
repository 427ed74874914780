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
#define PTE_PS (1ull << 7) /* 2 MiB page, in a page-directory entry */

#define GDT_CODE_SEL 0x08u
#define GDT_DATA_SEL 0x10u

/* CPUID.1:ECX.TSC-deadline */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* Watchdog signal (the monitor is single-threaded: it lands on the vCPU
 * thread and interrupts KVM_RUN). */
#define WATCHDOG_SIGNAL SIGALRM

/* Contract in vmm.h. */
int pvt__vmm_fail(struct pvt_vmm *vm, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(vm->err, sizeof(vm->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* Contract in vmm.h. */
int pvt_vmm_init(struct pvt_vmm *vm, const struct pvt_vmm_config *cfg)
{
    void *mem;

    memset(vm, 0, sizeof(*vm));
    vm->kvm_fd = -1;
    vm->vm_fd = -1;
    vm->vcpu_fd = -1;
    vm->cfg = *cfg;
    if (cfg->mem_size < PVT_VMM_MEM_MIN || cfg->mem_size > PVT_VMM_MEM_MAX)
        return pvt__vmm_fail(vm,
                             "guest RAM of %llu MiB: %llu to %llu MiB "
                             "supported",
                             (unsigned long long)(cfg->mem_size >> 20),
                             (unsigned long long)(PVT_VMM_MEM_MIN >> 20),
                             (unsigned long long)(PVT_VMM_MEM_MAX >> 20));
    mem = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return pvt__vmm_fail(vm, "cannot map %llu MiB of guest RAM: %s",
                             (unsigned long long)(cfg->mem_size >> 20),
                             strerror(errno));
    vm->mem = mem;
    return 0;
}

/* Reports a failed ioctl with its name. */
static int fail_ioctl(struct pvt_vmm *vm, const char *what)
{
    return pvt__vmm_fail(vm, "KVM: %s failed: %s", what, strerror(errno));
}

/* Sets CPUID from what KVM supports, plus TSC-deadline (which KVM emulates
 * with the in-kernel LAPIC but may not report). */
static int setup_cpuid(struct pvt_vmm *vm)
{
    struct kvm_cpuid2 *cpuid = NULL;
    unsigned int nent = 64;
    unsigned int i;
    int rc = -1;

    for (;;) {
        cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
        if (cpuid == NULL)
            return pvt__vmm_fail(vm, "out of memory");
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
    if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0) {
        fail_ioctl(vm, "KVM_SET_CPUID2");
        goto out_free;
    }
    rc = 0;
out_free:
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
    pml4[0] = PVT_VMM_PDPT_GPA | PTE_P | PTE_RW;
    /* PVT_VMM_MEM_MAX <= 4 GiB: at most 4 directories of 512 entries */
    for (i = 0; i < (pages + 511) / 512; i++)
        pdpt[i] = (PVT_VMM_PD_GPA + i * 0x1000) | PTE_P | PTE_RW;
    for (i = 0; i < pages; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
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
int pvt_vmm_kvm_setup(struct pvt_vmm *vm)
{
    struct kvm_userspace_memory_region region;
    int api;
    int size;
    void *run;

    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        vm->kvm_unavailable = true;
        return pvt__vmm_fail(vm, "KVM is not available: /dev/kvm: %s",
                             strerror(errno));
    }
    api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        vm->kvm_unavailable = true;
        return pvt__vmm_fail(vm,
                             "KVM is not available: API version %d, "
                             "%d expected",
                             api, KVM_API_VERSION);
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        vm->kvm_unavailable = true;
        return pvt__vmm_fail(vm, "KVM is not available: it lacks the in-kernel "
                                 "irqchip, user memory or immediate exit");
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
        return pvt__vmm_fail(vm, "KVM: cannot map the vCPU's run area: %s",
                             strerror(errno));
    vm->run = run;
    vm->run_size = (size_t)size;

    if (setup_cpuid(vm) < 0)
        return -1;
    return setup_long_mode(vm);
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

static int arm_watchdog(struct pvt_vmm *vm)
{
    struct sigaction sa;
    struct sigevent sev;
    struct itimerspec its;

    if (vm->cfg.timeout_s == 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_watchdog;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(WATCHDOG_SIGNAL, &sa, &vm->old_sigaction) < 0)
        return pvt__vmm_fail(vm, "sigaction: %s", strerror(errno));
    vm->sigaction_saved = true;

    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = WATCHDOG_SIGNAL;
    sev.sigev_value.sival_ptr = vm;
    if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
        return pvt__vmm_fail(vm, "timer_create: %s", strerror(errno));
    vm->timer_armed = true;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)vm->cfg.timeout_s;
    if (timer_settime(vm->timer, 0, &its, NULL) < 0)
        return pvt__vmm_fail(vm, "timer_settime: %s", strerror(errno));
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
    struct kvm_run *run = vm->run;

    if (run == NULL)
        return pvt__vmm_fail(vm, "the VM was not set up");
    if (arm_watchdog(vm) < 0)
        return -1;
    for (;;) {
        int rc;

        if (vm->timed_out)
            return pvt__vmm_fail(vm,
                                 "the guest did not finish within %u s "
                                 "(watchdog), RIP 0x%llx",
                                 vm->cfg.timeout_s,
                                 (unsigned long long)guest_rip(vm));
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail_ioctl(vm, "KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            rc = pvt_vmm_handle_io(vm);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                vm->guest_exited = true;
                return 0;
            }
            break;
        case KVM_EXIT_HLT:
            return pvt__vmm_fail(vm, "the guest halted, RIP 0x%llx",
                                 (unsigned long long)guest_rip(vm));
        case KVM_EXIT_SHUTDOWN:
            return pvt__vmm_fail(vm,
                                 "the guest shut down (triple fault?), "
                                 "RIP 0x%llx",
                                 (unsigned long long)guest_rip(vm));
        case KVM_EXIT_FAIL_ENTRY:
            return pvt__vmm_fail(
                vm, "KVM could not enter the guest: hardware reason 0x%llx",
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            return pvt__vmm_fail(
                vm, "KVM internal error, suberror %u, RIP 0x%llx",
                run->internal.suberror, (unsigned long long)guest_rip(vm));
        case KVM_EXIT_MMIO:
            return pvt__vmm_fail(vm,
                                 "the guest accessed 0x%llx, outside RAM, "
                                 "RIP 0x%llx",
                                 (unsigned long long)run->mmio.phys_addr,
                                 (unsigned long long)guest_rip(vm));
        default:
            return pvt__vmm_fail(
                vm, "unexpected KVM exit reason %u, RIP 0x%llx",
                run->exit_reason, (unsigned long long)guest_rip(vm));
        }
    }
}

/* Contract in vmm.h. */
void pvt_vmm_destroy(struct pvt_vmm *vm)
{
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

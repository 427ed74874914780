/*
 * The VM's set-up and teardown: /dev/kvm, guest RAM, the GDT and page
 * tables, each vCPU's CPUID, the timer service. The vCPUs' threads, run
 * loop and registers are vcpu.c's, the VM's clock clock.c's, the errors
 * and the interrupt every part sends vm.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
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

/* Page-table entry bits. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2) /* user: the guest may run code in ring 3 */
#define PTE_PS (1ull << 7) /* 2 MiB page, in a page-directory entry */

/* CPUID.1:ECX.TSC-deadline */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* CPUID.1:EBX[31:24] initial APIC ID; CPUID.0xB:EDX x2APIC ID */
#define CPUID_1_EBX_APIC_ID_SHIFT 24

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
    if (cfg->vcpus > PVT_VMM_MAX_VCPUS)
        return pvt_vmm_fail(vm, EINVAL, "%u vCPUs: 1 to %u supported",
                            cfg->vcpus, PVT_VMM_MAX_VCPUS);
    if (cfg->service_threads > PVT_VMM_MAX_VCPUS)
        return pvt_vmm_fail(vm, EINVAL,
                            "%u timer service threads: 1 to %u supported",
                            cfg->service_threads, PVT_VMM_MAX_VCPUS);
    vm->nvcpu = cfg->vcpus ? cfg->vcpus : 1;
    vm->vcpus = calloc(vm->nvcpu, sizeof(*vm->vcpus));
    if (vm->vcpus == NULL)
        return pvt_vmm_fail(vm, ENOMEM, "out of memory");
    for (unsigned int i = 0; i < vm->nvcpu; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].index = i;
        vm->vcpus[i].fd = -1;
    }
    if (pthread_mutex_init(&vm->hc_lock, NULL) != 0)
        return pvt_vmm_fail(vm, ENOMEM, "cannot make a lock");
    vm->hc_lock_init = true;
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
    return pvt__vmm_hypercalls_init(vm, &pvt__vmm_vcpu_hypercall, 1);
}

/* Sets CPUID from what KVM supports, plus TSC-deadline (which KVM emulates
 * with the in-kernel LAPIC but may not report). */
static int setup_cpuid(struct pvt_vmm *vm, const struct pvt_vmm_vcpu *v)
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
            return pvt__vmm_fail_ioctl(vm, "KVM_GET_SUPPORTED_CPUID");
        nent *= 2;
    }
    for (i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 1 && e->index == 0) {
            e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
            e->ebx = (e->ebx & 0x00ffffffu) | v->index
                                                  << CPUID_1_EBX_APIC_ID_SHIFT;
        }
        if (e->function == 0xb)
            e->edx = v->index;
    }
    rc = ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0
             ? pvt__vmm_fail_ioctl(vm, "KVM_SET_CPUID2")
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

/* The paravirtual timers: Xen's semantics with this ABI's constants, one
 * client (this VM) on cfg.service_threads threads. */
static int setup_timers(struct pvt_vmm *vm)
{
    struct pvt_timersvc_client_config cc;
    struct pvt_timersvc_config sc = PVT_TIMERSVC_CONFIG_DEFAULT(vm->nvcpu);
    unsigned int first;
    int rc;

    if (vm->cfg.no_timers)
        return 0;
    sc.nthreads = vm->cfg.service_threads ? vm->cfg.service_threads : 1;
    if (sc.nthreads > vm->nvcpu)
        sc.nthreads = vm->nvcpu; /* a thread without a timer only waits */
    /* the busy-wait budget is per thread: the VM's share stays one */
    sc.spin_cap_ppm = PVT_TIMERSVC_SPIN_CAP_PPM / sc.nthreads;
    memset(&cc, 0, sizeof(cc));
    cc.ntimers = vm->nvcpu;
    cc.timer = PVT_HV_TIMER_CONFIG_XEN;
    cc.timer.default_period_ns = PVT_HC_DEFAULT_PERIOD_NS;
    cc.timer.min_period_ns = PVT_HC_MIN_PERIOD_NS;
    cc.timer.min_interval_ns = PVT_HC_MIN_INTERVAL_NS;
    cc.vec_single = PVT_VEC_SINGLESHOT;
    cc.vec_periodic = PVT_VEC_PERIODIC;
    cc.ops.read_clock = pvt_vmm_read_clock;
    cc.ops.inject = pvt__vmm_inject_msi;
    cc.ctx = vm;
    vm->svc = calloc(1, sizeof(*vm->svc));
    if (vm->svc == NULL)
        return pvt_vmm_fail(vm, ENOMEM, "out of memory");
    rc = pvt_timersvc_create(vm->svc, &sc);
    if (rc == 0)
        rc = pvt_timersvc_add_client(vm->svc, &cc, NULL, &first);
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
        return pvt__vmm_fail_ioctl(vm, "KVM_CREATE_VM");
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_SET_TSS_ADDR");
    /* the irqchip must exist before any vCPU */
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_CREATE_IRQCHIP");

    memset(&region, 0, sizeof(region));
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = vm->cfg.mem_size;
    region.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_SET_USER_MEMORY_REGION");

    if (vm->nvcpu > 1 &&
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) <= 0) {
        vm->kvm_unavailable = true;
        return pvt_vmm_fail(vm, ENOTSUP,
                            "KVM is not available: it cannot set a vCPU's "
                            "run state (KVM_CAP_MP_STATE), which starting "
                            "%u vCPUs needs",
                            vm->nvcpu);
    }
    size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return pvt__vmm_fail_ioctl(vm, "KVM_GET_VCPU_MMAP_SIZE");
    vm->run_size = (size_t)size;
    /* every vCPU now: KVM keeps the TSCs of vCPUs created together in
     * step (its TSC synchronisation) */
    for (unsigned int i = 0; i < vm->nvcpu; i++) {
        struct pvt_vmm_vcpu *v = &vm->vcpus[i];

        v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
        if (v->fd < 0)
            return pvt__vmm_fail_ioctl(vm, "KVM_CREATE_VCPU");
        run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   v->fd, 0);
        if (run == MAP_FAILED)
            return pvt_vmm_fail(vm, errno,
                                "KVM: cannot map vCPU %u's run area: %s", i,
                                strerror(errno));
        v->run = run;
        if ((rc = setup_cpuid(vm, v)) < 0)
            return rc;
    }
    vm->vcpu_fd = vm->vcpus[0].fd;
    vm->run = vm->vcpus[0].run;

    build_tables(vm);
    if ((rc = pvt__vmm_set_long_mode(vm, vm->vcpu_fd, vm->entry,
                                     PVT_VMM_BOOT_STACK_TOP, 0)) < 0)
        return rc;
    return setup_timers(vm);
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
    pvt__vmm_signals_restore(vm);
    for (unsigned int i = 0; vm->vcpus && i < vm->nvcpu; i++) {
        struct pvt_vmm_vcpu *v = &vm->vcpus[i];

        /* pvt_vmm_run joined every thread it started */
        if (v->run) {
            if (v->run == vm->run)
                vm->run = NULL;
            munmap(v->run, vm->run_size);
            v->run = NULL;
        }
        if (v->fd >= 0)
            close(v->fd);
        v->fd = -1;
    }
    free(vm->vcpus);
    vm->vcpus = NULL;
    if (vm->hc_lock_init) {
        pthread_mutex_destroy(&vm->hc_lock);
        vm->hc_lock_init = false;
    }
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

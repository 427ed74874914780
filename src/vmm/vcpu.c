/*
 * The vCPUs' threads: the run loop each runs, a vCPU's registers (long
 * mode), the start of the application processors (PVT_HC_VCPU_UP), the
 * watchdog and the kick that takes a vCPU out of KVM_RUN (faults injected
 * from other threads, a stop). Contracts in vmm.h.
 *
 * Stopping: whichever vCPU ends the run first (the guest's EXIT, a
 * failure, the watchdog) sets vm->stopping and kicks the others; a vCPU
 * publishes `up` before it looks at `stopping` and a stopper sets
 * `stopping` before it looks at `up` (both sequentially consistent), so
 * either the vCPU sees the stop or the stopper sees the vCPU and kicks it.
 * A kick sets the run area's immediate_exit; the loop clears it before it
 * looks at the flags, so none is lost.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "timersvc.h"
#include "vmm.h"

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

/* The GDT the monitor writes (kvm.c): flat code, then flat data. */
#define GDT_CODE_SEL 0x08u
#define GDT_DATA_SEL 0x10u

/* Watchdog signal (the timer service's thread blocks every signal, so it
 * lands on a vCPU thread and interrupts KVM_RUN). */
#define WATCHDOG_SIGNAL SIGALRM
/* The kick: another thread takes a vCPU out of KVM_RUN with it. */
#define KICK_SIGNAL SIGUSR1

#define NSEC_PER_SEC 1000000000ll

/* Loop result: another vCPU stopped the VM. */
#define STOPPED 0

static void set_immediate_exit(struct kvm_run *run, uint8_t v)
{
    *(volatile uint8_t *)&run->immediate_exit = v;
    atomic_signal_fence(memory_order_seq_cst);
}

/* Kicks every running vCPU but the caller's. Async-signal-safe. */
static void kick_others(struct pvt_vmm *vm)
{
    struct pvt_vmm_vcpu *self = pvt__vmm_tls_vcpu;
    unsigned int i;

    for (i = 0; vm->vcpus && i < vm->nvcpu; i++) {
        struct pvt_vmm_vcpu *v = &vm->vcpus[i];

        if (v == self || !atomic_load(&v->up))
            continue;
        pthread_kill(v->thread, KICK_SIGNAL);
    }
}

/* Contract in vmm.h. */
void pvt__vmm_stop_all(struct pvt_vmm *vm)
{
    atomic_store(&vm->stopping, true);
    kick_others(vm);
}

/* The watchdog's signal: the timer carries vm in its value. Only
 * async-signal-safe calls. */
static void on_watchdog(int sig, siginfo_t *si, void *ctx)
{
    struct pvt_vmm *vm = si->si_value.sival_ptr;
    unsigned int i;

    (void)sig;
    (void)ctx;
    if (si->si_code != SI_TIMER || vm == NULL)
        return;
    vm->timed_out = 1;
    for (i = 0; vm->vcpus && i < vm->nvcpu; i++)
        if (vm->vcpus[i].run)
            set_immediate_exit(vm->vcpus[i].run, 1);
    pvt__vmm_stop_all(vm);
}

static void on_kick(int sig)
{
    struct pvt_vmm_vcpu *v = pvt__vmm_tls_vcpu;

    (void)sig;
    if (v && v->run)
        set_immediate_exit(v->run, 1);
}

/* Contract in vmm.h. */
int pvt_vmm_preempt_vcpu(struct pvt_vmm *vm, unsigned int vcpu, uint64_t ns)
{
    struct pvt_vmm_vcpu *v;

    if (vm == NULL || vm->vcpus == NULL || vcpu >= vm->nvcpu || ns == 0 ||
        ns > (uint64_t)INT64_MAX)
        return -EINVAL;
    v = &vm->vcpus[vcpu];
    if (!atomic_load(&vm->running) || !atomic_load(&v->up))
        return -ESRCH;
    atomic_fetch_add(&v->preempt_ns, (long long)ns);
    return -pthread_kill(v->thread, KICK_SIGNAL);
}

/* Contract in vmm.h. */
int pvt_vmm_preempt(struct pvt_vmm *vm, uint64_t ns)
{
    return pvt_vmm_preempt_vcpu(vm, 0, ns);
}

/* Serves a preemption asked for by another thread: the vCPU stays out of
 * the guest meanwhile (the watchdog still ends it). */
static void serve_preemption(struct pvt_vmm_vcpu *v)
{
    struct pvt_vmm *vm = v->vm;
    long long ns = atomic_exchange(&v->preempt_ns, 0);
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
    while (!vm->timed_out && !atomic_load(&vm->stopping) &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
               EINTR)
        continue;
    __atomic_fetch_add(&vm->stats.preemptions, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&vm->stats.preempted_ns, (uint64_t)ns, __ATOMIC_RELAXED);
}

/* Contract in vmm.h. */
int pvt__vmm_signals_install(struct pvt_vmm *vm)
{
    struct sigaction sa;
    struct sigevent sev;
    struct itimerspec its;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, &vm->old_kick_action) < 0)
        return pvt_vmm_fail(vm, errno, "sigaction: %s", strerror(errno));
    vm->kick_saved = true;
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

/* Contract in vmm.h. */
void pvt__vmm_signals_restore(struct pvt_vmm *vm)
{
    if (vm->timer_armed) {
        timer_delete(vm->timer);
        vm->timer_armed = false;
    }
    if (vm->sigaction_saved) {
        sigaction(WATCHDOG_SIGNAL, &vm->old_sigaction, NULL);
        vm->sigaction_saved = false;
    }
    if (vm->kick_saved) {
        sigaction(KICK_SIGNAL, &vm->old_kick_action, NULL);
        vm->kick_saved = false;
    }
}

static uint64_t guest_rip(const struct pvt_vmm_vcpu *v)
{
    struct kvm_regs regs;

    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
        return 0;
    return regs.rip;
}

/* Contract in vmm.h. */
int pvt__vmm_vcpu_loop(struct pvt_vmm_vcpu *v)
{
    struct pvt_vmm *vm = v->vm;
    struct kvm_run *run = v->run;
    int rc;

    for (;;) {
        /* cleared first, the flags read after: a kick in between leaves
         * it set and KVM_RUN returns at once */
        set_immediate_exit(run, 0);
        if (vm->timed_out) {
            set_immediate_exit(run, 1);
            return pvt_vmm_fail(
                vm, ETIMEDOUT,
                "the guest did not finish within %u s (watchdog), vCPU %u "
                "RIP 0x%llx%s%s",
                vm->cfg.timeout_s, v->index, (unsigned long long)guest_rip(v),
                vm->svc && vm->svc->thread_err
                    ? "; the timer service had stopped: "
                    : "",
                vm->svc && vm->svc->thread_err ? strerror(-vm->svc->thread_err)
                                               : "");
        }
        if (atomic_load(&vm->stopping))
            return STOPPED;
        if (atomic_load(&v->preempt_ns) > 0) {
            serve_preemption(v);
            continue;
        }
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return pvt_vmm_fail(vm, errno, "KVM: KVM_RUN failed: %s",
                                strerror(errno));
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            rc = pvt__vmm_handle_io_run(vm, run);
            if (rc != 0)
                return rc;
            break;
        case KVM_EXIT_HLT:
            return pvt_vmm_fail(vm, EIO, "the guest halted, vCPU %u RIP 0x%llx",
                                v->index, (unsigned long long)guest_rip(v));
        case KVM_EXIT_SHUTDOWN:
            return pvt_vmm_fail(vm, EIO,
                                "the guest shut down (triple fault?), "
                                "vCPU %u RIP 0x%llx",
                                v->index, (unsigned long long)guest_rip(v));
        case KVM_EXIT_FAIL_ENTRY:
            return pvt_vmm_fail(
                vm, EIO, "KVM could not enter vCPU %u: hardware reason 0x%llx",
                v->index,
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            return pvt_vmm_fail(
                vm, EIO, "KVM internal error, suberror %u, vCPU %u RIP 0x%llx",
                run->internal.suberror, v->index,
                (unsigned long long)guest_rip(v));
        case KVM_EXIT_MMIO:
            return pvt_vmm_fail(vm, EIO,
                                "the guest accessed 0x%llx, outside RAM, "
                                "vCPU %u RIP 0x%llx",
                                (unsigned long long)run->mmio.phys_addr,
                                v->index, (unsigned long long)guest_rip(v));
        default:
            return pvt_vmm_fail(
                vm, EIO, "unexpected KVM exit reason %u, vCPU %u RIP 0x%llx",
                run->exit_reason, v->index, (unsigned long long)guest_rip(v));
        }
    }
}

/* The end of one vCPU's loop: the first to end stops the others. */
static void vcpu_ended(struct pvt_vmm_vcpu *v, int rc)
{
    struct pvt_vmm *vm = v->vm;
    int none = 0;

    v->rc = rc;
    if (rc != STOPPED)
        atomic_compare_exchange_strong(&vm->first_failed, &none,
                                       (int)v->index + 1);
    if (rc == PVT_VMM_HC_EXIT)
        vm->guest_exited = true;
    pvt__vmm_stop_all(vm);
}

static void *ap_main(void *arg)
{
    struct pvt_vmm_vcpu *v = arg;
    struct pvt_vmm *vm = v->vm;
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
    int rc;

    pvt__vmm_tls_vcpu = v;
    v->thread = pthread_self();
    atomic_store(&v->up, true);
    /* the registers from its own thread; runnable without INIT/SIPI */
    rc = pvt__vmm_set_long_mode(vm, v->fd, v->start_rip, v->start_rsp,
                                v->start_arg);
    if (rc == 0 && ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
        rc = pvt_vmm_fail(vm, errno, "KVM: KVM_SET_MP_STATE failed: %s",
                          strerror(errno));
    if (rc == 0)
        rc = pvt__vmm_vcpu_loop(v);
    vcpu_ended(v, rc);
    return NULL;
}

/* Sets up vCPU v at its start_* registers and starts its thread.
 * Returns 0, or a negative errno value with vm->err set. */
static int vcpu_start(struct pvt_vmm *vm, struct pvt_vmm_vcpu *v)
{
    pthread_attr_t attr;
    pthread_t t;
    int e;

    if (v->fd < 0 || v->run == NULL)
        return pvt_vmm_fail(vm, EINVAL, "vCPU %u was not set up", v->index);
    if ((e = pthread_attr_init(&attr)) != 0)
        return pvt_vmm_fail(vm, e, "vCPU %u: %s", v->index, strerror(e));
    /* a hypercall's copy and the handlers' locals: 256 KiB is plenty */
    pthread_attr_setstacksize(&attr, 256 << 10);
    e = pthread_create(&t, &attr, ap_main, v);
    pthread_attr_destroy(&attr);
    if (e != 0)
        return pvt_vmm_fail(vm, e, "cannot start vCPU %u's thread: %s",
                            v->index, strerror(e));
    v->thread_started = true;
    return 0;
}

/* VCPU_UP: the request checked, then the vCPU started on its thread. */
static int hc_vcpu_up(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_vcpu_up *a = args;
    struct pvt_vmm_vcpu *v;
    bool no = false;

    (void)ctx;
    a->pad = 0;
    if (a->reserved || a->vcpu == 0 || a->vcpu >= vm->nvcpu ||
        vm->vcpus == NULL || !pvt_vmm_gpa_ok(vm, a->rip, 1) || a->rsp < 16 ||
        !pvt_vmm_gpa_ok(vm, a->rsp - 16, 16)) {
        a->ret = -PVT_HC_EINVAL;
        return 0;
    }
    v = &vm->vcpus[a->vcpu];
    if (!atomic_compare_exchange_strong(&v->claimed, &no, true)) {
        a->ret = -PVT_HC_EINVAL; /* started already */
        return 0;
    }
    v->start_rip = a->rip;
    v->start_rsp = a->rsp;
    v->start_arg = a->arg;
    a->ret = 0;
    return vcpu_start(vm, v);
}

const struct pvt_vmm_hypercall pvt__vmm_vcpu_hypercall = {
    PVT_HC_VCPU_UP, sizeof(struct pvt_hc_vcpu_up), hc_vcpu_up, NULL};

/* Contract in vmm.h. */
int pvt_vmm_run(struct pvt_vmm *vm)
{
    struct pvt_vmm_vcpu *bsp;
    unsigned int i;
    int first, rc;

    if (vm == NULL)
        return -EINVAL;
    if (vm->run == NULL || vm->vcpus == NULL || vm->vcpus[0].run == NULL)
        return pvt_vmm_fail(vm, EINVAL, "the VM was not set up");
    bsp = &vm->vcpus[0];
    if ((rc = pvt__vmm_signals_install(vm)) < 0)
        return rc;
    atomic_store(&vm->running, true);
    pvt__vmm_tls_vcpu = bsp;
    bsp->thread = pthread_self();
    atomic_store(&bsp->up, true);
    if (vm->svc && (rc = pvt_timersvc_start(vm->svc)) < 0)
        rc = pvt_vmm_fail(vm, -rc, "timer service: %s", strerror(-rc));
    else
        rc = pvt__vmm_vcpu_loop(bsp);
    vcpu_ended(bsp, rc);
    for (i = 1; i < vm->nvcpu; i++)
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    atomic_store(&bsp->up, false);
    pvt__vmm_tls_vcpu = NULL;
    atomic_store(&vm->running, false);
    for (i = 0; i < vm->nvcpu; i++)
        atomic_store(&vm->vcpus[i].up, false);

    first = atomic_load(&vm->first_failed);
    if (first > 0) {
        struct pvt_vmm_vcpu *v = &vm->vcpus[first - 1];

        if (v->rc < 0) {
            memcpy(vm->err, v->err, sizeof(vm->err));
            return v->rc;
        }
        if (v->rc == PVT_VMM_HC_EXIT)
            return 0;
    }
    return pvt_vmm_fail(vm, EIO, "the vCPUs stopped without a reason");
}

/* ---- a vCPU's registers ------------------------------------------------ */

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

/* Contract in vmm.h: long mode from the reset state (KVM_GET_SREGS keeps
 * the APIC base and the TR KVM wants). */
int pvt__vmm_set_long_mode(struct pvt_vmm *vm, int fd, uint64_t rip,
                           uint64_t rsp, uint64_t arg)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_GET_SREGS");
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
    if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_SET_SREGS");

    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rdi = arg;
    regs.rflags = 2; /* bit 1 is always set; interrupts off */
    if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_SET_REGS");
    return 0;
}

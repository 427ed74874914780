/*
 * Hypercall dispatch, and the platform's calls of pvtimer/pvabi.h.
 *
 * The guest is untrusted. Each call's struct is copied out of guest RAM
 * (after its address and size are checked) into a local, handled there and
 * copied back, so the guest cannot change a value between check and use; a
 * buffer the call points at is checked the same way before it is touched.
 * Which function serves a number is a table (vm->hc): the platform's
 * handlers below, and whatever the monitor's user added (vmm.h).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <unistd.h>

#include "pvtimer/pvabi.h"
#include "pvtimer/pvtimer.h"
#include "timersvc.h"
#include "vmm.h"

/* Contract in vmm.h. */
int pvt_vmm_guest_read(const struct pvt_vmm *vm, uint64_t gpa, void *dst,
                       size_t len)
{
    if (!pvt_vmm_gpa_ok(vm, gpa, len))
        return -EFAULT;
    if (len)
        memcpy(dst, vm->mem + gpa, len);
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_guest_write(struct pvt_vmm *vm, uint64_t gpa, const void *src,
                        size_t len)
{
    if (!pvt_vmm_gpa_ok(vm, gpa, len))
        return -EFAULT;
    if (len)
        memcpy(vm->mem + gpa, src, len);
    return 0;
}

/* errno from the timer service -> the ABI's code */
static int32_t hc_errno(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case -ERANGE:
        return -PVT_HC_ERANGE;
    default:
        return -PVT_HC_EINVAL;
    }
}

/*
 * The timer calls. Values the timers would take but no honest guest asks
 * for (deadlines or periods more than PVT_HC_MAX_AHEAD_NS ahead) are
 * refused with -ERANGE before they reach the service.
 */
static int hc_singleshot(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_timer_singleshot *a = args;
    uint64_t now;
    int64_t mono;

    (void)ctx;
    if (vm->svc == NULL)
        a->ret = -PVT_HC_ENOSYS;
    else if (pvt_vmm_read_clock(vm, &now, &mono) < 0)
        a->ret = -PVT_HC_EINVAL;
    else if (a->deadline_ns > now && a->deadline_ns - now > PVT_HC_MAX_AHEAD_NS)
        a->ret = -PVT_HC_ERANGE;
    else
        a->ret = hc_errno(pvt_timersvc_singleshot(
            vm->svc, pvt_vmm_vcpu_self(vm), a->deadline_ns));
    return 0;
}

static int hc_relative(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_timer_relative *a = args;

    (void)ctx;
    a->deadline_ns = 0;
    a->pad = 0;
    if (vm->svc == NULL)
        a->ret = -PVT_HC_ENOSYS;
    else if (a->delta_ns > PVT_HC_MAX_AHEAD_NS)
        a->ret = -PVT_HC_ERANGE;
    else
        a->ret = hc_errno(pvt_timersvc_relative(vm->svc, pvt_vmm_vcpu_self(vm),
                                                a->delta_ns, &a->deadline_ns));
    return 0;
}

static int hc_periodic(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_timer_periodic *a = args;
    uint64_t period = a->period_ns;

    (void)ctx;
    if (vm->svc == NULL)
        a->ret = -PVT_HC_ENOSYS;
    else if (period != 0 &&
             (period < PVT_HC_MIN_PERIOD_NS || period > PVT_HC_MAX_AHEAD_NS))
        a->ret = -PVT_HC_ERANGE;
    else
        a->ret = hc_errno(
            pvt_timersvc_periodic(vm->svc, pvt_vmm_vcpu_self(vm), period));
    return 0;
}

static int hc_stop(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_timer_stop *a = args;

    (void)ctx;
    if (a->reserved)
        a->ret = -PVT_HC_EINVAL;
    else if (vm->svc == NULL)
        a->ret = -PVT_HC_ENOSYS;
    else
        a->ret = hc_errno(pvt_timersvc_stop(vm->svc, pvt_vmm_vcpu_self(vm)));
    return 0;
}

static int hc_info(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_info *a = args;
    const char *cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "";
    size_t len = strlen(cmdline);

    (void)ctx;
    a->magic = PVT_ABI_MAGIC;
    a->host_abi = PVT_ABI_VERSION;
    a->monitor_version = (uint32_t)PVTIMER_VERSION_MAJOR << 16 |
                         (uint32_t)PVTIMER_VERSION_MINOR << 8 |
                         (uint32_t)PVTIMER_VERSION_PATCH;
    a->mem_size = vm->cfg.mem_size;
    a->cmdline_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    a->vcpus = vm->nvcpu;
    if (a->abi_version != PVT_ABI_VERSION) {
        a->ret = -PVT_HC_EOPNOTSUPP;
        return 0;
    }
    if (a->cmdline_size == 0) {
        a->ret = 0;
        return 0;
    }
    if (!pvt_vmm_gpa_ok(vm, a->cmdline, a->cmdline_size)) {
        a->ret = -PVT_HC_EFAULT;
        return 0;
    }
    if (len >= a->cmdline_size)
        len = a->cmdline_size - 1;
    memcpy(vm->mem + a->cmdline, cmdline, len);
    vm->mem[a->cmdline + len] = '\0';
    a->ret = 0;
    return 0;
}

static int hc_console_write(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_console_write *a = args;
    const uint8_t *p;
    size_t left;

    (void)ctx;
    if (a->len > PVT_HC_CONSOLE_MAX) {
        a->ret = -PVT_HC_EINVAL;
        return 0;
    }
    if (!pvt_vmm_gpa_ok(vm, a->data, a->len)) {
        a->ret = -PVT_HC_EFAULT;
        return 0;
    }
    if (a->len > PVT_HC_CONSOLE_BUDGET - vm->console_bytes) {
        a->ret = -PVT_HC_ENOSPC;
        return 0;
    }
    vm->console_bytes += a->len;
    p = vm->mem + a->data;
    left = (size_t)a->len;
    while (left) {
        ssize_t n = write(vm->cfg.console_fd, p, left);
        if (n < 0 && errno == EINTR) {
            if (vm->timed_out)
                return pvt_vmm_fail(vm, ETIMEDOUT,
                                    "the guest did not finish within %u "
                                    "s (watchdog), writing its console",
                                    vm->cfg.timeout_s);
            continue;
        }
        if (n <= 0)
            return pvt_vmm_fail(vm, n < 0 ? errno : EIO,
                                "console write failed: %s",
                                n < 0 ? strerror(errno) : "no progress");
        p += n;
        left -= (size_t)n;
    }
    a->ret = (int32_t)a->len;
    return 0;
}

static int hc_exit(struct pvt_vmm *vm, void *args, void *ctx)
{
    const struct pvt_hc_exit *a = args;

    (void)ctx;
    vm->guest_status = a->status;
    return PVT_VMM_HC_EXIT;
}

static int hc_suspend(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_suspend *a = args;
    int rc;

    (void)ctx;
    if (a->reserved) {
        a->ret = -PVT_HC_EINVAL;
        return 0;
    }
    rc = pvt__vmm_suspend(vm);
    if (rc < 0)
        return rc;
    a->ret = rc;
    return 0;
}

#define PLATFORM_HC(nr, type, fn)                                              \
    {                                                                          \
        nr, sizeof(struct type), fn, NULL                                      \
    }

/* The platform's calls (pvtimer/pvabi.h), served by every monitor. */
static const struct pvt_vmm_hypercall platform_hc[] = {
    PLATFORM_HC(PVT_HC_INFO, pvt_hc_info, hc_info),
    PLATFORM_HC(PVT_HC_CONSOLE_WRITE, pvt_hc_console_write, hc_console_write),
    PLATFORM_HC(PVT_HC_EXIT, pvt_hc_exit, hc_exit),
    PLATFORM_HC(PVT_HC_TIMER_SINGLESHOT, pvt_hc_timer_singleshot,
                hc_singleshot),
    PLATFORM_HC(PVT_HC_TIMER_RELATIVE, pvt_hc_timer_relative, hc_relative),
    PLATFORM_HC(PVT_HC_TIMER_PERIODIC, pvt_hc_timer_periodic, hc_periodic),
    PLATFORM_HC(PVT_HC_TIMER_STOP, pvt_hc_timer_stop, hc_stop),
    PLATFORM_HC(PVT_HC_SUSPEND, pvt_hc_suspend, hc_suspend),
};

/* Puts one entry into vm->hc, checked. */
static int install(struct pvt_vmm *vm, const struct pvt_vmm_hypercall *h)
{
    if (h->nr >= PVT_HC_PIO_COUNT || h->size == 0 ||
        h->size > PVT_VMM_HC_SIZE_MAX || h->handle == NULL)
        return pvt_vmm_fail(vm, EINVAL,
                            "hypercall %u: a number below %u, a struct of "
                            "1 to %u bytes and a handler are needed",
                            h->nr, PVT_HC_PIO_COUNT, PVT_VMM_HC_SIZE_MAX);
    if (vm->hc[h->nr].handle != NULL)
        return pvt_vmm_fail(vm, EEXIST, "hypercall %u has a handler already",
                            h->nr);
    vm->hc[h->nr] = *h;
    return 0;
}

/* Contract in vmm.h. */
int pvt__vmm_hypercalls_init(struct pvt_vmm *vm,
                             const struct pvt_vmm_hypercall *more, size_t nmore)
{
    size_t i;
    int rc;

    memset(vm->hc, 0, sizeof(vm->hc));
    for (i = 0; i < PVT_ARRAY_SIZE(platform_hc); i++)
        if ((rc = install(vm, &platform_hc[i])) < 0)
            return rc;
    for (i = 0; i < nmore; i++)
        if ((rc = install(vm, &more[i])) < 0)
            return rc;
    if (vm->cfg.hypercall_count && vm->cfg.hypercalls == NULL)
        return pvt_vmm_fail(vm, EINVAL, "%zu hypercalls but no table",
                            vm->cfg.hypercall_count);
    for (i = 0; i < vm->cfg.hypercall_count; i++)
        if ((rc = install(vm, &vm->cfg.hypercalls[i])) < 0)
            return rc;
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_handle_io(struct pvt_vmm *vm)
{
    if (vm == NULL || vm->run == NULL)
        return vm ? pvt_vmm_fail(vm, EINVAL, "no run area to take an exit from")
                  : -EINVAL;
    return pvt__vmm_handle_io_run(vm, vm->run);
}

/* Contract in vmm.h. */
int pvt__vmm_handle_io_run(struct pvt_vmm *vm, struct kvm_run *run)
{
    const struct pvt_vmm_hypercall *h;
    union {
        uint64_t align;
        uint8_t bytes[PVT_VMM_HC_SIZE_MAX];
    } a;
    uint32_t port;
    uint32_t nr;
    uint32_t gpa;
    int rc;

    port = run->io.port;
    if (port < PVT_HC_PIO_BASE || port >= PVT_HC_PIO_BASE + PVT_HC_PIO_COUNT)
        return pvt_vmm_fail(vm, EINVAL,
                            "the guest accessed I/O port 0x%x (%s, %u "
                            "bytes), which no device serves",
                            port,
                            run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
                            (unsigned int)run->io.size);
    nr = port - PVT_HC_PIO_BASE;
    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
        run->io.count != 1)
        return pvt_vmm_fail(vm, EINVAL,
                            "hypercall port 0x%x: a 32-bit out was "
                            "expected, not %s of %u x %u bytes",
                            port,
                            run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
                            run->io.count, (unsigned int)run->io.size);
    h = &vm->hc[nr];
    if (h->handle == NULL)
        return pvt_vmm_fail(vm, ENOSYS, "unknown hypercall %u (port 0x%x)", nr,
                            port);
    if (run->io.data_offset > vm->run_size ||
        vm->run_size - run->io.data_offset < sizeof(gpa))
        return pvt_vmm_fail(vm, EINVAL, "KVM: I/O data outside the run area");
    memcpy(&gpa, (const uint8_t *)run + run->io.data_offset, sizeof(gpa));

    if (pvt_vmm_guest_read(vm, gpa, &a, h->size) < 0)
        return pvt_vmm_fail(vm, EFAULT,
                            "hypercall %u: its struct at 0x%x (%u "
                            "bytes) is outside guest RAM",
                            nr, gpa, h->size);
    pthread_mutex_lock(&vm->hc_lock);
    vm->stats.hypercalls[nr]++;
    rc = h->handle(vm, &a, h->ctx);
    pthread_mutex_unlock(&vm->hc_lock);
    if (rc != 0)
        return rc;
    /* the whole struct: IN fields go back as they came */
    memcpy(vm->mem + gpa, &a, h->size);
    return 0;
}

/*
 * Hypercall dispatch: the port I/O exits of the window in pvtimer/pvabi.h.
 *
 * The guest is untrusted. Each call's struct is copied out of guest RAM
 * (after its address and size are checked) into a local, handled there and
 * copied back, so the guest cannot change a value between check and use; a
 * buffer the call points at is checked the same way before it is touched.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvtimer/pvabi.h"
#include "pvtimer/pvtimer.h"
#include "timersvc.h"
#include "vmm.h"

/* Every call's struct, for the copy in and out. */
union hc_args {
    struct pvt_hc_info info;
    struct pvt_hc_console_write console;
    struct pvt_hc_exit exit;
    struct pvt_hc_timer_singleshot singleshot;
    struct pvt_hc_timer_relative relative;
    struct pvt_hc_timer_periodic periodic;
    struct pvt_hc_timer_stop stop;
    struct pvt_hc_result result;
    struct pvt_hc_suspend suspend;
    struct pvt_hc_workload workload;
};

/* Struct size per hypercall number. */
static const size_t hc_size[PVT_HC_MAX] = {
    [PVT_HC_INFO] = sizeof(struct pvt_hc_info),
    [PVT_HC_CONSOLE_WRITE] = sizeof(struct pvt_hc_console_write),
    [PVT_HC_EXIT] = sizeof(struct pvt_hc_exit),
    [PVT_HC_TIMER_SINGLESHOT] = sizeof(struct pvt_hc_timer_singleshot),
    [PVT_HC_TIMER_RELATIVE] = sizeof(struct pvt_hc_timer_relative),
    [PVT_HC_TIMER_PERIODIC] = sizeof(struct pvt_hc_timer_periodic),
    [PVT_HC_TIMER_STOP] = sizeof(struct pvt_hc_timer_stop),
    [PVT_HC_RESULT] = sizeof(struct pvt_hc_result),
    [PVT_HC_SUSPEND] = sizeof(struct pvt_hc_suspend),
    [PVT_HC_WORKLOAD] = sizeof(struct pvt_hc_workload),
};

static void hc_workload(struct pvt_vmm *vm, struct pvt_hc_workload *a)
{
    uint32_t n = 0;

    a->total = vm->cfg.workload ? vm->cfg.workload_count : 0;
    a->count = 0;
    a->pad = 0;
    if (a->max_items == 0 || a->max_items > PVT_WORKLOAD_CHUNK_MAX) {
        a->ret = -PVT_HC_EINVAL;
        return;
    }
    if (!pvt_vmm_gpa_ok(vm, a->buf,
                        (uint64_t)a->max_items *
                            sizeof(struct pvt_workload_item))) {
        a->ret = -PVT_HC_EFAULT;
        return;
    }
    if (a->first < a->total)
        n = a->total - a->first < a->max_items ? a->total - a->first
                                               : a->max_items;
    if (n)
        memcpy(vm->mem + a->buf, vm->cfg.workload + a->first,
               (size_t)n * sizeof(struct pvt_workload_item));
    if (a->first == 0 && atomic_load(&vm->workload_at) == 0) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        atomic_store(&vm->workload_at,
                     (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
    }
    a->count = n;
    a->ret = 0;
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
static int32_t hc_singleshot(struct pvt_vmm *vm, uint64_t deadline)
{
    uint64_t now;
    int64_t mono;

    if (vm->svc == NULL)
        return -PVT_HC_ENOSYS;
    if (pvt_vmm_read_clock(vm, &now, &mono) < 0)
        return -PVT_HC_EINVAL;
    if (deadline > now && deadline - now > PVT_HC_MAX_AHEAD_NS)
        return -PVT_HC_ERANGE;
    return hc_errno(pvt_timersvc_singleshot(vm->svc, 0, deadline));
}

static int32_t hc_relative(struct pvt_vmm *vm, uint64_t delta, uint64_t *armed)
{
    if (vm->svc == NULL)
        return -PVT_HC_ENOSYS;
    if (delta > PVT_HC_MAX_AHEAD_NS)
        return -PVT_HC_ERANGE;
    return hc_errno(pvt_timersvc_relative(vm->svc, 0, delta, armed));
}

static int32_t hc_periodic(struct pvt_vmm *vm, uint64_t period)
{
    if (vm->svc == NULL)
        return -PVT_HC_ENOSYS;
    if (period != 0 &&
        (period < PVT_HC_MIN_PERIOD_NS || period > PVT_HC_MAX_AHEAD_NS))
        return -PVT_HC_ERANGE;
    return hc_errno(pvt_timersvc_periodic(vm->svc, 0, period));
}

static int32_t hc_stop(struct pvt_vmm *vm, uint32_t reserved)
{
    if (reserved)
        return -PVT_HC_EINVAL;
    if (vm->svc == NULL)
        return -PVT_HC_ENOSYS;
    return hc_errno(pvt_timersvc_stop(vm->svc, 0));
}

/* RESULT: validated here, folded by the owner's callbacks. Returns the
 * call's ret; sets *stop when a callback refused (that stops the VM). */
static int32_t hc_result(struct pvt_vmm *vm, const struct pvt_hc_result *a,
                         bool *stop)
{
    union {
        struct pvt_result_sample s[PVT_RESULT_BATCH_MAX]; /* 6 KiB */
        struct pvt_result_drift d[PVT_RESULT_DRIFT_BATCH_MAX];
    } buf;
    struct pvt_result_sample *batch = buf.s;
    struct pvt_result_summary sum;
    uint32_t i;

    if (a->type == PVT_RESULT_SAMPLES) {
        if (a->count == 0 || a->count > PVT_RESULT_BATCH_MAX)
            return -PVT_HC_EINVAL;
        if (!pvt_vmm_gpa_ok(vm, a->data, (uint64_t)a->count * sizeof(batch[0])))
            return -PVT_HC_EFAULT;
        memcpy(batch, vm->mem + a->data, a->count * sizeof(batch[0]));
        for (i = 0; i < a->count; i++)
            if (batch[i].kind == 0 || batch[i].kind >= PVT_SAMPLE_KIND_MAX ||
                (batch[i].flags & ~PVT_SAMPLE_FLAGS))
                return -PVT_HC_EINVAL;
        if (vm->cfg.on_samples &&
            vm->cfg.on_samples(vm->cfg.result_ctx, batch, a->count) < 0)
            *stop = true;
        return 0;
    }
    if (a->type == PVT_RESULT_DRIFT) {
        struct pvt_result_drift *u = buf.d;

        if (a->count == 0 || a->count > PVT_RESULT_DRIFT_BATCH_MAX)
            return -PVT_HC_EINVAL;
        if (!pvt_vmm_gpa_ok(vm, a->data, (uint64_t)a->count * sizeof(*u)))
            return -PVT_HC_EFAULT;
        memcpy(u, vm->mem + a->data, a->count * sizeof(*u));
        for (i = 0; i < a->count; i++)
            if (u[i].state > 3)
                return -PVT_HC_EINVAL;
        if (vm->cfg.on_drift &&
            vm->cfg.on_drift(vm->cfg.result_ctx, u, a->count) < 0)
            *stop = true;
        return 0;
    }
    if (a->type == PVT_RESULT_SUMMARY) {
        if (a->count != 1)
            return -PVT_HC_EINVAL;
        if (!pvt_vmm_gpa_ok(vm, a->data, sizeof(sum)))
            return -PVT_HC_EFAULT;
        memcpy(&sum, vm->mem + a->data, sizeof(sum));
        if (memchr(sum.strategy, '\0', sizeof(sum.strategy)) == NULL ||
            pvt_strategy_find(sum.strategy) == NULL)
            return -PVT_HC_EINVAL;
        if (vm->stats.summaries >= PVT_RESULT_RUNS_MAX)
            return -PVT_HC_ENOSPC;
        vm->stats.summaries++;
        if (vm->cfg.on_summary &&
            vm->cfg.on_summary(vm->cfg.result_ctx, &sum) < 0)
            *stop = true;
        return 0;
    }
    return -PVT_HC_EINVAL;
}

static void hc_info(struct pvt_vmm *vm, struct pvt_hc_info *a)
{
    const char *cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "";
    size_t len = strlen(cmdline);

    a->magic = PVT_ABI_MAGIC;
    a->host_abi = PVT_ABI_VERSION;
    a->monitor_version = (uint32_t)PVTIMER_VERSION_MAJOR << 16 |
                         (uint32_t)PVTIMER_VERSION_MINOR << 8 |
                         (uint32_t)PVTIMER_VERSION_PATCH;
    a->mem_size = vm->cfg.mem_size;
    a->cmdline_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    a->pad = 0;
    if (a->abi_version != PVT_ABI_VERSION) {
        a->ret = -PVT_HC_EOPNOTSUPP;
        return;
    }
    if (a->cmdline_size == 0) {
        a->ret = 0;
        return;
    }
    if (!pvt_vmm_gpa_ok(vm, a->cmdline, a->cmdline_size)) {
        a->ret = -PVT_HC_EFAULT;
        return;
    }
    if (len >= a->cmdline_size)
        len = a->cmdline_size - 1;
    memcpy(vm->mem + a->cmdline, cmdline, len);
    vm->mem[a->cmdline + len] = '\0';
    a->ret = 0;
}

static int hc_console_write(struct pvt_vmm *vm, struct pvt_hc_console_write *a)
{
    const uint8_t *p;
    size_t left;

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
                return pvt__vmm_fail(vm,
                                     "the guest did not finish within %u "
                                     "s (watchdog), writing its console",
                                     vm->cfg.timeout_s);
            continue;
        }
        if (n <= 0)
            return pvt__vmm_fail(vm, "console write failed: %s",
                                 n < 0 ? strerror(errno) : "no progress");
        p += n;
        left -= (size_t)n;
    }
    a->ret = (int32_t)a->len;
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_handle_io(struct pvt_vmm *vm)
{
    struct kvm_run *run = vm->run;
    union hc_args a;
    uint32_t port = run->io.port;
    uint32_t nr;
    uint32_t gpa;
    size_t size;
    int32_t ret = 0;

    if (port < PVT_HC_PIO_BASE || port >= PVT_HC_PIO_BASE + PVT_HC_PIO_COUNT)
        return pvt__vmm_fail(
            vm,
            "the guest accessed I/O port 0x%x (%s, %u "
            "bytes), which no device serves",
            port, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
            (unsigned int)run->io.size);
    nr = port - PVT_HC_PIO_BASE;
    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
        run->io.count != 1)
        return pvt__vmm_fail(
            vm,
            "hypercall port 0x%x: a 32-bit out was "
            "expected, not %s of %u x %u bytes",
            port, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
            run->io.count, (unsigned int)run->io.size);
    if (nr >= PVT_HC_MAX)
        return pvt__vmm_fail(vm, "unknown hypercall %u (port 0x%x)", nr, port);
    if (run->io.data_offset > vm->run_size ||
        vm->run_size - run->io.data_offset < sizeof(gpa))
        return pvt__vmm_fail(vm, "KVM: I/O data outside the run area");
    memcpy(&gpa, (const uint8_t *)run + run->io.data_offset, sizeof(gpa));

    size = hc_size[nr];
    if (!pvt_vmm_gpa_ok(vm, gpa, size))
        return pvt__vmm_fail(vm,
                             "hypercall %u: its struct at 0x%x (%zu "
                             "bytes) is outside guest RAM",
                             nr, gpa, size);
    memcpy(&a, vm->mem + gpa, size);
    vm->stats.hypercalls[nr]++;

    switch ((enum pvt_hc_nr)nr) {
    case PVT_HC_INFO:
        hc_info(vm, &a.info);
        ret = a.info.ret;
        break;
    case PVT_HC_CONSOLE_WRITE:
        if (hc_console_write(vm, &a.console) < 0)
            return -1;
        break;
    case PVT_HC_EXIT:
        vm->guest_status = a.exit.status;
        return 1;
    case PVT_HC_TIMER_SINGLESHOT:
        a.singleshot.ret = hc_singleshot(vm, a.singleshot.deadline_ns);
        ret = a.singleshot.ret;
        break;
    case PVT_HC_TIMER_RELATIVE:
        a.relative.deadline_ns = 0;
        a.relative.pad = 0;
        a.relative.ret =
            hc_relative(vm, a.relative.delta_ns, &a.relative.deadline_ns);
        ret = a.relative.ret;
        break;
    case PVT_HC_TIMER_PERIODIC:
        a.periodic.ret = hc_periodic(vm, a.periodic.period_ns);
        ret = a.periodic.ret;
        break;
    case PVT_HC_TIMER_STOP:
        a.stop.ret = hc_stop(vm, a.stop.reserved);
        ret = a.stop.ret;
        break;
    case PVT_HC_RESULT: {
        bool stop = false;

        a.result.ret = hc_result(vm, &a.result, &stop);
        ret = a.result.ret;
        if (stop)
            return pvt__vmm_fail(vm, "the guest's results were refused");
        break;
    }
    case PVT_HC_WORKLOAD:
        hc_workload(vm, &a.workload);
        ret = a.workload.ret;
        break;
    case PVT_HC_SUSPEND:
        if (a.suspend.reserved) {
            a.suspend.ret = -PVT_HC_EINVAL;
        } else {
            int rc = pvt__vmm_suspend(vm);
            if (rc < 0)
                return -1;
            a.suspend.ret = rc;
        }
        ret = a.suspend.ret;
        break;
    case PVT_HC_MAX:
        return pvt__vmm_fail(vm, "unknown hypercall %u", nr);
    }
    if (ret < 0)
        vm->stats.refused++;
    /* the whole struct: IN fields go back as they came */
    memcpy(vm->mem + gpa, &a, size);
    return 0;
}

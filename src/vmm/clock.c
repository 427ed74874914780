/*
 * The VM's clock: kvmclock read paired with CLOCK_MONOTONIC (what the
 * timer service counts in), and its jumps (a migration: the clock moved
 * while the guest is stopped at its suspend point). Contracts in vmm.h.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "timersvc.h"
#include "vmm.h"

#define NSEC_PER_SEC 1000000000ll

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
    return pvt__vmm_inject_msi(vm, 0, PVT_VEC_CONTROL);
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
        return pvt__vmm_fail_ioctl(vm, "KVM_GET_CLOCK");
    if (jump < 0 && (uint64_t)-jump > data.clock)
        jump = -(int64_t)data.clock;
    data.clock += (uint64_t)jump;
    data.flags = 0;
    if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &data) < 0)
        return pvt__vmm_fail_ioctl(vm, "KVM_SET_CLOCK");
    if (vm->svc && (rc = pvt_timersvc_clock_jumped(vm->svc)) < 0)
        return pvt_vmm_fail(vm, -rc, "timer service after the clock jump: %s",
                            strerror(-rc));
    vm->stats.migrations++;
    return 1;
}

/*
 * What every part of the monitor shares: its errors (pvt_vmm_fail, a
 * failed ioctl), which vCPU the calling thread runs, and the interrupt
 * the monitor sends a vCPU. Contracts in vmm.h.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

_Thread_local struct pvt_vmm_vcpu *pvt__vmm_tls_vcpu;

/* Contract in vmm.h. */
int pvt_vmm_fail(struct pvt_vmm *vm, int err, const char *fmt, ...)
{
    struct pvt_vmm_vcpu *v = pvt__vmm_tls_vcpu;
    char *dst = vm->err;
    size_t len = sizeof(vm->err);
    va_list ap;

    /* on a vCPU's thread the reason is that vCPU's (pvt_vmm_run picks
     * the first), so two vCPUs failing together do not mix their text */
    if (v != NULL && v->vm == vm) {
        dst = v->err;
        len = sizeof(v->err);
    }
    va_start(ap, fmt);
    vsnprintf(dst, len, fmt, ap);
    va_end(ap);
    return err > 0 ? -err : -EINVAL;
}

/* Contract in vmm.h. */
unsigned int pvt_vmm_vcpu_self(const struct pvt_vmm *vm)
{
    struct pvt_vmm_vcpu *v = pvt__vmm_tls_vcpu;

    return v != NULL && v->vm == vm ? v->index : 0;
}

/* Contract in vmm.h. */
int pvt__vmm_fail_ioctl(struct pvt_vmm *vm, const char *what)
{
    return pvt_vmm_fail(vm, errno, "KVM: %s failed: %s", what, strerror(errno));
}

/* Contract in vmm.h. */
int pvt__vmm_inject_msi(void *ctx, unsigned int vcpu, uint32_t vector)
{
    struct pvt_vmm *vm = ctx;
    struct kvm_msi msi;

    memset(&msi, 0, sizeof(msi));
    msi.address_lo = 0xfee00000u | (vcpu << 12);
    msi.data = vector;
    return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

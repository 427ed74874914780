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
#include <unistd.h>

#include "pvtimer/pvabi.h"
#include "pvtimer/pvtimer.h"
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
};

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
    p = vm->mem + a->data;
    left = (size_t)a->len;
    while (left) {
        ssize_t n = write(vm->cfg.console_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
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

    switch ((enum pvt_hc_nr)nr) {
    case PVT_HC_INFO:
        hc_info(vm, &a.info);
        break;
    case PVT_HC_CONSOLE_WRITE:
        if (hc_console_write(vm, &a.console) < 0)
            return -1;
        break;
    case PVT_HC_EXIT:
        vm->guest_status = a.exit.status;
        return 1;
    /* the timer service is the next step: known, refused */
    case PVT_HC_TIMER_SINGLESHOT:
        a.singleshot.ret = -PVT_HC_ENOSYS;
        break;
    case PVT_HC_TIMER_RELATIVE:
        a.relative.ret = -PVT_HC_ENOSYS;
        break;
    case PVT_HC_TIMER_PERIODIC:
        a.periodic.ret = -PVT_HC_ENOSYS;
        break;
    case PVT_HC_TIMER_STOP:
        a.stop.ret = a.stop.reserved ? -PVT_HC_EINVAL : -PVT_HC_ENOSYS;
        break;
    case PVT_HC_MAX:
        return pvt__vmm_fail(vm, "unknown hypercall %u", nr);
    }
    /* the whole struct: IN fields go back as they came */
    memcpy(vm->mem + gpa, &a, size);
    return 0;
}

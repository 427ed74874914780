/*
 * pvtimer's platform ABI: the hypercalls between a guest kernel and the
 * KVM monitor (src/vmm/) that a guest OS needs: discovery, console, exit,
 * the paravirtual timers and the suspend point of a migration.
 * pvtimer/pvexp.h adds the experiment protocol of pvtimer's own guest
 * (results, workload) in a number range of its own; a guest OS needs only
 * this header.
 *
 * Self-contained C11 (only <stdint.h>), installed, included by both sides;
 * a guest builds it freestanding. Little endian, x86-64.
 *
 * Calling convention: the guest fills the call's struct (IN part), then
 * writes the struct's guest-physical address with a 32-bit `out` to the
 * call's port, PVT_HC_PIO(nr); so every struct lives below 4 GiB. When the
 * `out` instruction completes, the monitor has filled the OUT part. The
 * monitor copies the struct in before it looks at it and copies the OUT
 * part back after, so the guest cannot change a value after it was checked.
 *
 * Errors: `ret` is 0 (or a documented non-negative value) on success and a
 * negated PVT_HC_E* code on failure. The monitor stops the VM, with a
 * message, when it cannot even return an error: a hypercall number it has
 * no handler for, a struct outside guest RAM, or an access to a port of
 * the window that is not a 32-bit `out`.
 *
 * Detecting the monitor: a guest zeroes struct pvt_hc_info and calls INFO;
 * only this monitor sets `magic` to PVT_ABI_MAGIC (on another hypervisor the
 * port write goes nowhere). Then it compares abi_version with its own.
 */
#ifndef PVTIMER_PVABI_H
#define PVTIMER_PVABI_H

#include <stdint.h>

/* Bumped on any incompatible change to a struct, number or meaning, here
 * or in pvtimer/pvexp.h (3: RESULT and WORKLOAD moved to pvexp.h's range;
 * 4: several vCPUs: INFO's vcpus, VCPU_UP, per-vCPU results). */
#define PVT_ABI_VERSION 4u
/* "PVTM": what INFO writes into magic. */
#define PVT_ABI_MAGIC 0x4d545650u

/*
 * The hypercall port window, [PVT_HC_PIO_BASE, + PVT_HC_PIO_COUNT). KVM
 * emulates none of it in the kernel (PIC 0x20/0xa0, PIT 0x40, PS/2 0x60,
 * RTC 0x70, debug 0x80, ELCR 0x4d0, serial 0x3f8 are all far away), so
 * every access exits to the monitor.
 */
#define PVT_HC_PIO_BASE  0x5000u
#define PVT_HC_PIO_COUNT 0x100u
#define PVT_HC_PIO(nr)   (PVT_HC_PIO_BASE + (uint32_t)(nr))

/*
 * Hypercall numbers: one space of PVT_HC_PIO_COUNT numbers shared by two
 * headers. This one owns [0, PVT_HC_EXP_BASE), the platform; pvtimer/pvexp.h
 * owns [PVT_HC_EXP_BASE, PVT_HC_PIO_COUNT), pvtimer's experiment protocol.
 * Numbers are never reused: 7 and 9 were RESULT and WORKLOAD up to ABI 2.
 */
#define PVT_HC_EXP_BASE 0x80u

enum pvt_hc_nr {
    PVT_HC_INFO = 0,             /* struct pvt_hc_info */
    PVT_HC_CONSOLE_WRITE = 1,    /* struct pvt_hc_console_write */
    PVT_HC_EXIT = 2,             /* struct pvt_hc_exit; does not return */
    PVT_HC_TIMER_SINGLESHOT = 3, /* struct pvt_hc_timer_singleshot */
    PVT_HC_TIMER_RELATIVE = 4,   /* struct pvt_hc_timer_relative */
    PVT_HC_TIMER_PERIODIC = 5,   /* struct pvt_hc_timer_periodic */
    PVT_HC_TIMER_STOP = 6,       /* struct pvt_hc_timer_stop */
    /* 7: retired */
    PVT_HC_SUSPEND = 8, /* struct pvt_hc_suspend */
    /* 9: retired */
    PVT_HC_VCPU_UP = 10, /* struct pvt_hc_vcpu_up */
    PVT_HC_PLATFORM_END  /* one past the highest platform number */
};

/*
 * Interrupt vectors the monitor injects (as MSIs to the vCPU's local APIC,
 * fixed delivery, edge): the guest installs handlers for them before it
 * enables interrupts. The singleshot and the periodic timer fire
 * separately; when both are due they come together, singleshot first.
 * PVT_VEC_CONTROL means "the monitor wants a PVT_HC_SUSPEND call" (a
 * migration or a pause is waiting for the guest to reach a safe point).
 */
#define PVT_VEC_SINGLESHOT 0x40u
#define PVT_VEC_PERIODIC   0x41u
#define PVT_VEC_CONTROL    0x42u

/* Error codes for `ret`, negated; the numbers are Linux's errno values. */
#define PVT_HC_EFAULT     14 /* a buffer lies (partly) outside guest RAM */
#define PVT_HC_EINVAL     22 /* a bad value (reserved field not 0, ...) */
#define PVT_HC_ERANGE     34 /* a value out of the call's range */
#define PVT_HC_ENOSPC     28 /* a bounded store of the monitor is full */
#define PVT_HC_ENOSYS     38 /* call known but not implemented by this monitor */
#define PVT_HC_EOPNOTSUPP 95 /* the guest's ABI version is not supported */

/* Longest CONSOLE_WRITE: longer writes are refused with -PVT_HC_EINVAL.
 * A VM may write PVT_HC_CONSOLE_BUDGET bytes in all; later writes get
 * -PVT_HC_ENOSPC (a guest cannot fill the host's disk or terminal). */
#define PVT_HC_CONSOLE_MAX    4096u
#define PVT_HC_CONSOLE_BUDGET (64u << 20)

/*
 * INFO: versions, guest RAM and the command line the monitor was given.
 * IN: the guest's ABI version and a buffer for the command line. OUT: ret
 * is 0, or -PVT_HC_EOPNOTSUPP when abi_version differs from the monitor's
 * (the other OUT fields are still filled, so the guest can say why), or
 * -PVT_HC_EFAULT when the buffer is outside RAM. The command line is copied
 * NUL-terminated and truncated to cmdline_size - 1 bytes; cmdline_len is
 * its full length, so cmdline_len >= cmdline_size means it was cut.
 */
struct pvt_hc_info {
    /* IN */
    uint32_t abi_version;  /* the guest's PVT_ABI_VERSION */
    uint32_t cmdline_size; /* bytes at cmdline; 0: no command line wanted */
    uint64_t cmdline;      /* guest-physical address of the buffer */
    /* OUT */
    int32_t ret;
    uint32_t magic;           /* PVT_ABI_MAGIC */
    uint32_t host_abi;        /* the monitor's PVT_ABI_VERSION */
    uint32_t monitor_version; /* major << 16 | minor << 8 | patch */
    uint64_t mem_size;        /* bytes of guest RAM, from GPA 0 */
    uint32_t cmdline_len;     /* length of the full command line */
    uint32_t vcpus;           /* vCPUs of the VM (1..64); vCPU 0 boots */
};

/*
 * CONSOLE_WRITE: len bytes at data to the monitor's console. OUT: ret is
 * the number of bytes written (len), -PVT_HC_EINVAL when len exceeds
 * PVT_HC_CONSOLE_MAX, -PVT_HC_EFAULT when [data, data + len) is not inside
 * guest RAM (or wraps), -PVT_HC_ENOSPC past PVT_HC_CONSOLE_BUDGET.
 */
struct pvt_hc_console_write {
    /* IN */
    uint64_t data; /* guest-physical address */
    uint64_t len;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* EXIT: stops the VM; the monitor reports status (0 is success). */
struct pvt_hc_exit {
    /* IN */
    int32_t status;
    uint32_t pad;
};

/*
 * The timers, as Xen defines them (pvtimer/hvtimer.h has the semantics):
 * every vCPU starts with a periodic timer of PVT_HC_DEFAULT_PERIOD_NS,
 * first due one period after the vCPU starts, until the guest stops it.
 * A deadline less than the monitor's slop (50 us) ahead fires that slop
 * after the call (late, never early); the monitor rate-limits fires to one
 * per PVT_HC_MIN_INTERVAL_NS per vCPU (deferred, never dropped).
 * Deadlines are kvmclock ns: what the guest reads from its kvmclock page.
 */
#define PVT_HC_DEFAULT_PERIOD_NS 10000000ull
#define PVT_HC_MIN_PERIOD_NS     1000000ull
#define PVT_HC_MIN_INTERVAL_NS   10000ull
/* Deadlines and deltas beyond this (about 13 days ahead) get -ERANGE. */
#define PVT_HC_MAX_AHEAD_NS (1ull << 50)

/*
 * TIMER_SINGLESHOT: fire once at deadline_ns, an absolute kvmclock time; a
 * deadline in the past fires at once, one more than PVT_HC_MAX_AHEAD_NS
 * ahead is refused. OUT: ret 0 or a negated code.
 */
struct pvt_hc_timer_singleshot {
    /* IN */
    uint64_t deadline_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/*
 * TIMER_RELATIVE: fire once delta_ns after the monitor handles the call
 * (delta_ns <= PVT_HC_MAX_AHEAD_NS). OUT: ret 0 or a negated code, and
 * the absolute deadline that makes (the monitor's now + delta_ns), so a
 * guest can see what a late call cost it.
 */
struct pvt_hc_timer_relative {
    /* IN */
    uint64_t delta_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
    uint64_t deadline_ns; /* the kvmclock deadline armed (when ret is 0) */
};

/*
 * TIMER_PERIODIC: fire every period_ns, first one period after the call;
 * 0 stops the periodic timer. OUT: ret 0, or -ERANGE for a period below
 * PVT_HC_MIN_PERIOD_NS or above PVT_HC_MAX_AHEAD_NS.
 */
struct pvt_hc_timer_periodic {
    /* IN */
    uint64_t period_ns;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* TIMER_STOP: cancel the pending singleshot timer. OUT: ret. */
struct pvt_hc_timer_stop {
    /* IN */
    uint32_t reserved; /* must be 0 */
    /* OUT */
    int32_t ret;
};

/*
 * SUSPEND: the guest's answer to PVT_VEC_CONTROL, made at a safe point
 * (interrupts off, nothing half-programmed). The monitor carries out what
 * was waiting (a migration: a kvmclock jump) before it returns. OUT: ret
 * 0 when nothing happened, 1 when the guest was moved: the clock may have
 * jumped and the singleshot timer was cancelled, so the guest runs its
 * resume path (forget the pvclock last value, continue its clock, re-arm).
 */
struct pvt_hc_suspend {
    /* IN */
    uint32_t reserved; /* must be 0 */
    /* OUT */
    int32_t ret;
};

/*
 * Several vCPUs. vCPU i has APIC ID i (x2APIC), its own kvmclock page
 * (each vCPU writes MSR_KVM_SYSTEM_TIME_NEW itself) and its own timers:
 * the timer calls above act on the timers of the vCPU that makes them,
 * and their interrupts go to that vCPU's APIC. Only vCPU 0 runs at first
 * (at the image's entry); the others wait until vCPU 0 (or any running
 * vCPU) starts them with VCPU_UP. There is no INIT/SIPI under this
 * monitor: VCPU_UP starts vCPU `vcpu` in 64-bit long mode as vCPU 0 was
 * started (the monitor's GDT and identity page tables, interrupts off),
 * at rip with rsp, and arg in rdi. OUT: ret 0, -PVT_HC_EINVAL (vcpu 0,
 * not below INFO's vcpus, already started, reserved not 0, rip or the 16
 * bytes below rsp outside guest RAM).
 */
struct pvt_hc_vcpu_up {
    /* IN */
    uint32_t vcpu;
    uint32_t reserved; /* must be 0 */
    uint64_t rip;
    uint64_t rsp;
    uint64_t arg;
    /* OUT */
    int32_t ret;
    uint32_t pad;
};

/* The layout is the ABI: any change here is a new PVT_ABI_VERSION. */
_Static_assert(sizeof(struct pvt_hc_vcpu_up) == 40, "pvt_hc_vcpu_up layout");
_Static_assert(sizeof(struct pvt_hc_info) == 48, "pvt_hc_info layout");
_Static_assert(sizeof(struct pvt_hc_console_write) == 24,
               "pvt_hc_console_write layout");
_Static_assert(sizeof(struct pvt_hc_exit) == 8, "pvt_hc_exit layout");
_Static_assert(sizeof(struct pvt_hc_timer_singleshot) == 16,
               "pvt_hc_timer_singleshot layout");
_Static_assert(sizeof(struct pvt_hc_timer_relative) == 24,
               "pvt_hc_timer_relative layout");
_Static_assert(sizeof(struct pvt_hc_timer_periodic) == 16,
               "pvt_hc_timer_periodic layout");
_Static_assert(sizeof(struct pvt_hc_timer_stop) == 8,
               "pvt_hc_timer_stop layout");
_Static_assert(sizeof(struct pvt_hc_suspend) == 8, "pvt_hc_suspend layout");
_Static_assert(PVT_HC_PLATFORM_END <= PVT_HC_EXP_BASE,
               "platform numbers stay below the experiment's range");
_Static_assert(PVT_HC_EXP_BASE < PVT_HC_PIO_COUNT,
               "both ranges fit the window");

#endif /* PVTIMER_PVABI_H */

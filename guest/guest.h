/*
 * The freestanding x86-64 guest kernel: hypercalls, console, panic.
 */
#ifndef PVTIMER_GUEST_H
#define PVTIMER_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/pvabi.h"

/*
 * Issues hypercall nr (pvtimer/pvabi.h's or pvtimer/pvexp.h's) with its
 * struct at args (identity mapped: the pointer is the guest-physical
 * address; the struct must lie below 4 GiB, which the linker script
 * guarantees for everything in the image).
 */
static inline void pvt_guest_hypercall(uint32_t nr, void *args)
{
    uint32_t gpa = (uint32_t)(uintptr_t)args;
    uint16_t port = (uint16_t)PVT_HC_PIO(nr);

    __asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
}

/* Writes len bytes to the monitor's console, in PVT_HC_CONSOLE_MAX
 * chunks (output the monitor refuses is dropped); after
 * pvt_guest_console_use_serial, to the serial port instead. */
void pvt_guest_console_write(const char *buf, size_t len);

/*
 * Without pvtimer's monitor (e.g. under QEMU): switches the console to the
 * 16550 serial port COM1 (0x3f8, 115200 8N1) and pvt_guest_exit to QEMU's
 * isa-debug-exit port 0xf4. Only then: our monitor serves neither port and
 * stops the VM on the first access.
 */
void pvt_guest_console_use_serial(void);

/* Has pvt_guest_console_use_serial been called (no pvtimer monitor)? */
bool pvt_guest_console_serial(void);

/* Writes a NUL-terminated string to the console. */
void pvt_guest_puts(const char *s);

/* Formats to the console with the project's formatter (src/lib/fmt.h:
 * %d %i %u %x %X %c %s %p %%, l / ll / z, '0', '-', width). Any context,
 * the exception path included (it needs ~200 bytes of stack). */
void pvt_guest_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Stops the VM with status (0: success); never returns. On the serial
 * console: writes status to port 0xf4, which QEMU's isa-debug-exit turns
 * into its exit status (status << 1) | 1, then halts. */
_Noreturn void pvt_guest_exit(int status);

/* Prints "panic: msg" and exits with status 255. */
_Noreturn void pvt_guest_panic(const char *msg);

/* The value of the space-separated word "key=value" in args, or NULL. */
const char *pvt_guest_arg(const char *args, const char *key);

/*
 * "key=-123" in args: 1 with the value in *out, 0 when there is no such
 * word (*out untouched), -1 when the value is not a whole number in int64
 * range followed by a space or the end.
 */
int pvt_guest_arg_int(const char *args, const char *key, int64_t *out);

struct pvt_strategy;

/*
 * A scenario's arguments: "key=N" for each keys[i] (0 .. n - 1) into
 * *dst[i] (left as it is when absent: the caller's default) and
 * "strategy=NAME" into *strategy. Returns 0, or -1 with the reason on the
 * console (a bad number, no or an unknown strategy).
 */
int pvt_guest_scenario_args(const char *args, const char *const keys[],
                            int64_t *const dst[], size_t n,
                            const struct pvt_strategy **strategy);

/* The C entry point, called by the start stub on the guest's own stack. */
_Noreturn void pvt_guest_main(void);

/* Runs what the guest can do without pvtimer's monitor (kvmclock, LAPIC
 * TSC-deadline); returns the exit status. */
int pvt_guest_standalone(void);

/*
 * The core's freestanding tests whose name contains one of the
 * space-separated patterns (all without one) and none of the -patterns,
 * as TAP lines and "N passed, N failed, N skipped" (guest/selftest.c);
 * exits the guest with status 0 when none failed. For pvt_cpu_run_user:
 * patterns is the const char * pattern string.
 */
_Noreturn void pvt_guest_selftest(void *patterns);

/*
 * The physical address of the hvm_start_info struct when the image was
 * entered through its PVH entry (pvt_guest_pvh_entry, guest/boot-pvh.c:
 * QEMU's `-kernel`); 0 when our monitor entered it at _start.
 */
extern uint32_t pvt_guest_pvh_start_info;

/* The 32-bit PVH entry point named by the image's Xen ELF note. */
void pvt_guest_pvh_entry(void);

/* Without pvtimer's monitor: the machine's CPUs as QEMU's firmware
 * configuration device gives them (1 where there is none). Kernel mode. */
unsigned int pvt_guest_pvh_cpus(void);

/*
 * Without pvtimer's monitor, as a kernel must: starts CPU index (APIC ID
 * index, 1..PVT_CPU_MAX-1) with INIT and startup IPIs through a real-mode
 * trampoline copied below 1 MiB (boot-pvh.c); it enters long mode with the
 * calling CPU's page tables and runs fn(index, arg) as pvt_cpu_start_ap's
 * would. Waits up to about 1 s (TSC at tsc_khz) for it to get there.
 * Kernel mode, x2APIC on, one call at a time. Returns 0, or -1 (bad
 * arguments, or the CPU did not start).
 */
int pvt_guest_pvh_start_ap(unsigned int index, void (*fn)(unsigned int, void *),
                           void *arg, uint64_t tsc_khz);

#endif /* PVTIMER_GUEST_H */

/*
 * The freestanding x86-64 guest kernel: hypercalls, console, panic.
 */
#ifndef PVTIMER_GUEST_H
#define PVTIMER_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "pvtimer/pvabi.h"

/*
 * Issues hypercall nr with its struct at args (identity mapped: the
 * pointer is the guest-physical address; the struct must lie below 4 GiB,
 * which the linker script guarantees for everything in the image).
 */
static inline void pvt_guest_hypercall(enum pvt_hc_nr nr, void *args)
{
    uint32_t gpa = (uint32_t)(uintptr_t)args;
    uint16_t port = (uint16_t)PVT_HC_PIO(nr);

    __asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
}

/* Writes len bytes to the monitor's console, in PVT_HC_CONSOLE_MAX
 * chunks; output the monitor refuses is dropped. */
void pvt_guest_console_write(const char *buf, size_t len);

/* Writes a NUL-terminated string to the console. */
void pvt_guest_puts(const char *s);

/* Stops the VM with status (0: success); never returns. */
_Noreturn void pvt_guest_exit(int status);

/* Prints "panic: msg" and exits with status 255. */
_Noreturn void pvt_guest_panic(const char *msg);

/* The C entry point, called by the start stub on the guest's own stack. */
_Noreturn void pvt_guest_main(void);

#endif /* PVTIMER_GUEST_H */

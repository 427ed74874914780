/*
 * The console: CONSOLE_WRITE hypercalls, and the ways out (exit, panic).
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

/* Contract in guest.h. */
void pvt_guest_console_write(const char *buf, size_t len)
{
    while (len) {
        struct pvt_hc_console_write a = {0};
        size_t n = len < PVT_HC_CONSOLE_MAX ? len : PVT_HC_CONSOLE_MAX;

        a.data = (uint64_t)(uintptr_t)buf;
        a.len = n;
        pvt_guest_hypercall(PVT_HC_CONSOLE_WRITE, &a);
        if (a.ret < 0)
            return;
        buf += n;
        len -= n;
    }
}

/* Contract in guest.h. */
void pvt_guest_puts(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    pvt_guest_console_write(s, n);
}

/* Contract in guest.h. */
_Noreturn void pvt_guest_exit(int status)
{
    struct pvt_hc_exit a = {0};

    a.status = status;
    pvt_guest_hypercall(PVT_HC_EXIT, &a);
    /* a monitor that returns from EXIT: stop here for good */
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Contract in guest.h. */
_Noreturn void pvt_guest_panic(const char *msg)
{
    pvt_guest_puts("panic: ");
    pvt_guest_puts(msg);
    pvt_guest_puts("\n");
    pvt_guest_exit(255);
}

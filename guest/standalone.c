/*
 * What the guest runs without pvtimer's monitor (under QEMU). Provisional:
 * the guest's timer code replaces this body.
 */
#include "guest.h"

/* Contract in guest.h. */
int pvt_guest_standalone(void)
{
    pvt_guest_puts("guest: standalone: nothing to run yet\n");
    return 0;
}

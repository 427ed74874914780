/*
 * Compile check: pvtimer/pvabi.h is self-contained. Built freestanding with
 * nothing but the compiler's own headers on the path (CMakeLists.txt), as a
 * guest OS that installed the header would build it.
 */
#include "pvtimer/pvabi.h"

/* Something to compile besides the header: its structs and numbers used. */
uint32_t pvt_abi_check_port(void);

uint32_t pvt_abi_check_port(void)
{
    struct pvt_hc_info info = {0};

    info.abi_version = PVT_ABI_VERSION;
    return PVT_HC_PIO(PVT_HC_INFO) + info.abi_version;
}

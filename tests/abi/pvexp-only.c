/*
 * Compile check: pvtimer/pvexp.h is self-contained (it brings
 * pvtimer/pvabi.h itself). Built as tests/abi/pvabi-only.c is.
 */
#include "pvtimer/pvexp.h"

uint32_t pvt_exp_check_port(void);

uint32_t pvt_exp_check_port(void)
{
    struct pvt_hc_result res = {0};

    res.type = PVT_RESULT_SUMMARY;
    return PVT_HC_PIO(PVT_HC_RESULT) + res.type;
}

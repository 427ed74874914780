/*
 * Error strings.
 */
#include "pvtimer/base.h"

const char *pvt_strerror(int err)
{
    /* negate in unsigned arithmetic: -INT_MIN would overflow */
    unsigned int e = err < 0 ? 0u - (unsigned int)err : (unsigned int)err;

    switch (e) {
    case 0:
        return "success";
    case PVT_ENOENT:
        return "no such object";
    case PVT_EAGAIN:
        return "resource temporarily unavailable";
    case PVT_EBUSY:
        return "object busy";
    case PVT_EEXIST:
        return "already registered";
    case PVT_EINVAL:
        return "invalid argument";
    case PVT_ERANGE:
        return "value out of range";
    case PVT_ETIME:
        return "deadline in the past or refused";
    case PVT_EOVERFLOW:
        return "value too large";
    case PVT_EOPNOTSUPP:
        return "operation not supported by the device";
    default:
        return "unknown error";
    }
}

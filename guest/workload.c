/* The workload from the monitor, in chunks (workload.h). */
#include "workload.h"

#include "guest.h"

static struct pvt_workload_item chunk[PVT_WORKLOAD_CHUNK_MAX];

int pvt_guest_workload_fetch(uint32_t max,
                             void (*store)(void *ctx, uint32_t i,
                                           const struct pvt_workload_item *it),
                             void *ctx)
{
    struct pvt_hc_workload a = {0};
    uint32_t first = 0, total = 0, i;

    do {
        a.buf = (uint64_t)(uintptr_t)chunk;
        a.first = first;
        a.max_items = PVT_WORKLOAD_CHUNK_MAX;
        pvt_guest_hypercall(PVT_HC_WORKLOAD, &a);
        if (a.ret < 0)
            return -1;
        total = a.total;
        if (total > max) {
            pvt_guest_printf("guest: workload of %u timers: at most %u\n",
                             (unsigned int)total, (unsigned int)max);
            return -1;
        }
        for (i = 0; i < a.count && first + i < total; i++)
            store(ctx, first + i, &chunk[i]);
        first += a.count;
    } while (a.count && first < total);
    return (int)total;
}

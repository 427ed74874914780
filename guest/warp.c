/*
 * The cross-vCPU clock check. Contract in warp.h.
 */
#include "warp.h"

/* How long a vCPU waits for another to take the next turn: long enough
 * for a running one (it takes the lock in well under a microsecond), not
 * for one the host is not running. It spins, it does not halt: on a
 * loaded host a halted vCPU waits in the host's run queue for
 * milliseconds once woken, and on a nested one each halt and wake-up IPI
 * is an expensive exit. */
#define WAIT_SPINS 2000u

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* Contract in warp.h. */
void pvt_guest_warp_run(struct pvt_guest_warp *w, unsigned int me,
                        uint64_t pairs, int64_t (*now)(void *), void *ctx)
{
    while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
        unsigned int spins;

        while (__atomic_exchange_n(&w->lock, 1, __ATOMIC_ACQUIRE))
            while (__atomic_load_n(&w->lock, __ATOMIC_RELAXED))
                cpu_relax();
        if (!w->done) {
            /* the read inside the lock: it happens after the previous
             * holder's, whatever the vCPUs' clocks say */
            int64_t t = now(ctx);

            if (w->reads) {
                if (t < w->last) {
                    w->backwards++;
                    if ((uint64_t)(w->last - t) > w->backwards_max)
                        w->backwards_max = (uint64_t)(w->last - t);
                }
                if (w->last_cpu != me)
                    w->pairs++;
            }
            w->last = t;
            w->last_cpu = me;
            w->reads++;
            if (w->pairs >= pairs)
                __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&w->lock, 0, __ATOMIC_RELEASE);
        /* let another vCPU have the next turn (a lock just released is in
         * this vCPU's cache): wait a little for one, not long (it may be
         * preempted) */
        for (spins = 0; spins < WAIT_SPINS && w->last_cpu == me && !w->done;
             spins++)
            cpu_relax();
    }
}

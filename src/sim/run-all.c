/*
 * Every strategy side by side, one world per thread (contract in sim.h).
 * Workers write only their own slots; the calling thread reads the
 * progress fractions, which are only ever displayed.
 *
 * A thread per CPU, each taking the next run when it is done with one.
 * (A thread per run, the system sharing the CPUs between them, ended the
 * runs more evenly but cost more CPU time than it saved: several worlds'
 * working sets on one core thrash its caches. README, the 24 h run.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

struct slot {
    _Atomic double frac;
    int failed;
    char err[256];
};

struct pool {
    const struct pvt_sim_params *p;
    uint64_t seed;
    const struct pvt_strategy *const *strategies;
    struct pvt_sim_result *results;
    size_t n;
    atomic_size_t next;
    struct slot *slots;
    /* runs finished, under mu; cv tells the calling thread of each */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t done;
};

static void slot_progress(void *ctx, double frac)
{
    struct slot *s = ctx;

    atomic_store_explicit(&s->frac, frac, memory_order_relaxed);
}

static void *worker(void *arg)
{
    struct pool *pl = arg;
    size_t i;

    while ((i = atomic_fetch_add(&pl->next, 1)) < pl->n) {
        struct slot *s = &pl->slots[i];

        s->failed =
            pvt_sim_run(pl->p, pl->seed, pl->strategies[i], &pl->results[i],
                        slot_progress, s, s->err, sizeof(s->err));
        atomic_store(&s->frac, 1.0);
        pthread_mutex_lock(&pl->mu);
        pl->done++;
        pthread_cond_signal(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
    }
    return NULL;
}

int pvt_sim_run_all(const struct pvt_sim_params *p, uint64_t seed,
                    const struct pvt_strategy *const *strategies, size_t n,
                    struct pvt_sim_result *results,
                    pvt_sim_progress_fn progress, void *progress_ctx, char *err,
                    size_t errlen)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nth = cpus > 0 ? (size_t)cpus : 1, k, started = 0;
    struct pool pl;
    pthread_t *th;
    int rc = 0;

    if (p == NULL || strategies == NULL || results == NULL || n == 0) {
        snprintf(err, errlen, "no parameters, strategies or results");
        return -1;
    }
    if (nth > n)
        nth = n;
    memset(&pl, 0, sizeof(pl));
    pl.p = p;
    pl.seed = seed;
    pl.strategies = strategies;
    pl.results = results;
    pl.n = n;
    pl.slots = calloc(n, sizeof(*pl.slots));
    th = calloc(nth, sizeof(*th));
    if (pl.slots == NULL || th == NULL) {
        free(pl.slots);
        free(th);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    for (k = 0; k < nth; k++)
        if (pthread_create(&th[started], NULL, worker, &pl) == 0)
            started++;
    if (started == 0)
        worker(&pl); /* no threads to be had: run here */
    /* progress about every 100 ms; the end as soon as the last run is
     * done (a wall-clock measure of the runs includes no nap) */
    pthread_mutex_lock(&pl.mu);
    while (pl.done < n) {
        struct timespec until;
        double sum = 0;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&pl.cv, &pl.mu, &until);
        if (progress == NULL || pl.done == n)
            continue;
        pthread_mutex_unlock(&pl.mu);
        for (k = 0; k < n; k++)
            sum +=
                atomic_load_explicit(&pl.slots[k].frac, memory_order_relaxed);
        progress(progress_ctx, sum / (double)n);
        pthread_mutex_lock(&pl.mu);
    }
    pthread_mutex_unlock(&pl.mu);
    for (k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    for (k = 0; k < n; k++) {
        if (pl.slots[k].failed) {
            snprintf(err, errlen, "%s", pl.slots[k].err);
            rc = -1;
            break;
        }
    }
    pthread_cond_destroy(&pl.cv);
    pthread_mutex_destroy(&pl.mu);
    free(pl.slots);
    free(th);
    return rc;
}

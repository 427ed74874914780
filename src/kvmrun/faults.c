/*
 * The scenario's faults on a real VM, and host load (contracts in
 * faults.h).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "sim/workload.h"
#include "vmm.h"

static int64_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps until mono ns, in short steps so that stop is seen. */
static bool sleep_until(struct pvt__kvmrun_faults *f, int64_t until)
{
    while (!atomic_load(&f->stop)) {
        int64_t now = mono_now();
        struct timespec ts;
        int64_t step;

        if (now >= until)
            return true;
        step = until - now < 50000000 ? until - now : 50000000;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)step;
        nanosleep(&ts, NULL);
    }
    return false;
}

static void *faults_main(void *arg)
{
    struct pvt__kvmrun_faults *f = arg;
    const struct pvt_sim_params *p = f->p;
    /* each vCPU its own preemption process, as in the simulator */
    static _Thread_local struct pvt_sim_preemptions pre[PVT_SIM_MAX_VCPUS];
    int64_t next_pre[PVT_SIM_MAX_VCPUS];
    unsigned int nv = p->vcpus >= 1 && p->vcpus <= PVT_SIM_MAX_VCPUS
                          ? (unsigned int)p->vcpus
                          : 1;
    int64_t start, migrate_at;
    unsigned int i;

    for (i = 0; i < nv; i++)
        pvt_sim_preemptions_init_vcpu(&pre[i], p, f->seed, i);
    /* the schedule counts from the start of the guest's run: its first
     * WORKLOAD call (a slow monitor, under valgrind say, must not move the
     * faults out of the run) */
    while (atomic_load(f->run_start) == 0 && !atomic_load(&f->stop))
        sleep_until(f, mono_now() + 1000000);
    start = atomic_load(f->run_start);
    for (i = 0; i < nv; i++)
        next_pre[i] = pre[i].on
                          ? start + (int64_t)pvt_sim_preemptions_gap(&pre[i])
                          : INT64_MAX;
    migrate_at = p->migrate_at_s >= 0 ? start + (int64_t)(p->migrate_at_s * 1e9)
                                      : INT64_MAX;
    while (!atomic_load(&f->stop)) {
        unsigned int v = 0;
        int64_t at;

        for (i = 1; i < nv; i++)
            if (next_pre[i] < next_pre[v])
                v = i;
        at = next_pre[v] < migrate_at ? next_pre[v] : migrate_at;
        if (at == INT64_MAX || !sleep_until(f, at))
            break;
        if (at == migrate_at) {
            int rc = pvt_vmm_migrate(f->vm, (int64_t)(p->migrate_jump_s * 1e9));
            if (rc < 0 && rc != -ESRCH)
                snprintf(f->err, sizeof(f->err), "migration: %s",
                         strerror(-rc));
            f->migrated = rc == 0;
            migrate_at = INT64_MAX;
        } else {
            uint64_t len = (uint64_t)pvt_sim_preemptions_len(&pre[v]);

            /* a vCPU the guest has not started yet (-ESRCH) misses it */
            if (len)
                pvt_vmm_preempt_vcpu(f->vm, v, len);
            /* the next one after this one ends, as in the simulator */
            next_pre[v] =
                at + (int64_t)len + (int64_t)pvt_sim_preemptions_gap(&pre[v]);
        }
    }
    return NULL;
}

/* Starts a helper thread that takes no signals: the monitor's watchdog
 * and its kick must land on the vCPU thread. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int pvt__kvmrun_faults_start(struct pvt__kvmrun_faults *f, struct pvt_vmm *vm,
                             const atomic_llong *run_start,
                             const struct pvt_sim_params *p, uint64_t seed)
{
    if (!f || !vm || !run_start || !p)
        return -1;
    memset(f, 0, sizeof(*f));
    f->vm = vm;
    f->run_start = run_start;
    f->p = p;
    f->seed = seed;
    if (start_thread(&f->thread, faults_main, f) != 0)
        return -1;
    f->started = true;
    return 0;
}

void pvt__kvmrun_faults_stop(struct pvt__kvmrun_faults *f)
{
    if (!f->started)
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    f->started = false;
}

/*
 * Processes, not threads: load from elsewhere on the host, as a real
 * VMM sees it, and nothing that shares the monitor's locks (or, under
 * valgrind, its one running thread).
 */
void pvt__kvmrun_load_start(struct pvt__kvmrun_load *l, unsigned int n)
{
    l->n = 0;
    while (l->n < n && l->n < PVT__KVMRUN_LOAD_MAX) {
        pid_t pid = fork();

        if (pid < 0)
            break;
        if (pid == 0) {
            volatile uint64_t x = 0;

            /* ends with its parent, whatever becomes of the parent */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(0);
            for (;;)
                x++;
        }
        l->pid[l->n++] = pid;
    }
}

void pvt__kvmrun_load_stop(struct pvt__kvmrun_load *l)
{
    unsigned int i;

    for (i = 0; i < l->n; i++) {
        kill(l->pid[i], SIGKILL);
        waitpid(l->pid[i], NULL, 0);
    }
    l->n = 0;
}

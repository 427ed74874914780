/*
 * `pvtimer kvm --scenario`: the simulator's scenarios on real
 * virtualization. For each strategy one VM boots the guest kernel with
 * "scenario strategy=NAME ..."; the monitor serves its timers, injects the
 * scenario's faults (vCPU preemption, a kvmclock jump, host load) and
 * folds the guest's samples into the simulator's result structure, so the
 * table, the JSON and the HTML report are the simulator's, with
 * "backend": "kvm" and the baselines measured in the same run.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exp.h"
#include "kvm-scenario.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"
#include "sim/report.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "timersvc.h"
#include "vmm.h"

#define GUEST_MAX_TIMERS 16384u

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

/* ---- the workload: the simulator's draws, in the simulator's order ---- */

static int make_workload(const struct sim_params *p, uint64_t seed,
                         struct pvt_workload_item **out, uint32_t *count,
                         char *err, size_t errlen)
{
    struct sim_rng rng;
    double ln_dmin = log(p->delta_min_us * 1e3);
    double ln_dmax = log(p->delta_max_s * 1e9);
    double t, end = p->duration_s * 1e9;
    struct pvt_workload_item *w;
    uint32_t n = 0;

    *out = NULL;
    *count = 0;
    if (p->timer_rate_hz <= 0)
        return 0;
    w = calloc(GUEST_MAX_TIMERS, sizeof(*w));
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim_rng_seed(&rng, seed, 1);
    t = sim_rng_exp(&rng, 1e9 / p->timer_rate_hz);
    while (t < end) {
        double delta = exp(sim_rng_uniform(&rng, ln_dmin, ln_dmax));
        bool cancel = sim_rng_unit(&rng) < p->cancel_fraction;
        double cancel_after = sim_rng_unit(&rng) * 0.9 * delta;
        double gap = sim_rng_exp(&rng, 1e9 / p->timer_rate_hz);

        if (n == GUEST_MAX_TIMERS) {
            snprintf(err, errlen,
                     "the workload has more than %u timers (the guest's "
                     "limit): lower timer_rate_hz or duration_s",
                     GUEST_MAX_TIMERS);
            free(w);
            return -1;
        }
        w[n].at_ns = (uint64_t)t;
        w[n].delta_ns = delta < 1 ? 1 : (uint64_t)delta;
        w[n].cancel_after_ns =
            cancel ? (cancel_after < 1 ? 1 : (uint64_t)cancel_after) : 0;
        n++;
        t += gap;
    }
    *out = w;
    *count = n;
    return 0;
}

/* ---- one VM per strategy ---- */

struct collect {
    struct sim_result *r;
    struct sim_hist *tsc_deadline; /* baseline, over every run */
    const struct pvt_ce_strategy *strategy;
    bool summarised;
};

static struct sim_bin *bin_at(struct sim_result *r, int64_t t_ns)
{
    double s = (double)t_ns / 1e9;
    size_t i = 0;

    if (s > 0 && r->bin_s > 0)
        i = s / r->bin_s < SIM_SERIES_BINS ? (size_t)(s / r->bin_s)
                                           : SIM_SERIES_BINS - 1;
    return &r->bins[i];
}

static int on_samples(void *ctx, const struct pvt_result_sample *s, size_t n)
{
    struct collect *c = ctx;
    struct sim_result *r = c->r;
    size_t i;

    for (i = 0; i < n; i++) {
        struct sim_bin *b = bin_at(r, s[i].t_ns);
        int64_t v = s[i].value;
        int64_t a = v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;

        switch ((enum pvt_result_kind)s[i].kind) {
        case PVT_SAMPLE_LATENESS:
            sim_hist_add(&r->lateness, v);
            b->fired++;
            break;
        case PVT_SAMPLE_DEVICE_ERROR:
            sim_hist_add(&r->device_error, v);
            b->interrupts++;
            if (a > b->dev_max_abs)
                b->dev_max_abs = a;
            break;
        case PVT_SAMPLE_AIM_ERROR:
            sim_hist_add(&r->aim_error, v);
            sim_hist_add(s[i].flags & PVT_SAMPLE_AFTER_SWITCH
                             ? &r->aim_error_after
                             : &r->aim_error_boot,
                         v);
            if (s[i].flags & PVT_SAMPLE_LOCKED) {
                sim_hist_add(&r->aim_error_locked, v);
                if (s[i].flags & PVT_SAMPLE_AFTER_SWITCH)
                    sim_hist_add(&r->aim_error_after_locked, v);
            }
            b->programs++;
            b->aim_sum += (double)v;
            if (a > b->aim_max_abs)
                b->aim_max_abs = a;
            break;
        case PVT_SAMPLE_TSC_DEADLINE:
            sim_hist_add(c->tsc_deadline, v);
            break;
        case PVT_SAMPLE_KIND_MAX:
            break;
        }
    }
    return 0;
}

static int on_summary(void *ctx, const struct pvt_result_summary *s)
{
    struct collect *c = ctx;
    struct sim_result *r = c->r;

    /* one run per VM, of the strategy it was started for */
    if (c->summarised || strcmp(s->strategy, c->strategy->name) != 0)
        return -1;
    c->summarised = true;
    r->timers = s->timers;
    r->fired = s->fired;
    r->cancelled = s->cancelled;
    r->pending = s->pending;
    r->lost = s->lost;
    r->early_callbacks = s->early_callbacks;
    r->device_interrupts = s->device_interrupts;
    r->spurious_interrupts = s->spurious_interrupts;
    r->splits = s->splits;
    r->hangs = s->hangs;
    r->hv_past_sets = s->hv_past_sets;
    r->highres_at_s =
        s->highres_at_ns >= 0 ? (double)s->highres_at_ns / 1e9 : -1;
    r->end_guest_s = (double)s->end_ns / 1e9;
    r->guest_expiries = s->fired;
    r->locked_at_s =
        s->drift_locked_at_ns >= 0 ? (double)s->drift_locked_at_ns / 1e9 : -1;
    r->drift_steps = s->drift_steps;
    r->drift_ppb = s->drift_ppb;
    return 0;
}

/* ---- fault injection: the simulator's preemption process, for real ---- */

struct faults {
    struct pvt_vmm *vm;
    const struct sim_params *p;
    uint64_t seed;
    atomic_bool stop;
    pthread_t thread;
    bool started;
    uint64_t preemptions;
    bool migrated;
    char err[128];
};

static int64_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps until mono ns, in short steps so that stop is seen. */
static bool sleep_until(struct faults *f, int64_t until)
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
    struct faults *f = arg;
    const struct sim_params *p = f->p;
    bool preempt = p->preempt_rate_hz > 0 && p->preempt_mean_ms > 0;
    struct sim_rng rng;
    int64_t start, next_pre, migrate_at;

    sim_rng_seed(&rng, f->seed, 2);
    /* the schedule counts from the start of the guest's run: its first
     * WORKLOAD call (a slow monitor, under valgrind say, must not move the
     * faults out of the run) */
    while (atomic_load(&f->vm->workload_at) == 0 && !atomic_load(&f->stop))
        sleep_until(f, mono_now() + 1000000);
    start = atomic_load(&f->vm->workload_at);
    next_pre =
        preempt ? start + (int64_t)sim_rng_exp(&rng, 1e9 / p->preempt_rate_hz)
                : INT64_MAX;
    migrate_at = p->migrate_at_s >= 0 ? start + (int64_t)(p->migrate_at_s * 1e9)
                                      : INT64_MAX;
    while (!atomic_load(&f->stop)) {
        int64_t at = next_pre < migrate_at ? next_pre : migrate_at;

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
            uint64_t len =
                (uint64_t)sim_rng_exp(&rng, p->preempt_mean_ms * 1e6);

            if (len && pvt_vmm_preempt(f->vm, len) == 0)
                f->preemptions++;
            /* the next one after this one ends, as in the simulator */
            next_pre = at + (int64_t)len +
                       (int64_t)sim_rng_exp(&rng, 1e9 / p->preempt_rate_hz);
        }
    }
    return NULL;
}

/* ---- extra host load: busy processes for the run's length ----
 *
 * Processes, not threads: load from elsewhere on the host, as a real
 * VMM sees it, and nothing that shares the monitor's locks (or, under
 * valgrind, its one running thread).
 */

struct load {
    unsigned int n;
    pid_t pid[64];
};

static void load_start(struct load *l, unsigned int n)
{
    l->n = 0;
    while (l->n < n && l->n < 64) {
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

static void load_stop(struct load *l)
{
    unsigned int i;

    for (i = 0; i < l->n; i++) {
        kill(l->pid[i], SIGKILL);
        waitpid(l->pid[i], NULL, 0);
    }
    l->n = 0;
}

/* ---- the run ---- */

struct baselines {
    struct sim_hist timerfd;      /* host wake-up lateness */
    struct sim_hist tsc_deadline; /* KVM's LAPIC timer, from the guest */
    uint64_t preemptions, migrations;
    unsigned int load_processes;
};

static void json_dist(FILE *f, const char *name, const struct sim_hist *h)
{
    fprintf(f,
            "\"%s\": {\"samples\": %llu, \"p50\": %llu, \"p99\": %llu, "
            "\"max\": %llu}",
            name, (unsigned long long)h->count,
            (unsigned long long)sim_hist_quantile(h, 0.5),
            (unsigned long long)sim_hist_quantile(h, 0.99),
            (unsigned long long)h->max_abs);
}

static void extra_json(FILE *f, void *ctx)
{
    const struct baselines *b = ctx;

    fprintf(f, ", \"baselines\": {");
    json_dist(f, "host_timerfd_lateness_ns", &b->timerfd);
    fprintf(f, ", ");
    json_dist(f, "kvm_tsc_deadline_lateness_ns", &b->tsc_deadline);
    fprintf(f,
            "}, \"faults\": {\"preemptions\": %llu, \"migrations\": %llu, "
            "\"load_processes\": %u}",
            (unsigned long long)b->preemptions,
            (unsigned long long)b->migrations, b->load_processes);
}

static void baseline_line(FILE *f, const char *label, const struct sim_hist *h,
                          const char *what)
{
    char x[32], y[32], z[32];

    fprintf(
        f, "  %-34s %s / %s / %s  (%llu %s)\n", label,
        sim_format_ns(x, sizeof(x), (double)sim_hist_quantile(h, 0.5), false),
        sim_format_ns(y, sizeof(y), (double)sim_hist_quantile(h, 0.99), false),
        sim_format_ns(z, sizeof(z), (double)h->max_abs, false),
        (unsigned long long)h->count, what);
}

static void print_baselines(FILE *f, const struct baselines *b)
{
    fprintf(f, "\nbaselines measured in the same run (p50 / p99 / max):\n");
    baseline_line(f, "host timerfd wake-up lateness", &b->timerfd, "wake-ups");
    baseline_line(f, "KVM TSC-deadline lateness (guest)", &b->tsc_deadline,
                  "interrupts");
    fprintf(f,
            "  faults injected: %llu preemptions, %llu migrations, %u "
            "load processes\n",
            (unsigned long long)b->preemptions,
            (unsigned long long)b->migrations, b->load_processes);
}

/* The guest's command line for one strategy: integers only. */
static void guest_cmdline(char *buf, size_t len, const struct sim_params *p,
                          const struct pvt_ce_strategy *s)
{
    snprintf(buf, len,
             "scenario strategy=%s boot_us=%lld duration_us=%lld "
             "drain_us=%lld hz=%lld boot_drift_ppb=%lld boot_clock=%d "
             "tsc_cal_ppb=%lld nohz=%d pvclock=%d",
             s->name, (long long)llround(p->boot_s * 1e6),
             (long long)llround(p->duration_s * 1e6),
             (long long)llround(p->drain_s * 1e6), (long long)llround(p->hz),
             (long long)llround(p->boot_drift_ppm * 1e3),
             p->boot_clock == SIM_BOOT_TSC,
             (long long)llround(p->tsc_cal_ppm * 1e3), p->nohz != 0,
             p->pvclock != 0);
}

static int run_one(const struct kvm_scenario_opts *o,
                   const struct pvt_ce_strategy *s,
                   const struct pvt_workload_item *work, uint32_t nwork,
                   struct sim_result *r, struct baselines *b, int *status)
{
    const struct sim_params *p = o->params;
    struct pvt_vmm_config cfg;
    struct pvt_exp_server exp;
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt_vmm *vm = calloc(1, sizeof(*vm));
    struct collect c;
    struct faults f;
    char cmdline[512];
    int rc = -1;

    if (vm == NULL) {
        fprintf(stderr, "pvtimer kvm: out of memory\n");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->strategy = s;
    r->highres_at_s = -1;
    r->locked_at_s = -1;
    r->bin_s = (p->duration_s + p->drain_s) / SIM_SERIES_BINS;
    for (size_t i = 0; i < SIM_SERIES_BINS; i++)
        r->bins[i].t_s = (double)i * r->bin_s;
    memset(&c, 0, sizeof(c));
    c.r = r;
    c.tsc_deadline = &b->tsc_deadline;
    c.strategy = s;

    guest_cmdline(cmdline, sizeof(cmdline), p, s);
    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = o->guest;
    cfg.mem_size = o->mem_bytes;
    cfg.timeout_s = o->timeout_s;
    cfg.cmdline = cmdline;
    cfg.console_fd = o->console_fd;
    cfg.kvm_path = o->kvm_path;
    memset(&exp, 0, sizeof(exp));
    exp.on_samples = on_samples;
    exp.on_summary = on_summary;
    exp.ctx = &c;
    exp.workload = work;
    exp.workload_count = nwork;
    cfg.hypercalls = hc;
    cfg.hypercall_count =
        pvt_exp_server_hypercalls(&exp, hc, PVT_EXP_SERVER_HYPERCALLS);

    memset(&f, 0, sizeof(f));
    f.vm = vm;
    f.p = p;
    f.seed = o->seed;
    if (pvt_vmm_init(vm, &cfg) < 0 || pvt_vmm_elf_load(vm) < 0 ||
        pvt_vmm_kvm_setup(vm) < 0) {
        fprintf(stderr, "pvtimer kvm: %s\n", vm->err);
        *status = vm->kvm_unavailable ? 77 : 1;
        goto out;
    }
    if (start_thread(&f.thread, faults_main, &f) == 0)
        f.started = true;
    if (pvt_vmm_run(vm) < 0) {
        fprintf(stderr, "pvtimer kvm: strategy %s: %s\n", s->name, vm->err);
        *status = 1;
        goto out;
    }
    if (vm->guest_status != 0) {
        fprintf(stderr,
                "pvtimer kvm: strategy %s: the guest exited with status %d\n",
                s->name, vm->guest_status);
        *status = 1;
        goto out;
    }
    if (!c.summarised) {
        fprintf(stderr, "pvtimer kvm: strategy %s: the guest sent no result\n",
                s->name);
        *status = 1;
        goto out;
    }
    rc = 0;
out:
    if (f.started) {
        atomic_store(&f.stop, true);
        pthread_join(f.thread, NULL);
        if (f.err[0])
            fprintf(stderr, "pvtimer kvm: strategy %s: %s\n", s->name, f.err);
    }
    if (vm->svc) {
        int64_t *lat = malloc(PVT_TIMERSVC_LAT_SAMPLES * sizeof(*lat));
        size_t n =
            lat ? pvt_timersvc_lateness(vm->svc, lat, PVT_TIMERSVC_LAT_SAMPLES)
                : 0;
        for (size_t i = 0; i < n; i++)
            sim_hist_add(&b->timerfd, lat[i]);
        free(lat);
    }
    r->preempted_programmings = 0;
    r->events = vm->stats.hypercalls[PVT_HC_TIMER_SINGLESHOT] +
                vm->stats.hypercalls[PVT_HC_TIMER_RELATIVE];
    b->preemptions += vm->stats.preemptions;
    b->migrations += vm->stats.migrations;
    pvt_vmm_destroy(vm);
    free(vm);
    return rc;
}

/* Contract in kvm-scenario.h. */
int pvt_kvm_scenario(const struct kvm_scenario_opts *o)
{
    struct pvt_workload_item *work = NULL;
    struct sim_result *res = NULL;
    struct baselines *b = calloc(1, sizeof(*b));
    struct load load;
    uint32_t nwork = 0;
    char err[256];
    int status = 0;
    size_t i;

    memset(&load, 0, sizeof(load));
    res = calloc(o->nstrategies, sizeof(*res));
    if (b == NULL || res == NULL) {
        fprintf(stderr, "pvtimer kvm: out of memory\n");
        free(b);
        free(res);
        return 1;
    }
    if (make_workload(o->params, o->seed, &work, &nwork, err, sizeof(err)) <
        0) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        free(b);
        free(res);
        return 2;
    }
    load_start(&load, o->load_processes);
    b->load_processes = load.n;

    for (i = 0; i < o->nstrategies; i++) {
        if (o->progress)
            fprintf(stderr, "pvtimer kvm: %s (%zu of %zu)\n",
                    o->strategies[i]->name, i + 1, o->nstrategies);
        if (run_one(o, o->strategies[i], work, nwork, &res[i], b, &status) < 0)
            break;
    }
    load_stop(&load);

    if (status == 0) {
        struct sim_report_meta meta = {
            .backend = "kvm",
            .extra_json = extra_json,
            .extra_ctx = b,
        };

        if (o->json) {
            sim_report_json_ex(stdout, &meta, o->scenario, o->seed, o->params,
                               res, o->nstrategies);
        } else {
            sim_report_table_ex(stdout, &meta, o->scenario, o->seed, o->params,
                                res, o->nstrategies);
            print_baselines(stdout, b);
        }
        if (o->report) {
            FILE *f = fopen(o->report, "w");
            if (f == NULL) {
                fprintf(stderr, "pvtimer kvm: %s: %s\n", o->report,
                        strerror(errno));
                status = 1;
            } else {
                sim_report_html_ex(f, &meta, o->scenario, o->seed, o->params,
                                   res, o->nstrategies);
                if (fclose(f) != 0) {
                    fprintf(stderr, "pvtimer kvm: %s: write failed\n",
                            o->report);
                    status = 1;
                }
            }
        }
    }
    free(work);
    free(res);
    free(b);
    return status;
}

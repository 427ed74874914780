/*
 * A scenario on real KVM (contract in kvmrun.h). For each strategy one VM
 * boots the guest kernel with "scenario strategy=NAME ..."; the monitor
 * serves its timers and hands it the workload, faults.c injects the
 * faults, and the guest's samples are folded into the simulator's result
 * structure here.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
#include "faults.h"
#include "kvmrun.h"
#include "path.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"
#include "sim/report.h"
#include "sim/sim.h"
#include "sim/workload.h"
#include "timersvc.h"
#include "vmm.h"

/* The simulator's workload for the guest: the same draws, in the guest's
 * ABI. */
static int make_workload(const struct pvt_sim_params *p, uint64_t seed,
                         struct pvt_workload_item **out, uint32_t *count,
                         char *err, size_t errlen)
{
    struct pvt_sim_workload_item *list;
    struct pvt_workload_item *w = NULL;
    size_t n, i;

    *out = NULL;
    *count = 0;
    if (pvt_sim_workload_list(p, seed, PVT_KVMRUN_MAX_TIMERS, &list, &n, err,
                              errlen) < 0)
        return -1;
    if (n > 0) {
        w = calloc(n, sizeof(*w));
        if (w == NULL) {
            snprintf(err, errlen, "out of memory");
            free(list);
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        w[i].at_ns = list[i].at_ns;
        w[i].delta_ns = list[i].delta_ns;
        w[i].cancel_after_ns = list[i].cancel_after_ns;
    }
    free(list);
    *out = w;
    *count = (uint32_t)n;
    return 0;
}

/* ---- one VM per strategy ---- */

struct collect {
    struct pvt_sim_result *r;
    struct pvt_sim_hist *tsc_deadline; /* baseline, over every run */
    const struct pvt_strategy *strategy;
    struct pvt__kvmrun_path *path; /* the timer's path, over every run */
    unsigned int nvcpu;
    unsigned int summaries; /* vCPUs that sent theirs */
    bool vcpu_summarised[PVT_SIM_MAX_VCPUS];
    bool summarised; /* every vCPU's */
    bool clock_seen;
    uint64_t *cross_pairs; /* the clock check's, for this strategy */
};

static struct pvt_sim_bin *bin_at(struct pvt_sim_result *r, int64_t t_ns)
{
    double s = (double)t_ns / 1e9;
    size_t i = 0;

    if (s > 0 && r->bin_s > 0)
        i = s / r->bin_s < PVT_SIM_SERIES_BINS ? (size_t)(s / r->bin_s)
                                               : PVT_SIM_SERIES_BINS - 1;
    return &r->bins[i];
}

static int on_samples(void *ctx, unsigned int vcpu,
                      const struct pvt_result_sample *s, size_t n)
{
    struct collect *c = ctx;
    struct pvt_sim_result *r = c->r;
    /* per vCPU with several (one vCPU's figures are the aggregate) */
    struct pvt_sim_vcpu_result *pv = c->nvcpu > 1 ? &r->vcpu[vcpu] : NULL;
    size_t i;

    if (vcpu >= c->nvcpu)
        return -1;
    for (i = 0; i < n; i++) {
        struct pvt_sim_bin *b = bin_at(r, s[i].t_ns);
        int64_t v = s[i].value;
        int64_t a = v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;

        switch ((enum pvt_result_kind)s[i].kind) {
        case PVT_SAMPLE_LATENESS:
            pvt_sim_hist_add(&r->lateness, v);
            if (pv)
                pvt_sim_hist_add(&pv->lateness, v);
            b->fired++;
            break;
        case PVT_SAMPLE_DEVICE_ERROR:
            pvt_sim_hist_add(&r->device_error, v);
            pvt__kvmrun_path_device_error(
                c->path, a, (s[i].flags & PVT_SAMPLE_AFTER_SWITCH) != 0);
            if (pv)
                pvt_sim_hist_add(&pv->device_error, v);
            b->interrupts++;
            if (a > b->dev_max_abs)
                b->dev_max_abs = a;
            break;
        case PVT_SAMPLE_AIM_ERROR:
            pvt_sim_hist_add(&r->aim_error, v);
            if (pv)
                pvt_sim_hist_add(&pv->aim_error, v);
            pvt_sim_hist_add(s[i].flags & PVT_SAMPLE_AFTER_SWITCH
                                 ? &r->aim_error_after
                                 : &r->aim_error_boot,
                             v);
            if (s[i].flags & PVT_SAMPLE_LOCKED) {
                pvt_sim_hist_add(&r->aim_error_locked, v);
                if (s[i].flags & PVT_SAMPLE_AFTER_SWITCH)
                    pvt_sim_hist_add(&r->aim_error_after_locked, v);
            }
            b->programs++;
            b->aim_sum += (double)v;
            if (a > b->aim_max_abs)
                b->aim_max_abs = a;
            break;
        case PVT_SAMPLE_TSC_DEADLINE:
            pvt_sim_hist_add(c->tsc_deadline, v);
            break;
        case PVT_SAMPLE_ARRIVAL:
            pvt__kvmrun_path_arrival(c->path, (uint64_t)s[i].t_ns, (uint64_t)v);
            break;
        case PVT_SAMPLE_KIND_MAX:
            break;
        }
    }
    return 0;
}

static int on_summary(void *ctx, unsigned int vcpu,
                      const struct pvt_result_summary *s)
{
    struct collect *c = ctx;
    struct pvt_sim_result *r = c->r;
    bool first = c->summaries == 0;

    /* one run per VM and vCPU, of the strategy it was started for */
    if (vcpu >= c->nvcpu || c->vcpu_summarised[vcpu] ||
        strcmp(s->strategy, c->strategy->name) != 0)
        return -1;
    c->vcpu_summarised[vcpu] = true;
    c->summaries++;
    c->summarised = c->summaries == c->nvcpu;
    /* the guest's figures: every vCPU's summed */
    r->timers += s->timers;
    r->fired += s->fired;
    r->cancelled += s->cancelled;
    r->pending += s->pending;
    r->lost += s->lost;
    r->early_callbacks += s->early_callbacks;
    r->device_interrupts += s->device_interrupts;
    r->spurious_interrupts += s->spurious_interrupts;
    r->splits += s->splits;
    r->hangs += s->hangs;
    r->hv_past_sets += s->hv_past_sets;
    r->guest_expiries += s->fired;
    if (first || (double)s->end_ns / 1e9 > r->end_guest_s)
        r->end_guest_s = (double)s->end_ns / 1e9;
    if (vcpu == 0) {
        /* the boot CPU's: its tick switched, its estimator is reported */
        r->highres_at_s =
            s->highres_at_ns >= 0 ? (double)s->highres_at_ns / 1e9 : -1;
        r->locked_at_s = s->drift_locked_at_ns >= 0
                             ? (double)s->drift_locked_at_ns / 1e9
                             : -1;
        r->drift_steps = s->drift_steps;
        r->drift_ppb = s->drift_ppb;
    }
    if (c->nvcpu > 1) {
        struct pvt_sim_vcpu_result *v = &r->vcpu[vcpu];

        v->timers = s->timers;
        v->fired = s->fired;
        v->cancelled = s->cancelled;
        v->pending = s->pending;
        v->lost = s->lost;
        v->early_callbacks = s->early_callbacks;
        v->device_interrupts = s->device_interrupts;
        v->spurious_interrupts = s->spurious_interrupts;
        v->remote_armed = s->remote_armed;
        v->ipis = s->ipis;
    }
    return 0;
}

static int on_clock(void *ctx, const struct pvt_result_clock *k)
{
    struct collect *c = ctx;
    struct pvt_sim_result *r = c->r;

    if (c->nvcpu < 2 || c->clock_seen)
        return -1;
    c->clock_seen = true;
    r->clock_reads = k->reads;
    r->clock_backwards = k->backwards;
    r->clock_backwards_max_ns = k->backwards_max_ns;
    r->clock_guard_clamps = k->guard_clamps;
    *c->cross_pairs = k->cross_pairs;
    return 0;
}

/* ---- the run ---- */

/* The monitor's result callbacks, in one place (the monitor's interface
 * for them may change). */
/* The experiment's hypercalls: results into c, the workload handed out.
 * exp and hc must outlive the VM. */
static void take_results(struct pvt_vmm_config *cfg, struct pvt_exp_server *exp,
                         struct pvt_vmm_hypercall *hc, struct collect *c,
                         const struct pvt_workload_item *work, uint32_t nwork)
{
    memset(exp, 0, sizeof(*exp));
    exp->on_samples = on_samples;
    exp->on_summary = on_summary;
    exp->on_clock = on_clock;
    exp->ctx = c;
    exp->workload = work;
    exp->workload_count = nwork;
    cfg->hypercalls = hc;
    cfg->hypercall_count =
        pvt_exp_server_hypercalls(exp, hc, PVT_EXP_SERVER_HYPERCALLS);
}

struct baselines {
    const struct pvt_sim_result *res; /* the strategies' results */
    size_t n;
    uint64_t *cross_pairs; /* per strategy: the clock check's pairs */
    unsigned int vcpus;
    struct pvt_sim_hist timerfd;      /* host wake-up lateness */
    struct pvt_sim_hist tsc_deadline; /* KVM's LAPIC timer, from the guest */
    uint64_t preemptions, migrations;
    unsigned int load_processes;
    struct pvt__kvmrun_path path;
};

static void json_dist(FILE *f, const char *name, const struct pvt_sim_hist *h)
{
    fprintf(f,
            "\"%s\": {\"samples\": %llu, \"p50\": %llu, \"p99\": %llu, "
            "\"max\": %llu}",
            name, (unsigned long long)h->count,
            (unsigned long long)pvt_sim_hist_quantile(h, 0.5),
            (unsigned long long)pvt_sim_hist_quantile(h, 0.99),
            (unsigned long long)h->max_abs);
}

static void extra_json(FILE *f, void *ctx)
{
    struct baselines *b = ctx;

    fprintf(f, ", \"baselines\": {");
    json_dist(f, "host_timerfd_lateness_ns", &b->timerfd);
    fprintf(f, ", ");
    json_dist(f, "kvm_tsc_deadline_lateness_ns", &b->tsc_deadline);
    fprintf(f,
            "}, \"faults\": {\"preemptions\": %llu, \"migrations\": %llu, "
            "\"load_processes\": %u}",
            (unsigned long long)b->preemptions,
            (unsigned long long)b->migrations, b->load_processes);
    /* the paravirtual timer's path beside the in-kernel timer's lateness
     * (path.h says what each stage is) */
    fprintf(f, ", \"path_ns\": {");
    pvt__kvmrun_path_json(f, &b->path);
    fprintf(f, ", ");
    json_dist(f, "kvm_tsc_deadline_lateness", &b->tsc_deadline);
    fprintf(f, "}");
    if (b->vcpus > 1) {
        size_t i;

        fprintf(f, ", \"clock_check\": [");
        for (i = 0; i < b->n; i++)
            fprintf(f,
                    "%s{\"strategy\": \"%s\", \"reads\": %llu, "
                    "\"cross_vcpu_pairs\": %llu, \"backwards\": %llu}",
                    i ? ", " : "", b->res[i].strategy->name,
                    (unsigned long long)b->res[i].clock_reads,
                    (unsigned long long)b->cross_pairs[i],
                    (unsigned long long)b->res[i].clock_backwards);
        fprintf(f, "]");
    }
}

static void free_baselines(struct baselines *b)
{
    if (b) {
        pvt__kvmrun_path_fini(&b->path);
        free(b->cross_pairs);
    }
    free(b);
}

static void baseline_line(FILE *f, const char *label,
                          const struct pvt_sim_hist *h, const char *what)
{
    char x[32], y[32], z[32];

    fprintf(f, "  %-34s %s / %s / %s  (%llu %s)\n", label,
            pvt_sim_format_ns(x, sizeof(x),
                              (double)pvt_sim_hist_quantile(h, 0.5), false),
            pvt_sim_format_ns(y, sizeof(y),
                              (double)pvt_sim_hist_quantile(h, 0.99), false),
            pvt_sim_format_ns(z, sizeof(z), (double)h->max_abs, false),
            (unsigned long long)h->count, what);
}

static void print_baselines(FILE *f, struct baselines *b)
{
    fprintf(f, "\nbaselines measured in the same run (p50 / p99 / max):\n");
    baseline_line(f, "host timerfd wake-up lateness", &b->timerfd, "wake-ups");
    baseline_line(f, "KVM TSC-deadline lateness (guest)", &b->tsc_deadline,
                  "interrupts");
    pvt__kvmrun_path_print(f, &b->path);
    fprintf(f,
            "  faults injected: %llu preemptions, %llu migrations, %u "
            "load processes\n",
            (unsigned long long)b->preemptions,
            (unsigned long long)b->migrations, b->load_processes);
    if (b->vcpus > 1) {
        size_t i;

        fprintf(f, "\ncross-vCPU clock check (reads inside one lock, "
                   "compared with the last read of any vCPU):\n");
        for (i = 0; i < b->n; i++)
            fprintf(f,
                    "  %-16s %llu reads, %llu cross-vCPU pairs, %llu went "
                    "backwards\n",
                    b->res[i].strategy->name,
                    (unsigned long long)b->res[i].clock_reads,
                    (unsigned long long)b->cross_pairs[i],
                    (unsigned long long)b->res[i].clock_backwards);
    }
}

/* The guest's command line for one strategy: integers only; with
 * several vCPUs, the SMP run's own (guest/smp.c). */
static void guest_cmdline(char *buf, size_t len, const struct pvt_sim_params *p,
                          const struct pvt_strategy *s)
{
    if (p->vcpus > 1) {
        snprintf(buf, len,
                 "scenario strategy=%s duration_us=%lld drain_us=%lld "
                 "tsc_cal_ppb=%lld tsc_stable=%d remote_permille=%lld "
                 "warp_pairs=%u",
                 s->name, (long long)llround(p->duration_s * 1e6),
                 (long long)llround(p->drain_s * 1e6),
                 (long long)llround(p->tsc_cal_ppm * 1e3), p->tsc_stable != 0,
                 (long long)llround(p->remote_fraction * 1e3),
                 PVT_KVMRUN_WARP_PAIRS);
        return;
    }
    snprintf(buf, len,
             "scenario strategy=%s boot_us=%lld duration_us=%lld "
             "drain_us=%lld hz=%lld boot_drift_ppb=%lld boot_clock=%d "
             "tsc_cal_ppb=%lld nohz=%d pvclock=%d",
             s->name, (long long)llround(p->boot_s * 1e6),
             (long long)llround(p->duration_s * 1e6),
             (long long)llround(p->drain_s * 1e6), (long long)llround(p->hz),
             (long long)llround(p->boot_drift_ppm * 1e3),
             p->boot_clock == PVT_SIM_BOOT_TSC,
             (long long)llround(p->tsc_cal_ppm * 1e3), p->nohz != 0,
             p->pvclock != 0);
}

static int run_one(const struct pvt_kvmrun_opts *o,
                   const struct pvt_strategy *s,
                   const struct pvt_workload_item *work, uint32_t nwork,
                   struct pvt_sim_result *r, uint64_t *cross_pairs,
                   struct baselines *b, int *status)
{
    const struct pvt_sim_params *p = o->params;
    struct pvt_vmm_config cfg;
    struct pvt_vmm *vm = calloc(1, sizeof(*vm));
    struct collect c;
    struct pvt_exp_server exp;
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt__kvmrun_faults f;
    char cmdline[512];
    int rc = -1;

    if (vm == NULL) {
        fprintf(stderr, "pvtimer kvm: out of memory\n");
        return -1;
    }
    pvt_sim_result_init(r, p, s);
    memset(&c, 0, sizeof(c));
    c.r = r;
    c.tsc_deadline = &b->tsc_deadline;
    c.strategy = s;
    c.path = &b->path;
    c.nvcpu = (unsigned int)p->vcpus;
    c.cross_pairs = cross_pairs;
    r->vcpus = c.nvcpu;

    guest_cmdline(cmdline, sizeof(cmdline), p, s);
    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = o->guest;
    cfg.mem_size = o->mem_bytes;
    cfg.timeout_s = o->timeout_s;
    cfg.cmdline = cmdline;
    cfg.console_fd = o->console_fd;
    cfg.kvm_path = o->kvm_path;
    cfg.vcpus = c.nvcpu;
    cfg.service_threads = o->service_threads;
    if (cfg.service_threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        cfg.service_threads = cpus > 0 && (unsigned long)cpus < c.nvcpu
                                  ? (unsigned int)cpus
                                  : c.nvcpu;
    }
    take_results(&cfg, &exp, hc, &c, work, nwork);

    memset(&f, 0, sizeof(f));
    if (pvt_vmm_init(vm, &cfg) < 0 || pvt_vmm_elf_load(vm) < 0 ||
        pvt_vmm_kvm_setup(vm) < 0) {
        fprintf(stderr, "pvtimer kvm: %s\n", vm->err);
        *status = vm->kvm_unavailable ? PVT_KVMRUN_NO_KVM : 1;
        goto out;
    }
    if (vm->svc &&
        (pvt_timersvc_set_advance(
             vm->svc, o->advance_fixed ? o->advance_ns
                                       : PVT_TIMERSVC_ADVANCE_ADAPTIVE) < 0 ||
         pvt_timersvc_set_rt_priority(vm->svc, o->service_rt) < 0 ||
         pvt_timersvc_set_fired(vm->svc, 0, pvt__kvmrun_path_fired, &b->path) <
             0)) {
        fprintf(stderr, "pvtimer kvm: the timer service refused its "
                        "advance\n");
        goto out;
    }
    pvt__kvmrun_faults_start(&f, vm, &exp.started_at, p, o->seed);
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
    if (!c.summarised || (c.nvcpu > 1 && !c.clock_seen)) {
        fprintf(stderr,
                "pvtimer kvm: strategy %s: the guest sent no result (%u of "
                "%u vCPUs reported%s)\n",
                s->name, c.summaries, c.nvcpu,
                c.nvcpu > 1 && !c.clock_seen ? ", no clock check" : "");
        *status = 1;
        goto out;
    }
    rc = 0;
out:
    pvt__kvmrun_faults_stop(&f);
    if (f.err[0])
        fprintf(stderr, "pvtimer kvm: strategy %s: %s\n", s->name, f.err);
    if (vm->svc) {
        struct pvt_timersvc_stats st;

        if (pvt_timersvc_get_stats(vm->svc, &st) == 0) {
            b->path.advance_final = st.advance_ns;
            b->path.rt = st.rt;
            b->path.threads = vm->svc->nthreads;
        }
    }
    if (vm->svc) {
        int64_t *lat = malloc(PVT_TIMERSVC_LAT_SAMPLES * sizeof(*lat));
        size_t n =
            lat ? pvt_timersvc_lateness(vm->svc, lat, PVT_TIMERSVC_LAT_SAMPLES)
                : 0;
        for (size_t i = 0; i < n; i++)
            pvt_sim_hist_add(&b->timerfd, lat[i]);
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

int pvt_kvmrun_scenario(const struct pvt_kvmrun_opts *o)
{
    struct pvt_workload_item *work = NULL;
    struct pvt_sim_result *res = NULL;
    struct baselines *b;
    struct pvt__kvmrun_load load;
    uint32_t nwork = 0;
    char err[256];
    int status = 0;
    size_t i;

    if (o == NULL || o->params == NULL || o->strategies == NULL ||
        o->nstrategies == 0 || o->guest == NULL || o->scenario == NULL) {
        fprintf(stderr, "pvtimer kvm: nothing to run\n");
        return 1;
    }
    if (o->params->vcpus < 1 || o->params->vcpus > PVT_KVMRUN_MAX_VCPUS ||
        o->params->vcpus != floor(o->params->vcpus)) {
        fprintf(stderr,
                "pvtimer kvm: vcpus=%g: the guest takes 1 to %u vCPUs (the "
                "simulator more: pvtimer sim)\n",
                o->params->vcpus, PVT_KVMRUN_MAX_VCPUS);
        return 2;
    }
    if (o->params->vcpus > 1 && o->params->migrate_at_s >= 0) {
        /* a migration stops one vCPU at its safe point, not all */
        fprintf(stderr, "pvtimer kvm: a migration (migrate_at_s) needs "
                        "vcpus=1 on KVM\n");
        return 2;
    }
    memset(&load, 0, sizeof(load));
    b = calloc(1, sizeof(*b));
    res = calloc(o->nstrategies, sizeof(*res));
    if (b && pvt__kvmrun_path_init(&b->path,
                                   o->advance_fixed ? o->advance_ns : -1) < 0) {
        pvt__kvmrun_path_fini(&b->path);
        free(b);
        b = NULL;
    }
    if (b == NULL || res == NULL ||
        (b->cross_pairs = calloc(o->nstrategies, sizeof(uint64_t))) == NULL) {
        fprintf(stderr, "pvtimer kvm: out of memory\n");
        free_baselines(b);
        free(res);
        return 1;
    }
    b->res = res;
    b->n = o->nstrategies;
    b->vcpus = (unsigned int)o->params->vcpus;
    if (make_workload(o->params, o->seed, &work, &nwork, err, sizeof(err)) <
        0) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        free_baselines(b);
        free(res);
        return 2;
    }
    pvt__kvmrun_load_start(&load, o->load_processes);
    b->load_processes = load.n;

    for (i = 0; i < o->nstrategies; i++) {
        if (o->progress)
            fprintf(stderr, "pvtimer kvm: %s (%zu of %zu)\n",
                    o->strategies[i]->name, i + 1, o->nstrategies);
        if (run_one(o, o->strategies[i], work, nwork, &res[i],
                    &b->cross_pairs[i], b, &status) < 0)
            break;
    }
    pvt__kvmrun_load_stop(&load);

    if (status == 0) {
        struct pvt_sim_report_meta meta = {
            .backend = "kvm",
            .extra_json = extra_json,
            .extra_ctx = b,
        };

        if (o->json) {
            pvt_sim_report_json_ex(stdout, &meta, o->scenario, o->seed,
                                   o->params, res, o->nstrategies);
        } else {
            pvt_sim_report_table_ex(stdout, &meta, o->scenario, o->seed,
                                    o->params, res, o->nstrategies);
            print_baselines(stdout, b);
        }
        if (o->report) {
            FILE *f = fopen(o->report, "w");
            if (f == NULL) {
                fprintf(stderr, "pvtimer kvm: %s: %s\n", o->report,
                        strerror(errno));
                status = 1;
            } else {
                pvt_sim_report_html_ex(f, &meta, o->scenario, o->seed,
                                       o->params, res, o->nstrategies);
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
    free_baselines(b);
    return status;
}

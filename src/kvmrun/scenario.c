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
    bool summarised;
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

static int on_samples(void *ctx, const struct pvt_result_sample *s, size_t n)
{
    struct collect *c = ctx;
    struct pvt_sim_result *r = c->r;
    size_t i;

    for (i = 0; i < n; i++) {
        struct pvt_sim_bin *b = bin_at(r, s[i].t_ns);
        int64_t v = s[i].value;
        int64_t a = v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;

        switch ((enum pvt_result_kind)s[i].kind) {
        case PVT_SAMPLE_LATENESS:
            pvt_sim_hist_add(&r->lateness, v);
            b->fired++;
            break;
        case PVT_SAMPLE_DEVICE_ERROR:
            pvt_sim_hist_add(&r->device_error, v);
            if (s[i].flags & PVT_SAMPLE_AFTER_SWITCH)
                pvt__kvmrun_path_device_error(c->path, a);
            b->interrupts++;
            if (a > b->dev_max_abs)
                b->dev_max_abs = a;
            break;
        case PVT_SAMPLE_AIM_ERROR:
            pvt_sim_hist_add(&r->aim_error, v);
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

static int on_summary(void *ctx, const struct pvt_result_summary *s)
{
    struct collect *c = ctx;
    struct pvt_sim_result *r = c->r;

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
    exp->ctx = c;
    exp->workload = work;
    exp->workload_count = nwork;
    cfg->hypercalls = hc;
    cfg->hypercall_count =
        pvt_exp_server_hypercalls(exp, hc, PVT_EXP_SERVER_HYPERCALLS);
}

struct baselines {
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
}

static void free_baselines(struct baselines *b)
{
    if (b)
        pvt__kvmrun_path_fini(&b->path);
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
}

/* The guest's command line for one strategy: integers only. */
static void guest_cmdline(char *buf, size_t len, const struct pvt_sim_params *p,
                          const struct pvt_strategy *s)
{
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
                   struct pvt_sim_result *r, struct baselines *b, int *status)
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

    guest_cmdline(cmdline, sizeof(cmdline), p, s);
    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = o->guest;
    cfg.mem_size = o->mem_bytes;
    cfg.timeout_s = o->timeout_s;
    cfg.cmdline = cmdline;
    cfg.console_fd = o->console_fd;
    cfg.kvm_path = o->kvm_path;
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
    if (!c.summarised) {
        fprintf(stderr, "pvtimer kvm: strategy %s: the guest sent no result\n",
                s->name);
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
    if (o->params->vcpus != 1) {
        /* the monitor and the guest run one vCPU so far */
        fprintf(stderr,
                "pvtimer kvm: vcpus=%g: the KVM backend runs one vCPU (the "
                "simulator runs several: pvtimer sim)\n",
                o->params->vcpus);
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
    if (b == NULL || res == NULL) {
        fprintf(stderr, "pvtimer kvm: out of memory\n");
        free_baselines(b);
        free(res);
        return 1;
    }
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
        if (run_one(o, o->strategies[i], work, nwork, &res[i], b, &status) < 0)
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

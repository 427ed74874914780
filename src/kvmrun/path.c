/*
 * The paravirtual timer's path, stage by stage (contract in path.h).
 */
#include "path.h"

#include <stdlib.h>
#include <string.h>

#include "sim/report.h"

static const char *const stage_key[PVT__STAGES] = {
    "deadline_to_host_timer",    "host_timer_to_thread",
    "thread_to_injected",        "injected_to_guest",
    "deadline_to_guest",         "deadline_to_injected",
    "device_error_after_switch", "device_error_before_switch",
};

static const char *const stage_label[PVT__STAGES] = {
    "deadline -> host timer expiry",   "host timer -> thread running",
    "thread running -> injected",      "injected -> guest handler (TSC)",
    "deadline -> guest handler",       "deadline -> injected (host)",
    "|device error| after the switch", "|device error| before it (boot)",
};

int pvt__kvmrun_path_init(struct pvt__kvmrun_path *p, int64_t advance)
{
    unsigned int k;

    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->advance_setting = advance;
    for (k = 0; k < PVT__STAGES; k++)
        if ((p->v[k] = malloc(PVT__PATH_SAMPLES * sizeof(int64_t))) == NULL)
            return -1;
    return 0;
}

void pvt__kvmrun_path_fini(struct pvt__kvmrun_path *p)
{
    unsigned int k;

    for (k = 0; k < PVT__STAGES; k++)
        free(p->v[k]);
    pthread_mutex_destroy(&p->lock);
}

static void add(struct pvt__kvmrun_path *p, enum pvt__kvmrun_stage k, int64_t v)
{
    if (p->n[k] < PVT__PATH_SAMPLES)
        p->v[k][p->n[k]++] = v;
}

static unsigned int slot_of(uint64_t deadline)
{
    return (unsigned int)((deadline * 0x9e3779b97f4a7c15ull) >> 52) &
           (PVT__PATH_SLOTS - 1);
}

void pvt__kvmrun_path_fired(void *ctx, unsigned int vcpu,
                            const struct pvt_timersvc_fire *f)
{
    struct pvt__kvmrun_path *p = ctx;
    int64_t deadline;
    unsigned int i;

    (void)vcpu;
    if (f->single_hv == PVT_HV_NEVER || f->single_hv == 0)
        return; /* the periodic timer: not the device's path */
    /* the guest's deadline in CLOCK_MONOTONIC: the queued one less the
     * slop the hypervisor added */
    deadline = f->deadline_mono - (int64_t)(f->deadline_hv - f->single_hv);
    pthread_mutex_lock(&p->lock);
    p->fires++;
    if (f->spun_ns)
        p->spins++;
    if (f->armed_mono >= 0) {
        add(p, PVT__STAGE_EXPIRY, f->armed_mono - deadline);
        add(p, PVT__STAGE_WAKE, f->woke_mono - f->armed_mono);
    }
    add(p, PVT__STAGE_INJECT, f->injected_mono - f->woke_mono);
    add(p, PVT__STAGE_HOST, f->injected_mono - deadline);
    i = slot_of(f->single_hv);
    p->slot[i].deadline_hv = f->single_hv;
    p->slot[i].injected_hv =
        f->hv_at_fire + (uint64_t)(f->injected_mono - f->mono_at_fire);
    pthread_mutex_unlock(&p->lock);
}

void pvt__kvmrun_path_arrival(struct pvt__kvmrun_path *p, uint64_t deadline_hv,
                              uint64_t arrival_hv)
{
    unsigned int i = slot_of(deadline_hv);

    pthread_mutex_lock(&p->lock);
    if (p->slot[i].deadline_hv == deadline_hv && deadline_hv != 0) {
        p->matched++;
        add(p, PVT__STAGE_GUEST,
            (int64_t)(arrival_hv - p->slot[i].injected_hv));
        add(p, PVT__STAGE_TOTAL, (int64_t)(arrival_hv - deadline_hv));
        p->slot[i].deadline_hv = 0;
    }
    pthread_mutex_unlock(&p->lock);
}

void pvt__kvmrun_path_device_error(struct pvt__kvmrun_path *p, int64_t abs_ns,
                                   bool after_switch)
{
    pthread_mutex_lock(&p->lock);
    add(p, after_switch ? PVT__STAGE_DEVICE : PVT__STAGE_DEVICE_BOOT, abs_ns);
    pthread_mutex_unlock(&p->lock);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* p50 and p99 of stage k (sorts its samples). */
static void quantiles(struct pvt__kvmrun_path *p, unsigned int k, int64_t *p50,
                      int64_t *p99)
{
    size_t n = p->n[k];

    *p50 = *p99 = 0;
    if (n == 0)
        return;
    qsort(p->v[k], n, sizeof(int64_t), cmp_i64);
    *p50 = p->v[k][(n - 1) / 2];
    *p99 = p->v[k][(size_t)((double)(n - 1) * 0.99)];
}

void pvt__kvmrun_path_json(FILE *f, struct pvt__kvmrun_path *p)
{
    unsigned int k;

    pthread_mutex_lock(&p->lock);
    fprintf(f,
            "\"fires\": %llu, \"matched\": %llu, \"busy_waits\": %llu, "
            "\"advance_ns\": %lld, \"advance_final_ns\": %lld, "
            "\"service_sched\": \"%s\", \"service_threads\": %u, "
            "\"guest_stage_source\": \"guest TSC\"",
            (unsigned long long)p->fires, (unsigned long long)p->matched,
            (unsigned long long)p->spins, (long long)p->advance_setting,
            (long long)p->advance_final, p->rt ? "fifo" : "other", p->threads);
    for (k = 0; k < PVT__STAGES; k++) {
        int64_t a, b;

        quantiles(p, k, &a, &b);
        fprintf(f, ", \"%s\": {\"samples\": %zu, \"p50\": %lld, \"p99\": %lld}",
                stage_key[k], p->n[k], (long long)a, (long long)b);
    }
    pthread_mutex_unlock(&p->lock);
}

void pvt__kvmrun_path_print(FILE *f, struct pvt__kvmrun_path *p)
{
    unsigned int k;
    char x[32], y[32];

    pthread_mutex_lock(&p->lock);
    fprintf(f,
            "  paravirtual timer path (p50 / p99; advance %s%lld ns, now "
            "%lld ns; %llu fires, %llu busy-waits; %u service thread%s, "
            "%s):\n",
            p->advance_setting < 0 ? "adaptive, from " : "",
            (long long)(p->advance_setting < 0 ? 1000 : p->advance_setting),
            (long long)p->advance_final, (unsigned long long)p->fires,
            (unsigned long long)p->spins, p->threads,
            p->threads == 1 ? "" : "s", p->rt ? "SCHED_FIFO" : "SCHED_OTHER");
    for (k = 0; k < PVT__STAGES; k++) {
        int64_t a, b;

        if (p->n[k] == 0) {
            fprintf(f, "    %-34s none\n", stage_label[k]);
            continue;
        }
        quantiles(p, k, &a, &b);
        fprintf(f, "    %-34s %s / %s  (%zu)\n", stage_label[k],
                pvt_sim_format_ns(x, sizeof(x), (double)a, true),
                pvt_sim_format_ns(y, sizeof(y), (double)b, true), p->n[k]);
    }
    pthread_mutex_unlock(&p->lock);
}

/*
 * The timer service: hvtimer semantics + timerfd + a service thread.
 * Contracts in timersvc.h.
 */
#include "timersvc.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ll

/* A timerfd is never armed further ahead than this; a wake-up that finds
 * nothing due re-arms for the rest (so absurd deadlines cost nothing). */
#define MAX_ARM_AHEAD_NS (3600 * NSEC_PER_SEC)

/* epoll data of the stop eventfd (vCPU timers use their index). */
#define STOP_TAG UINT64_MAX

/* Arms vCPU v's timerfd for its timer's next fire; called with the lock
 * held, hv_now and mono_now from one paired reading. */
static int rearm(struct pvt_timersvc_vcpu *v, uint64_t hv_now, int64_t mono_now)
{
    struct itimerspec its;
    uint64_t fire = pvt_hv_next_fire(&v->t);
    int64_t at;

    memset(&its, 0, sizeof(its));
    if (fire == PVT_HV_NEVER) {
        v->armed_mono = -1;
        v->armed_hv = PVT_HV_NEVER;
        /* a zeroed it_value disarms */
        return timerfd_settime(v->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0
                   ? -errno
                   : 0;
    }
    if (fire <= hv_now)
        at = mono_now;
    else if (fire - hv_now > (uint64_t)MAX_ARM_AHEAD_NS)
        at = mono_now + MAX_ARM_AHEAD_NS;
    else
        at = mono_now + (int64_t)(fire - hv_now);
    if (at <= 0)
        at = 1; /* never all-zero: that would disarm */
    v->armed_mono = at;
    v->armed_hv = fire;
    its.it_value.tv_sec = (time_t)(at / NSEC_PER_SEC);
    its.it_value.tv_nsec = (long)(at % NSEC_PER_SEC);
    return timerfd_settime(v->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno
                                                                      : 0;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Fires what is due on vCPU v (lock held) and re-arms. */
static int service_vcpu(struct pvt_timersvc *s, unsigned int i, int64_t woke)
{
    struct pvt_timersvc_vcpu *v = &s->vcpu[i];
    uint64_t hv_now, expirations = 0;
    int64_t mono_now;
    unsigned int fired;
    int rc;

    /* read under the lock: a re-arm by a vCPU thread (which also holds
     * it) resets the count, so an expiration read here is of the deadline
     * in armed_mono, and only then is its lateness a sample */
    if (read(v->tfd, &expirations, sizeof(expirations)) !=
        (ssize_t)sizeof(expirations))
        expirations = 0;
    if (expirations && v->armed_mono >= 0) {
        s->lat[s->lat_count % PVT_TIMERSVC_LAT_SAMPLES] = woke - v->armed_mono;
        s->lat_count++;
    }
    rc = s->ops.read_clock(s->ctx, &hv_now, &mono_now);
    if (rc < 0)
        return rc;
    fired = pvt_hv_expire(&v->t, hv_now);
    if (!fired && v->armed_hv != PVT_HV_NEVER && v->armed_hv > hv_now &&
        v->armed_hv - hv_now < (uint64_t)MAX_ARM_AHEAD_NS)
        v->early_wakeups++; /* the clocks' rates differ: re-armed below */
    if (fired & PVT_HV_SINGLESHOT) {
        if (s->ops.inject(s->ctx, i, v->vec_single) < 0)
            v->inject_errors++;
        else
            v->injected++;
    }
    if (fired & PVT_HV_PERIODIC) {
        if (s->ops.inject(s->ctx, i, v->vec_periodic) < 0)
            v->inject_errors++;
        else
            v->injected++;
    }
    return rearm(v, hv_now, mono_now);
}

static void *service_main(void *arg)
{
    struct pvt_timersvc *s = arg;

    for (;;) {
        struct epoll_event ev[8];
        int n = epoll_wait(s->epfd, ev, 8, -1);
        int64_t woke = mono_ns();
        int k;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->thread_err = -errno;
            return NULL;
        }
        for (k = 0; k < n; k++) {
            uint64_t tag = ev[k].data.u64;
            int rc;

            if (tag == STOP_TAG)
                return NULL;
            if (tag >= s->nvcpu)
                continue;
            pthread_mutex_lock(&s->lock);
            rc = service_vcpu(s, (unsigned int)tag, woke);
            pthread_mutex_unlock(&s->lock);
            if (rc < 0) {
                s->thread_err = rc;
                return NULL;
            }
        }
    }
}

/* Contract in timersvc.h. */
int pvt_timersvc_init(struct pvt_timersvc *s, unsigned int nvcpu,
                      const struct pvt_hv_timer_config *cfg,
                      uint32_t vec_single, uint32_t vec_periodic,
                      const struct pvt_timersvc_ops *ops, void *ctx)
{
    struct epoll_event ev;
    uint64_t hv_now;
    int64_t mono_now;
    unsigned int i;
    int rc;

    if (s == NULL)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->epfd = -1;
    s->stopfd = -1;
    for (i = 0; i < PVT_TIMERSVC_MAX_VCPUS; i++)
        s->vcpu[i].tfd = -1;
    if (nvcpu == 0 || nvcpu > PVT_TIMERSVC_MAX_VCPUS || cfg == NULL ||
        ops == NULL || ops->read_clock == NULL || ops->inject == NULL ||
        vec_single < 32 || vec_single > 255 || vec_periodic < 32 ||
        vec_periodic > 255)
        return -EINVAL;
    s->ops = *ops;
    s->ctx = ctx;
    s->nvcpu = nvcpu;
    if ((rc = pthread_mutex_init(&s->lock, NULL)) != 0)
        return -rc;
    s->lock_init = true;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        return -errno;
    s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stopfd < 0)
        return -errno;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = STOP_TAG;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev) < 0)
        return -errno;
    rc = s->ops.read_clock(ctx, &hv_now, &mono_now);
    if (rc < 0)
        return rc;
    for (i = 0; i < nvcpu; i++) {
        struct pvt_timersvc_vcpu *v = &s->vcpu[i];

        if (pvt_hv_timer_init(&v->t, cfg, hv_now) < 0)
            return -EINVAL;
        v->vec_single = vec_single;
        v->vec_periodic = vec_periodic;
        v->armed_mono = -1;
        v->armed_hv = PVT_HV_NEVER;
        v->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (v->tfd < 0)
            return -errno;
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, v->tfd, &ev) < 0)
            return -errno;
        if ((rc = rearm(v, hv_now, mono_now)) < 0)
            return rc;
    }
    return 0;
}

/* Contract in timersvc.h. */
int pvt_timersvc_start(struct pvt_timersvc *s)
{
    sigset_t all, old;
    int rc;

    if (s == NULL || s->epfd < 0 || s->running)
        return -EINVAL;
    /* the thread takes no signals: they belong to the owner's threads (a
     * vCPU thread is kicked out of KVM_RUN by one) */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, service_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    s->running = true;
    return 0;
}

/* The operations share this frame: lock, read the clock, change the
 * timer, re-arm. */
enum op { OP_SINGLE, OP_RELATIVE, OP_PERIODIC, OP_STOP };

static int timer_op(struct pvt_timersvc *s, unsigned int vcpu, enum op op,
                    uint64_t arg, uint64_t *armed)
{
    struct pvt_timersvc_vcpu *v;
    uint64_t hv_now;
    int64_t mono_now;
    int rc;

    if (s == NULL || vcpu >= s->nvcpu)
        return -EINVAL;
    v = &s->vcpu[vcpu];
    pthread_mutex_lock(&s->lock);
    rc = s->ops.read_clock(s->ctx, &hv_now, &mono_now);
    if (rc < 0)
        goto out;
    switch (op) {
    case OP_SINGLE:
        rc = pvt_hv_set_singleshot(&v->t, arg, hv_now);
        break;
    case OP_RELATIVE:
        rc = pvt_hv_set_relative(&v->t, arg, hv_now);
        if (armed)
            *armed = v->t.single;
        break;
    case OP_PERIODIC:
        rc = pvt_hv_set_periodic(&v->t, arg, hv_now) < 0 ? -ERANGE : 0;
        break;
    case OP_STOP:
        rc = pvt_hv_stop_singleshot(&v->t);
        break;
    }
    if (rc < 0)
        goto out;
    rc = rearm(v, hv_now, mono_now);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Contracts in timersvc.h. */
int pvt_timersvc_singleshot(struct pvt_timersvc *s, unsigned int vcpu,
                            uint64_t deadline)
{
    return timer_op(s, vcpu, OP_SINGLE, deadline, NULL);
}

int pvt_timersvc_relative(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t delta, uint64_t *armed)
{
    return timer_op(s, vcpu, OP_RELATIVE, delta, armed);
}

int pvt_timersvc_periodic(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t period)
{
    return timer_op(s, vcpu, OP_PERIODIC, period, NULL);
}

int pvt_timersvc_stop(struct pvt_timersvc *s, unsigned int vcpu)
{
    return timer_op(s, vcpu, OP_STOP, 0, NULL);
}

/* Contract in timersvc.h. */
int pvt_timersvc_clock_jumped(struct pvt_timersvc *s)
{
    uint64_t hv_now;
    int64_t mono_now;
    unsigned int i;
    int rc;

    if (s == NULL || s->epfd < 0)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    rc = s->ops.read_clock(s->ctx, &hv_now, &mono_now);
    for (i = 0; rc == 0 && i < s->nvcpu; i++) {
        struct pvt_timersvc_vcpu *v = &s->vcpu[i];

        pvt_hv_stop_singleshot(&v->t);
        if (v->t.period)
            pvt_hv_set_periodic(&v->t, v->t.period, hv_now);
        /* the rate limit's memory is of the old clock */
        v->t.last_fire = PVT_HV_NEVER;
        rc = rearm(v, hv_now, mono_now);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Contract in timersvc.h. */
int pvt_timersvc_snapshot(struct pvt_timersvc *s, unsigned int vcpu,
                          struct pvt_timersvc_vcpu *out)
{
    if (s == NULL || out == NULL || vcpu >= s->nvcpu)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    *out = s->vcpu[vcpu];
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Contract in timersvc.h. */
size_t pvt_timersvc_lateness(struct pvt_timersvc *s, int64_t *out, size_t max)
{
    uint64_t n, first, i;

    if (s == NULL || out == NULL || !s->lock_init)
        return 0;
    pthread_mutex_lock(&s->lock);
    n = s->lat_count < PVT_TIMERSVC_LAT_SAMPLES ? s->lat_count
                                                : PVT_TIMERSVC_LAT_SAMPLES;
    if (n > max)
        n = max;
    first = s->lat_count - n;
    for (i = 0; i < n; i++)
        out[i] = s->lat[(first + i) % PVT_TIMERSVC_LAT_SAMPLES];
    pthread_mutex_unlock(&s->lock);
    return (size_t)n;
}

/* Contract in timersvc.h. */
void pvt_timersvc_destroy(struct pvt_timersvc *s)
{
    unsigned int i;

    if (s == NULL)
        return;
    if (s->running) {
        uint64_t one = 1;

        if (write(s->stopfd, &one, sizeof(one)) == sizeof(one))
            pthread_join(s->thread, NULL);
        else
            pthread_cancel(s->thread), pthread_join(s->thread, NULL);
        s->running = false;
    }
    for (i = 0; i < PVT_TIMERSVC_MAX_VCPUS; i++) {
        if (s->vcpu[i].tfd >= 0)
            close(s->vcpu[i].tfd);
        s->vcpu[i].tfd = -1;
    }
    if (s->stopfd >= 0)
        close(s->stopfd);
    if (s->epfd >= 0)
        close(s->epfd);
    s->stopfd = s->epfd = -1;
    if (s->lock_init)
        pthread_mutex_destroy(&s->lock);
    s->lock_init = false;
}

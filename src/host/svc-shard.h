/*
 * The timer service's inside (internal to src/host): the timers, the
 * clients, and a shard, which is one service thread with its host timer
 * and the deadline queue of its timers. timersvc.c is the API and the
 * arming; svc-shard.c the dispatch (what a wake-up fires, the clients'
 * caps, the advance) and the thread. Contracts in timersvc.h.
 */
#ifndef PVTIMER_HOST_SVC_SHARD_H
#define PVTIMER_HOST_SVC_SHARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pvtimer/ladder.h"
#include "timersvc.h"

#define PVT__SVC_NONE INT64_MAX /* no time: nothing armed */
/* A key is never further ahead than this (a wake-up that finds nothing
 * due queues the timer again for the rest). */
#define PVT__SVC_MAX_AHEAD_NS (3600ll * 1000000000ll)
#define PVT__SVC_RUNGS        8
/* Rounds of one wake-up that find more due before it re-arms for now. */
#define PVT__SVC_MAX_ROUNDS 3

struct pvt__svc_timer {
    struct pvt_ladder_node node; /* in its shard's queue, key: mono ns */
    struct pvt_hv_vcpu_timer t;
    uint64_t armed_hv;   /* the fire time the key stands for */
    unsigned int client; /* UINT_MAX: no client yet */
    unsigned int local;  /* its index in the client */
    uint64_t injected;
    uint64_t inject_errors;
    uint64_t early_wakeups;
    uint64_t throttled;
};

struct pvt__svc_client {
    struct pvt_timersvc_client_config cc;
    unsigned int first;
    bool used;
};

/* A client as one shard sees it: its cap's and busy-wait's budgets and a
 * clock reading cached for one round. */
struct pvt__svc_client_shard {
    int64_t fire_tokens; /* ns of fire budget (one fire costs 1e9/rate) */
    int64_t fire_last;   /* mono ns the tokens were counted at */
    int64_t next_slot;   /* over the cap: the next fire time free */
    int64_t spin_tokens; /* ns of busy-wait budget */
    int64_t spin_last;
    uint64_t round; /* round the reading below is of */
    uint64_t hv_now;
    int64_t mono_now;
};

struct pvt__svc_shard {
    struct pvt_timersvc *s;
    unsigned int index;
    pthread_mutex_t lock;
    bool lock_init;
    struct pvt_ladder q;
    struct pvt_ladder_rung rung[PVT__SVC_RUNGS];
    struct pvt__svc_client_shard *cl; /* [s->nclients_max] */
    int tfd;                          /* timerfd, CLOCK_MONOTONIC, or -1 */
    pthread_t thread;
    bool thread_started;
    bool stop;
    bool rt;                 /* the thread got SCHED_FIFO */
    atomic_bool svc_waiting; /* the thread wants the lock: armers wait */
    int64_t armed_at;        /* the timerfd is armed for this, or NONE */
    int64_t armed_target;    /* what it stands for (armed_at + advance) */
    int64_t advance;         /* the current advance, ns */
    uint64_t round;          /* rounds run (keys the clock cache) */
    int64_t woke;            /* this round's wake-up (for fired) */
    int64_t woke_armed;      /* what the timerfd was armed for, or -1 */
    int64_t spun;            /* this round's busy-wait */
    bool in_wake; /* the thread is in a wake-up: it arms the host timer
                     once, at its end */
    struct pvt_timersvc_stats st;
    int64_t *lat; /* [PVT_TIMERSVC_LAT_SAMPLES] */
    uint64_t lat_count;
};

/*
 * The lock, taken by a guest's arming: it lets the service thread go first
 * when it is waiting (a VM arming in a loop would otherwise keep taking an
 * unfair mutex back before the woken service thread runs, and starve every
 * other VM's timers on the shard).
 */
void pvt__svc_arm_lock(struct pvt__svc_shard *sh);

/* Now on the service's CLOCK_MONOTONIC. */
int64_t pvt__svc_now(const struct pvt_timersvc *s);

/* The client's clock for this round of sh (read once per round, and again
 * when force). Lock held. Returns 0 or the clock's negative errno. */
int pvt__svc_client_clock(struct pvt__svc_shard *sh, unsigned int client,
                          bool force, uint64_t *hv_now, int64_t *mono_now);

/*
 * (Re)queues timer tm of shard sh for its next fire, from a paired reading
 * of its client's clock, and brings the host timer forward if it must
 * (when the shard has one). Lock held. Returns 0 or a negative errno
 * value (timerfd_settime's).
 */
int pvt__svc_requeue(struct pvt__svc_shard *sh, struct pvt__svc_timer *tm,
                     uint64_t hv_now, int64_t mono_now);

/* Fires what is due at mono time now on sh (lock held); *next gets the
 * time the host timer should fire next. Returns the number fired, or a
 * negative errno value. */
int pvt__svc_shard_poll(struct pvt__svc_shard *sh, int64_t now, int64_t *next);

/* Sets sh up (its queue, timerfd when threaded); tears it down. */
int pvt__svc_shard_init(struct pvt_timersvc *s, struct pvt__svc_shard *sh,
                        unsigned int index, bool timerfd);
void pvt__svc_shard_fini(struct pvt__svc_shard *sh);

/* Starts / stops sh's thread. */
int pvt__svc_shard_start(struct pvt__svc_shard *sh);
void pvt__svc_shard_stop(struct pvt__svc_shard *sh);

#endif /* PVTIMER_HOST_SVC_SHARD_H */

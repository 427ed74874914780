/*
 * pvclock seqlock under a real race: one writer thread (the hypervisor)
 * publishes a page many times while two reader threads (vCPUs of one guest)
 * take snapshots and read the clock.
 *
 * Every page the writer publishes is a function of one number k (the k-th
 * update): version 2k, tsc_timestamp k*C, system_time k*D plus a jump J
 * for half of the k (scrambled), mul and shift derived from k. A snapshot that mixed two updates would break one of
 * those relations, so every snapshot is checked. The readers also check
 * that the guarded clock never goes backwards, within a thread and across
 * threads (a value another reader published before this read started is a
 * lower bound), on pages whose raw extrapolations do go backwards.
 *
 * The test fails if it saw too few distinct versions to mean anything.
 * PVT_PVCLOCK_RACE_UPDATES overrides the number of updates (default
 * 1000000); the writer also stops after RACE_BUDGET_MS of wall time, so the
 * test stays short on a loaded machine or under valgrind. All threads yield
 * now and then: with more spinning threads than CPUs (or valgrind's one
 * thread at a time) the writer would otherwise wait whole time slices.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "pvtimer/pvclock.h"
#include "runner/test.h"

#define RACE_TSC_STEP        1000u    /* C */
#define RACE_NS_STEP         100u     /* D: far below a step's extrapolation */
#define RACE_NS_JUMP         1000000u /* J: makes raw time go back and forth */
#define RACE_DEFAULT_UPDATES 1000000u
#define RACE_READERS         2
#define RACE_BUDGET_MS       1500u

/* mul in [2^31, 2^32) and shift in [-3, 3], both scrambled from k. */
static uint32_t race_mul(uint64_t k)
{
    return 0x80000000u | (uint32_t)((k * 2654435761u) & 0x7fffffffu);
}

static int8_t race_shift(uint64_t k)
{
    return (int8_t)((int)(k % 7) - 3);
}

static uint64_t race_system_time(uint64_t k)
{
    return k * RACE_NS_STEP + (((k * 2654435761u) >> 16) & 1) * RACE_NS_JUMP;
}

static struct pvt_pvclock_params race_params(uint64_t k)
{
    struct pvt_pvclock_params p;
    p.tsc_timestamp = k * RACE_TSC_STEP;
    p.system_time = race_system_time(k);
    p.mul = race_mul(k);
    p.shift = race_shift(k);
    p.flags = 0;
    return p;
}

struct race {
    struct pvt_pvclock_vcpu_time_info page;
    struct pvt_pvclock_guest guest;
    uint64_t updates;
    uint64_t hw_tsc;      /* the "hardware" TSC; atomic */
    int start;            /* atomic: readers are running */
    int done;             /* atomic: the writer has finished */
    uint64_t shared_last; /* atomic: the largest time any reader returned */
};

struct race_reader {
    struct race *r;
    pthread_t thread;
    uint64_t snapshots, torn, versions, raw_behind, backwards, errors;
    uint64_t reads;
};

static uint64_t race_tsc_read(void *ctx)
{
    struct race *r = ctx;
    return __atomic_load_n(&r->hw_tsc, __ATOMIC_RELAXED);
}

/* Does the snapshot belong to exactly one published update? */
static int race_consistent(const struct pvt_pvclock_snapshot *s)
{
    uint64_t k;
    if (s->tsc_timestamp % RACE_TSC_STEP != 0)
        return 0;
    k = s->tsc_timestamp / RACE_TSC_STEP;
    return k >= 1 && s->version == (uint32_t)(2 * k) &&
           s->system_time == race_system_time(k) && s->mul == race_mul(k) &&
           s->shift == race_shift(k) && s->flags == 0 &&
           s->tsc >= s->tsc_timestamp;
}

static void race_publish_max(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (cur < v &&
           !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

static void *race_reader_main(void *arg)
{
    struct race_reader *rd = arg;
    struct race *r = rd->r;
    uint32_t last_version = 0;
    uint64_t prev = 0;

    __atomic_fetch_add(&r->start, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
        struct pvt_pvclock_snapshot s;
        uint64_t before, ns;

        if ((rd->snapshots & 127) == 127)
            sched_yield();

        if (pvt_pvclock_snapshot(&r->guest, &r->page, race_tsc_read, r, &s)) {
            rd->errors++;
            continue;
        }
        rd->snapshots++;
        if (!race_consistent(&s))
            rd->torn++;
        if (s.version != last_version) {
            rd->versions++;
            last_version = s.version;
        }

        /* Any value a reader returned before now bounds this read. */
        before = __atomic_load_n(&r->shared_last, __ATOMIC_ACQUIRE);
        if (pvt_pvclock_snapshot_ns(&s) < before)
            rd->raw_behind++; /* the guard has work to do */
        if (pvt_pvclock_read(&r->guest, &r->page, race_tsc_read, r, &ns,
                             NULL)) {
            rd->errors++;
            continue;
        }
        rd->reads++;
        if (ns < before || ns < prev)
            rd->backwards++;
        prev = ns;
        race_publish_max(&r->shared_last, ns);
    }
    return NULL;
}

static uint64_t race_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t race_updates(void)
{
    const char *env = getenv("PVT_PVCLOCK_RACE_UPDATES");
    if (env != NULL && *env != '\0') {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v >= 2)
            return v;
    }
    return RACE_DEFAULT_UPDATES;
}

TEST_IMPL(pvclock_race_seqlock)
{
    struct race r = {0}; /* shared with the threads, joined before return */
    struct race_reader rd[RACE_READERS];
    struct pvt_pvclock_params p;
    uint64_t k, snapshots = 0, torn = 0, versions = 0, raw_behind = 0;
    uint64_t backwards = 0, errors = 0, reads = 0, min_versions, published;
    uint64_t t0;
    int i;

    r.updates = race_updates();
    ASSERT_OK(pvt_pvclock_guest_init(&r.guest, 0));
    /* update 1 before the readers start, so every snapshot has a k >= 1 */
    r.hw_tsc = RACE_TSC_STEP;
    p = race_params(1);
    ASSERT_OK(pvt_pvclock_write(&r.page, &p));

    for (i = 0; i < RACE_READERS; i++) {
        rd[i] = (struct race_reader){.r = &r};
        ASSERT_EQ(pthread_create(&rd[i].thread, NULL, race_reader_main, &rd[i]),
                  0);
    }
    while (__atomic_load_n(&r.start, __ATOMIC_ACQUIRE) < RACE_READERS)
        sched_yield();

    t0 = race_now_ms();
    published = 1;
    for (k = 2; k <= r.updates; k++) {
        /* the TSC is at the new stamp before the page says so */
        __atomic_store_n(&r.hw_tsc, k * RACE_TSC_STEP, __ATOMIC_RELAXED);
        p = race_params(k);
        ASSERT_OK(pvt_pvclock_write(&r.page, &p));
        published = k;
        /* let the TSC run on between updates, so pages are extrapolated
         * well past the next one's system_time */
        __atomic_store_n(&r.hw_tsc, k * RACE_TSC_STEP + RACE_TSC_STEP / 2,
                         __ATOMIC_RELAXED);
        if ((k & 63) == 0) {
            sched_yield();
            if (race_now_ms() - t0 > RACE_BUDGET_MS)
                break;
        }
    }
    __atomic_store_n(&r.done, 1, __ATOMIC_RELEASE);

    for (i = 0; i < RACE_READERS; i++) {
        ASSERT_EQ(pthread_join(rd[i].thread, NULL), 0);
        snapshots += rd[i].snapshots;
        torn += rd[i].torn;
        versions += rd[i].versions;
        raw_behind += rd[i].raw_behind;
        backwards += rd[i].backwards;
        errors += rd[i].errors;
        reads += rd[i].reads;
    }
    pvt_test_printf(
        "%llu updates in %llu ms, %llu snapshots, %llu distinct versions "
        "seen, %llu torn, %llu reads, %llu raw behind the guard, "
        "%llu backwards, %llu errors\n",
        (unsigned long long)published, (unsigned long long)(race_now_ms() - t0),
        (unsigned long long)snapshots, (unsigned long long)versions,
        (unsigned long long)torn, (unsigned long long)reads,
        (unsigned long long)raw_behind, (unsigned long long)backwards,
        (unsigned long long)errors);

    ASSERT_UEQ(torn, 0);
    ASSERT_UEQ(backwards, 0);
    ASSERT_UEQ(errors, 0);
    /* Meaningful only if the readers really raced the writer: they must
     * have seen a good share of the updates, and values the guard had to
     * hold back. */
    min_versions = published / 100 < 100 ? published / 100 : 100;
    ASSERT_UGE(versions, min_versions);
    ASSERT_UGT(raw_behind, 0);
    RETURN_OK();
}

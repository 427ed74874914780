/*
 * The hypervisor's per-vCPU timers: singleshot, relative, legacy op,
 * default periodic, slop coalescing, rate limiting. Expected times follow
 * from the configuration in each test.
 */
#include "pvtimer/hvtimer.h"
#include "runner/test.h"

#define US   1000ull
#define MS   1000000ull
#define NOW0 (3ull * 86400 * 1000000000ull) /* hypervisor up 3 days */

static struct pvt_hv_vcpu_timer boot(void)
{
    struct pvt_hv_vcpu_timer t;
    struct pvt_hv_timer_config cfg = PVT_HV_TIMER_CONFIG_XEN;

    ASSERT_OK(pvt_hv_timer_init(&t, &cfg, NOW0));
    return t;
}

TEST_IMPL(hv_default_periodic)
{
    struct pvt_hv_vcpu_timer t = boot();
    struct pvt_hv_timer_config bad = PVT_HV_TIMER_CONFIG_XEN;

    /* every vCPU starts with a 10 ms periodic timer */
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 10 * MS);
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 10 * MS - 1), 0);
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 10 * MS), PVT_HV_PERIODIC);
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 20 * MS);
    /* a vCPU that was away 35 ms gets one event, on the period grid after */
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 55 * MS), PVT_HV_PERIODIC);
    ASSERT_UEQ(t.stats.periodic_missed, 3); /* 20, 30, 40 ms passed */
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 60 * MS);
    /* the guest stops it when it goes oneshot */
    ASSERT_OK(pvt_hv_set_periodic(&t, 0, NOW0 + 55 * MS));
    ASSERT_UEQ(pvt_hv_next_fire(&t), PVT_HV_NEVER);
    ASSERT_ERR(pvt_hv_set_periodic(&t, MS - 1, NOW0), PVT_EINVAL);
    ASSERT_OK(pvt_hv_set_periodic(&t, MS, NOW0));
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + MS);

    bad.default_period_ns = 500 * US; /* below the 1 ms minimum */
    ASSERT_ERR(pvt_hv_timer_init(&t, &bad, NOW0), PVT_EINVAL);
    ASSERT_ERR(pvt_hv_timer_init(NULL, &bad, NOW0), PVT_EINVAL);
    ASSERT_ERR(pvt_hv_timer_init(&t, NULL, NOW0), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(hv_singleshot)
{
    struct pvt_hv_vcpu_timer t = boot();

    ASSERT_OK(pvt_hv_set_periodic(&t, 0, NOW0));
    ASSERT_OK(pvt_hv_set_singleshot(&t, NOW0 + 5 * MS, NOW0));
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 5 * MS);
    /* never early */
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 5 * MS - 1), 0);
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 5 * MS + 7), PVT_HV_SINGLESHOT);
    /* one shot */
    ASSERT_UEQ(pvt_hv_next_fire(&t), PVT_HV_NEVER);
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 9 * MS), 0);

    /* a deadline in the past fires at once, it is not refused */
    ASSERT_OK(pvt_hv_set_singleshot(&t, NOW0 - 1, NOW0 + 10 * MS));
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 10 * MS);
    ASSERT_UEQ(t.stats.past_sets, 1);
    ASSERT_UEQ(pvt_hv_expire(&t, NOW0 + 10 * MS), PVT_HV_SINGLESHOT);

    /* relative: the hypervisor's own now + delta, saturating */
    ASSERT_OK(pvt_hv_set_relative(&t, 3 * MS, NOW0 + 20 * MS));
    ASSERT_UEQ(pvt_hv_next_fire(&t), NOW0 + 23 * MS);
    ASSERT_OK(pvt_hv_set_relative(&t, UINT64_MAX - 5, NOW0));
    ASSERT_UEQ(pvt_hv_next_fire(&t), UINT64_MAX);
    ASSERT_OK(pvt_hv_stop_singleshot(&t));
    ASSERT_UEQ(pvt_hv_next_fire(&t), PVT_HV_NEVER);

    ASSERT_ERR(pvt_hv_set_singleshot(NULL, 1, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_hv_set_relative(NULL, 1, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_hv_stop_singleshot(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_hv_set_periodic(NULL, 0, 1), PVT_EINVAL);
    ASSERT_UEQ(pvt_hv_next_fire(NULL), PVT_HV_NEVER);
    ASSERT_UEQ(pvt_hv_expire(NULL, 1), 0);
    RETURN_OK();
}

TEST_IMPL(hv_legacy_set_timer_op)
{
    struct pvt_hv_vcpu_timer t = boot();
    const uint64_t now = NOW0 + MS;

    ASSERT_OK(pvt_hv_set_periodic(&t, 0, now));
    ASSERT_OK(pvt_hv_set_timer_op(&t, (int64_t)(now + 2 * MS), now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + 2 * MS);
    /* 0 stops */
    ASSERT_OK(pvt_hv_set_timer_op(&t, 0, now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), PVT_HV_NEVER);
    /* negative, or more than 2^50 ns ahead: now + 100 ms */
    ASSERT_OK(pvt_hv_set_timer_op(&t, -5, now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + PVT_HV_LEGACY_FALLBACK_NS);
    ASSERT_OK(pvt_hv_set_timer_op(
        &t, (int64_t)(now + PVT_HV_LEGACY_MAX_AHEAD_NS + 1), now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + PVT_HV_LEGACY_FALLBACK_NS);
    ASSERT_UEQ(t.stats.absurd_sets, 2);
    /* exactly 2^50 ahead is still honoured */
    ASSERT_OK(pvt_hv_set_timer_op(
        &t, (int64_t)(now + PVT_HV_LEGACY_MAX_AHEAD_NS), now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + PVT_HV_LEGACY_MAX_AHEAD_NS);
    ASSERT_ERR(pvt_hv_set_timer_op(NULL, 1, now), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(hv_slop)
{
    struct pvt_hv_vcpu_timer t = boot(); /* 50 us slop, periodic 10 ms */
    const uint64_t now = NOW0 + MS;

    ASSERT_OK(pvt_hv_set_periodic(&t, 0, now));
    /* 10 us ahead: the hypervisor will not program closer than the slop,
     * so it fires 50 us after it was set: 40 us late, never early */
    ASSERT_OK(pvt_hv_set_singleshot(&t, now + 10 * US, now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + 50 * US);
    ASSERT_UEQ(pvt_hv_expire(&t, now + 50 * US - 1), 0);
    ASSERT_UEQ(pvt_hv_expire(&t, now + 50 * US), PVT_HV_SINGLESHOT);
    ASSERT_UEQ(t.stats.slopped, 1);
    /* 60 us ahead: beyond the slop, on its deadline */
    ASSERT_OK(pvt_hv_set_singleshot(&t, now + 60 * US, now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now + 60 * US);
    /* already past: at once */
    ASSERT_OK(pvt_hv_set_singleshot(&t, now - 1, now));
    ASSERT_UEQ(pvt_hv_next_fire(&t), now);
    ASSERT_UEQ(t.stats.slopped, 1);

    /* both due: one event with both bits */
    ASSERT_OK(pvt_hv_set_periodic(&t, MS, now));
    ASSERT_OK(pvt_hv_set_singleshot(&t, now + MS - 1, now));
    ASSERT_UEQ(pvt_hv_expire(&t, now + MS),
               PVT_HV_SINGLESHOT | PVT_HV_PERIODIC);
    RETURN_OK();
}

TEST_IMPL(hv_rate_limit_storm)
{
    struct pvt_hv_vcpu_timer t;
    struct pvt_hv_timer_config cfg = PVT_HV_TIMER_CONFIG_XEN;
    uint64_t now = NOW0, fires = 0;
    const uint64_t span = 100 * MS;
    int i;

    cfg.default_period_ns = 0;
    cfg.min_interval_ns = 100 * US;
    ASSERT_OK(pvt_hv_timer_init(&t, &cfg, now));
    /* a guest that re-arms into the past after every fire, as fast as it
     * can: the hypervisor fires at most once per 100 us */
    for (i = 0; i < 1000000 && now < NOW0 + span; i++) {
        uint64_t next;
        ASSERT_OK(pvt_hv_set_singleshot(&t, 0, now));
        next = pvt_hv_next_fire(&t);
        ASSERT_UGE(next, now);
        if (fires)
            ASSERT_UGE(next, t.last_fire + cfg.min_interval_ns);
        now = next;
        if (pvt_hv_expire(&t, now))
            fires++;
    }
    /* span / interval fires, plus the first one at once */
    ASSERT_UEQ(fires, span / cfg.min_interval_ns + 1);
    ASSERT_UEQ(t.stats.rate_limited, fires - 1);
    RETURN_OK();
}

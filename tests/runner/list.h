/*
 * The test tables built from tests/test-list.h, and the X-macros that build
 * them. Freestanding: list-core.c uses it inside the guest too.
 *
 * Every table ends with a sentinel entry {NULL, NULL, 0, 0}, so a table
 * whose sections are all still empty is a one-element array rather than an
 * invalid zero-length one; the *_count variables exclude the sentinel.
 */
#ifndef PVTIMER_TEST_RUNNER_LIST_H
#define PVTIMER_TEST_RUNNER_LIST_H

#include <stddef.h>

#include "runner/test.h"

/* X-macro bodies for the PVT_TEST_LIST* tables. */
#define PVT_TEST_X_DECLARE(name, flags, timeout_ms) TEST_DECLARE(name)
#define PVT_TEST_X_ENTRY(name, flags, timeout_ms)                              \
    {#name, run_test_##name, (flags), (timeout_ms)},
#define PVT_TEST_X_CHECK_CORE(name, flags, timeout_ms)                         \
    _Static_assert((PVT_TEST_HOST & (flags)) == 0,                             \
                   "test " #name " is flagged PVT_TEST_HOST but listed in a "  \
                   "core section of tests/test-list.h");

/*
 * The freestanding tests (PVT_TEST_LIST_CORE), in table order, for a runner
 * inside the guest; pvt_core_tests[pvt_core_tests_count] is the sentinel.
 * Defined in list-core.c.
 */
extern const struct pvt_test_entry pvt_core_tests[];
extern const size_t pvt_core_tests_count;

/*
 * Every test (PVT_TEST_LIST: core then host), in table order, for the host
 * runner; pvt_tests[pvt_tests_count] is the sentinel. Defined in list.c.
 */
extern const struct pvt_test_entry pvt_tests[];
extern const size_t pvt_tests_count;

/*
 * The host runner's own fixtures: tests that fail, crash, hang or skip on
 * purpose, run only by `pvtimer-tests --fixtures` so the runner's tests can
 * check what it reports. Not in the test table, never run by default.
 * Defined next to their checks in tests/host/test-runner-host.c.
 */
extern const struct pvt_test_entry pvt_runner_fixtures[];
extern const size_t pvt_runner_fixtures_count;

#endif /* PVTIMER_TEST_RUNNER_LIST_H */

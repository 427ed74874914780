/*
 * The host test table: every test of PVT_TEST_LIST (core, then host), for
 * runner-host.c.
 */
#include "runner/list.h"
#include "runner/test.h"
#include "test-list.h"

PVT_TEST_LIST(PVT_TEST_X_DECLARE)
PVT_TEST_LIST_CORE(PVT_TEST_X_CHECK_CORE)

const struct pvt_test_entry pvt_tests[] = {
    /* each entry ends with its own comma */
    PVT_TEST_LIST(PVT_TEST_X_ENTRY)
    /* the sentinel */
    {NULL, NULL, 0, 0},
};

const size_t pvt_tests_count = PVT_ARRAY_SIZE(pvt_tests) - 1;

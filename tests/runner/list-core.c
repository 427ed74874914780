/*
 * The freestanding test table: every test of PVT_TEST_LIST_CORE, for a
 * runner that has no host (the KVM guest). Compiled freestanding.
 */
#include "runner/list.h"
#include "runner/test.h"
#include "test-list.h"

PVT_TEST_LIST_CORE(PVT_TEST_X_DECLARE)
PVT_TEST_LIST_CORE(PVT_TEST_X_CHECK_CORE)

const struct pvt_test_entry pvt_core_tests[] = {
    /* each entry ends with its own comma */
    PVT_TEST_LIST_CORE(PVT_TEST_X_ENTRY)
    /* the sentinel */
    {NULL, NULL, 0, 0},
};

const size_t pvt_core_tests_count = PVT_ARRAY_SIZE(pvt_core_tests) - 1;

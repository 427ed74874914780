/*
 * Tests of the freestanding harness itself: the string compare the asserts
 * rely on, and every assert macro on inputs that hold (the formatter they
 * print with has its own tests, test-fmt.c). (That failing asserts report both sides is checked on the host, by
 * tests/host/test-runner-host.c, since a failure ends the test.)
 */
#include "runner/test.h"

/* pvt_test__strcmp: sign of the first difference as unsigned char; NULL
 * sorts before every string, including "". */
TEST_IMPL(runner_strcmp)
{
    ASSERT_EQ(pvt_test__strcmp("abc", "abc"), 0);
    ASSERT_EQ(pvt_test__strcmp("", ""), 0);
    ASSERT_EQ(pvt_test__strcmp("abc", "abd"), -1);
    ASSERT_EQ(pvt_test__strcmp("abd", "abc"), 1);
    ASSERT_EQ(pvt_test__strcmp("ab", "abc"), -1);
    ASSERT_EQ(pvt_test__strcmp("abc", "ab"), 1);
    ASSERT_EQ(pvt_test__strcmp("\x80", "a"), 1);
    ASSERT_EQ(pvt_test__strcmp("a", "\xff"), -1);
    ASSERT_EQ(pvt_test__strcmp(NULL, NULL), 0);
    ASSERT_EQ(pvt_test__strcmp(NULL, ""), -1);
    ASSERT_EQ(pvt_test__strcmp("", NULL), 1);
    RETURN_OK();
}

static int calls;

static int64_t count_call(int64_t v)
{
    calls++;
    return v;
}

/* Every assert macro on inputs that hold, each operand evaluated once. */
TEST_IMPL(runner_asserts_pass)
{
    int object = 0;
    const char *str = "pvtimer";
    const char *none = NULL;

    ASSERT(1 + 1 == 2);
    ASSERT_TRUE(str != NULL);
    ASSERT_FALSE(str == NULL);

    ASSERT_EQ(-1, -1);
    ASSERT_NE(INT64_MIN, INT64_MAX);
    ASSERT_LT(INT64_MIN, 0);
    ASSERT_LE(0, 0);
    ASSERT_GT(0, -1);
    ASSERT_GE(INT64_MAX, INT64_MAX);

    /* unsigned: no sign extension surprises at the top of the range */
    ASSERT_UEQ(UINT64_MAX, UINT64_MAX);
    ASSERT_UNE(UINT64_MAX, 0);
    ASSERT_ULT(0, UINT64_MAX);
    ASSERT_ULE(1, 1);
    ASSERT_UGT((uint64_t)1 << 63, INT64_MAX);
    ASSERT_UGE(UINT64_MAX, 0);

    ASSERT_PTR_EQ(&object, &object);
    ASSERT_PTR_NE(&object, str);
    ASSERT_NULL(none);
    ASSERT_NOT_NULL(str);

    ASSERT_STR_EQ(str, "pvtimer");
    ASSERT_STR_EQ(none, NULL);

    ASSERT_OK(0);
    ASSERT_ERR(-PVT_EINVAL, PVT_EINVAL);

    ASSERT_NEAR(100, 105, 5);
    ASSERT_NEAR(105, 100, 5);
    ASSERT_NEAR(-3, 3, 6);
    /* the largest distance that can hold; larger ones are checked to fail
     * by the fixture_fail_near run in tests/host/test-runner-host.c */
    ASSERT_NEAR(INT64_MIN, -1, INT64_MAX);
    ASSERT_NEAR(INT64_MAX, INT64_MAX, 0);

    calls = 0;
    ASSERT_EQ(count_call(3), count_call(3));
    ASSERT_UEQ(count_call(4), 4);
    ASSERT_NEAR(count_call(10), count_call(11), count_call(1));
    ASSERT_EQ(calls, 6);
    RETURN_OK();
}

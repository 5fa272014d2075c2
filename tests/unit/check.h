/* check.h - minimal TAP output for C unit tests: every CHECK prints "ok N - what" or
 * "not ok N - what" and the exit status is non-zero when any failed. tests/run-all counts the
 * lines. Owner: tests. */
#ifndef SG_CHECK_H
#define SG_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        int check_ok_ = (cond) ? 1 : 0;                                                         \
        printf("%sok %d - ", check_ok_ ? "" : "not ", ++check_n);                               \
        printf(__VA_ARGS__);                                                                    \
        printf("%s\n", check_ok_ ? "" : " [" #cond "] at " __FILE__ ":" CHECK_STR(__LINE__)); \
        if (!check_ok_)                                                                         \
            check_failed++;                                                                     \
    } while (0)
#define CHECK_STR2(x) #x
#define CHECK_STR(x) CHECK_STR2(x)
#define CHECK_DONE() (printf("1..%d\n", check_n), check_failed ? 1 : 0)

#endif

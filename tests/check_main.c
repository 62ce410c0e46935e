/*
 * Test runner: every Check suite of tests/ in one program, check_bbm.
 *
 * Each tests/check_<module>.c defines Suite *make_<module>_suite(void).
 * tests/SConscript finds them and generates suites.h in the build dir,
 * one X(<module>) line per suite, so a new test file needs no edit here.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define X(module) Suite *make_##module##_suite(void);
#include "suites.h"
#undef X

/* Suite constructors in file-name order, NULL-terminated. */
static Suite *(*const suite_makers[])(void) = {
#define X(module) make_##module##_suite,
#include "suites.h"
#undef X
	NULL,
};

int main(void)
{
	SRunner *sr;
	int failed;
	size_t i;

	/* Unbuffered, so runner and test output keep their order. */
	setvbuf(stdout, NULL, _IONBF, 0);

	sr = srunner_create(NULL);
	for (i = 0; suite_makers[i]; i++)
		srunner_add_suite(sr, suite_makers[i]());

	/* Each test in its own process; CK_FORK=no (for gdb) still wins. */
	if (!getenv("CK_FORK"))
		srunner_set_fork_status(sr, CK_FORK);

	/* CK_ENV: CK_NORMAL unless CK_VERBOSITY asks for another level. */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

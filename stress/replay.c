// SPDX-License-Identifier: GPL-2.0
/* --replay FILE.json (under construction). */
#include <stdio.h>

#include "stress/scenario.h"

int bbm_replay(const struct bbm_options *opt)
{
	(void)opt;
	fprintf(stderr, "bbmstress: --replay is not built yet\n");
	return 2;
}

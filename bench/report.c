/* The table of `make bench`: medians and minimums of each workload's
 * samples, ratios to memcpy and to criu, printed a row at a time. Running
 * the workloads is runner.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/statfs.h>

#include "floor.h"
#include "reference.h"
#include "report.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- the table ------------------------------------------------------- */

enum field { F_DUMP, F_RESTORE, F_DUMP_RSS, F_RESTORE_RSS, F_IMAGE, F_PAGES, F_PASS, F_FREEZE };

static double field(const struct sample *s, enum field f)
{
	switch (f) {
	case F_DUMP: return s->dump_s;
	case F_RESTORE: return s->restore_s;
	case F_DUMP_RSS: return s->dump_rss_mib;
	case F_RESTORE_RSS: return s->restore_rss_mib;
	case F_IMAGE: return s->image_bytes / (double)MIB;
	case F_PAGES: return s->page_bytes;
	case F_PASS: return s->pass_s;
	case F_FREEZE: return s->freeze_s;
	}
	return 0;
}

static void stats(const struct result *r, enum field f, double *median, double *min)
{
	double v[MAX_RUNS];

	for (int i = 0; i < r->nr; i++)
		v[i] = field(&r->s[i], f);
	qsort(v, r->nr, sizeof(v[0]), cmp_double);
	*median = v[r->nr / 2];
	*min = v[0];
}

const char *fs_name(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return "unknown";
	switch ((unsigned long)st.f_type) {
	case TMPFS_MAGIC: return "tmpfs, in memory";
	case 0xEF53: return "ext4, on disk";
	case 0x58465342: return "xfs, on disk";
	case 0x9123683E: return "btrfs, on disk";
	default: return "on disk?";
	}
}

#define COL_NAME 38

void print_header(bool with_criu)
{
	printf("%-*s %9s %17s %8s %17s %9s %8s %8s %13s %8s %8s %8s %8s %8s", COL_NAME,
	       "workload", "image MiB", "dump s (min)", "frozen s", "restore s (min)", "memcpy s",
	       "dump/cp", "rest/cp", "floor d/r s", "dump/fl", "rest/fl", "RSS dmp", "RSS rst",
	       "pass s");
	if (with_criu)
		printf(" %17s %8s %17s %8s %8s %8s", "criu dump s", "frozen s", "criu restore s",
		       "dump c/c", "rest c/c", "frz c/c");
	printf("\n");
}

void print_row(const char *name, const char *image_parent, const struct result *cryo,
	       const struct result *criu, int nr_runs, bool *footnote_small)
{
	double dump, dump_min, rest, rest_min, img, img_min, rss_d, rss_r, pages, pass, frz, x;
	double cp = 0, cp_min = 0;
	char ratio_d[16] = "-", ratio_r[16] = "-", cpbuf[16] = "-", passbuf[16] = "-";
	char frzbuf[16] = "-", floorbuf[32] = "-", floor_d[16] = "-", floor_r[16] = "-";
	double fl_dump, fl_rest;

	printf("%-*s ", COL_NAME, name);
	if (cryo->outcome != OUT_OK) {
		printf("%s: %s\n", cryo->outcome == OUT_UNSUPPORTED ? "unsupported" : "FAIL",
		       cryo->why);
		return;
	}
	stats(cryo, F_DUMP, &dump, &dump_min);
	stats(cryo, F_RESTORE, &rest, &rest_min);
	stats(cryo, F_IMAGE, &img, &img_min);
	stats(cryo, F_DUMP_RSS, &rss_d, &x);
	stats(cryo, F_RESTORE_RSS, &rss_r, &x);
	stats(cryo, F_PAGES, &pages, &x);
	stats(cryo, F_PASS, &pass, &x);
	stats(cryo, F_FREEZE, &frz, &x);
	if (frz >= 0)
		snprintf(frzbuf, sizeof(frzbuf), "%.3f", frz);
	if (pass >= 0)
		snprintf(passbuf, sizeof(passbuf), "%.3f", pass);
	if (pages >= RATIO_MIN_BYTES && memcpy_seconds((uint64_t)pages, nr_runs, &cp, &cp_min)) {
		snprintf(cpbuf, sizeof(cpbuf), "%.4f", cp);
		snprintf(ratio_d, sizeof(ratio_d), "%.1f", dump / cp);
		snprintf(ratio_r, sizeof(ratio_r), "%.1f", rest / cp);
		if (floor_seconds(image_parent, (uint64_t)pages, nr_runs, &fl_dump, &fl_rest)) {
			snprintf(floorbuf, sizeof(floorbuf), "%.3f/%.3f", fl_dump, fl_rest);
			snprintf(floor_d, sizeof(floor_d), "%.1f", dump / fl_dump);
			snprintf(floor_r, sizeof(floor_r), "%.1f", rest / fl_rest);
		}
	} else {
		snprintf(ratio_d, sizeof(ratio_d), "-");
		snprintf(ratio_r, sizeof(ratio_r), "-");
		*footnote_small = true;
	}
	printf("%9.1f %8.3f (%6.3f) %8s %8.3f (%6.3f) %9s %8s %8s %13s %8s %8s %8.0f %8.0f %8s",
	       img, dump, dump_min, frzbuf, rest, rest_min, cpbuf, ratio_d, ratio_r, floorbuf,
	       floor_d, floor_r, rss_d, rss_r, passbuf);
	if (criu) {
		double cd, cd_min, cr, cr_min, cf;
		char cfbuf[16] = "-", frz_ratio[16] = "-";

		if (criu->outcome != OUT_OK) {
			printf("  criu %s: %s", criu->outcome == OUT_UNSUPPORTED ? "refused" : "FAIL",
			       criu->why);
		} else {
			stats(criu, F_DUMP, &cd, &cd_min);
			stats(criu, F_RESTORE, &cr, &cr_min);
			stats(criu, F_FREEZE, &cf, &x);
			if (cf >= 0)
				snprintf(cfbuf, sizeof(cfbuf), "%.3f", cf);
			if (cf > 0 && frz >= 0)
				snprintf(frz_ratio, sizeof(frz_ratio), "%.2f", frz / cf);
			printf(" %8.3f (%6.3f) %8s %8.3f (%6.3f) %8.2f %8.2f %8s", cd, cd_min,
			       cfbuf, cr, cr_min, dump / cd, rest / cr, frz_ratio);
		}
	}
	printf("\n");
	fflush(stdout);
}

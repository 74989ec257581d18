/* The progress line of a dump or restore on a terminal: the stage, the
 * processes done of all, the bytes done of all and the rate, rewritten in
 * place on stderr at most every 100 ms. Drawn from the counters of struct
 * stats as they change (per batch of pages or per process, never per
 * page); with stderr not a terminal, or -q, it is never started and costs
 * a NULL test. Log messages to stderr clear it first (the log's hook is
 * given the line, which lives in the dump's or restore's struct stats). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "stats/stats.h"

#define REDRAW_NS 100000000ull

struct progress {
	uint64_t last_draw_ns;
	bool drawn;		/* the line is on the terminal now */
};

static void say(const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, text, len);

		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* The log's hook: the line goes before a message is written to stderr. */
static void progress_clear(void *arg)
{
	struct progress *line = arg;

	if (line->drawn) {
		say("\r\033[K", 4);
		line->drawn = false;
	}
}

void progress_start(struct stats *st, bool quiet)
{
	if (quiet || !isatty(STDERR_FILENO))
		return;
	/* Without memory there is no line, and nothing else is lost. */
	st->progress = calloc(1, sizeof(*st->progress));
	if (st->progress)
		log_set_stderr_hook(progress_clear, st->progress);
}

/* @bytes as "123.4 MiB". */
static void human(char *buf, size_t size, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", bytes, units[u]);
}

void progress_draw(struct stats *st, bool force)
{
	uint64_t now, done;
	char line[256], done_text[32], all_text[32], rate_text[32];
	const char *stage;
	double secs;
	size_t nr;
	int len;

	if (!st || !st->progress)
		return;
	now = stats_now();
	if (!force && now - st->progress->last_draw_ns < REDRAW_NS)
		return;
	st->progress->last_draw_ns = now;
	done = st->journey == STATS_DUMP ? st->pages_scanned * 4096 : st->bytes_restored;
	secs = (double)(now - st->start_ns) / 1e9;
	stage = stats_stage_name(st, st->stage, &nr);
	human(done_text, sizeof(done_text), (double)done);
	human(all_text, sizeof(all_text), (double)st->bytes_total);
	human(rate_text, sizeof(rate_text), secs > 0 ? (double)done / secs : 0);
	len = snprintf(line, sizeof(line), "\rcryo %s: %-9s %zu/%zu processes  %s of %s%s  %s/s\033[K",
		       st->journey == STATS_DUMP ? "dump" : "restore", stage, st->tasks_done,
		       st->tasks_all, done_text, st->bytes_total_estimated ? "~" : "", all_text,
		       rate_text);
	if (len > 0)
		say(line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	st->progress->drawn = true;
}

void progress_stop(struct stats *st)
{
	if (!st->progress)
		return;
	progress_draw(st, true);
	say("\n", 1);
	log_set_stderr_hook(NULL, NULL);
	free(st->progress);
	st->progress = NULL;
}

/* Unit tests of the shared readers in src/common: the one text-file reader
 * (any size, procfs included), the one /proc/PID/stat parser (a comm
 * with spaces and parentheses, signed fields, short or damaged files) and
 * the maps line parser (against sscanf's reading of this process's maps). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test_images_util.h"
#include "common/procfs.h"
#include "common/textfile.h"

TEST(text_file_of_any_size_is_read_whole)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL, *want = NULL, *got = NULL, *none = NULL;
	const size_t len = 3 * 4096 + 123;

	CHECK(tmp && (path = path_join(tmp, "big.txt")) && (want = malloc(len + 1)), "setup");
	for (size_t i = 0; i < len; i++)
		want[i] = (char)('a' + i % 26);
	want[len] = '\0';
	CHECK(!write_file(path, want, len), "write");
	CHECK(!read_text_file(path, &got), "read");
	CHECK(strlen(got) == len && !strcmp(got, want), "got %zu bytes", strlen(got));
	CHECK(read_text_file("/nonexistent/file", &none) == -ENOENT && !none, "missing file");
}

TEST(text_file_reads_procfs_past_a_page)
{
	_cleanup_free_ char *maps = NULL;
	size_t lines = 0;

	/* smaps of this process is many pages, generated a page per read. */
	CHECK(!read_text_file("/proc/self/smaps", &maps), "read");
	for (const char *p = maps; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK(strlen(maps) > 4096 && lines > 40, "%zu bytes, %zu lines", strlen(maps), lines);
	CHECK(maps[strlen(maps) - 1] == '\n', "cut short");
}

/* A stat line with every field numbered by its position, after @comm. */
static char *stat_line(const char *comm)
{
	char *line = NULL, *more;

	if (asprintf(&line, "1234 (%s) S", comm) < 0)
		return NULL;
	for (int field = 4; field <= 52; field++) {
		long value = field == 8 ? -1 : field * 1000L;

		if (asprintf(&more, "%s %ld", line, value) < 0) {
			free(line);
			return NULL;
		}
		free(line);
		line = more;
	}
	more = NULL;
	if (asprintf(&more, "%s\n", line) < 0)
		more = NULL;
	free(line);
	return more;
}

TEST(stat_fields_count_from_the_last_parenthesis)
{
	_cleanup_free_ char *line = stat_line("a) (b c) S 1 2");
	struct proc_stat st;

	CHECK(line, "memory");
	CHECK(!proc_stat_parse(line, &st), "refused: %s", line);
	CHECK(st.state == 'S' && st.ppid == 4000 && st.pgid == 5000 && st.sid == 6000,
	      "state %c ppid %d pgid %d sid %d", st.state, st.ppid, st.pgid, st.sid);
	CHECK(st.tty_nr == 7000 && st.exit_signal == 38000 && st.exit_code == 52000,
	      "tty %d signal %u code %d", st.tty_nr, st.exit_signal, st.exit_code);
	CHECK(st.start_code == 26000 && st.end_code == 27000 && st.start_stack == 28000 &&
	      st.start_data == 45000 && st.end_data == 46000 && st.start_brk == 47000 &&
	      st.arg_start == 48000 && st.arg_end == 49000 && st.env_start == 50000 &&
	      st.env_end == 51000, "mm fields");
}

TEST(stat_refuses_short_or_damaged_text)
{
	_cleanup_free_ char *line = stat_line("x");
	struct proc_stat st;
	char *cut;

	CHECK(line, "memory");
	CHECK(proc_stat_parse("1234 (x", &st) == -EIO, "no ')'");
	CHECK(proc_stat_parse("1234 (x)", &st) == -EIO, "no state");
	cut = strrchr(line, ' ');
	*cut = '\0';		/* field 52 gone */
	CHECK(proc_stat_parse(line, &st) == -EIO, "51 fields accepted");
	*cut = ' ';
	cut[1] = 'z';		/* field 52 not a number */
	CHECK(proc_stat_parse(line, &st) == -EIO, "a letter accepted");
}

TEST(stat_of_this_process_matches_what_it_knows)
{
	struct proc_stat st;

	CHECK(!proc_stat_read(getpid(), &st), "read");
	CHECK(st.state == 'R' && st.ppid == getppid() && st.pgid == getpgrp() &&
	      st.sid == getsid(0), "state %c ppid %d pgid %d sid %d", st.state, st.ppid, st.pgid,
	      st.sid);
	CHECK(st.start_code && st.start_code < st.end_code && st.arg_start < st.arg_end,
	      "mm fields %#llx-%#llx", (unsigned long long)st.start_code,
	      (unsigned long long)st.end_code);
	CHECK(proc_stat_read(-5, &st) == -ENOENT, "pid -5");
}

TEST(maps_lines_parse_as_sscanf_reads_them)
{
	char line[] = "7f0a12345000-7f0a12346000 r-xp 0001a000 fd:01 1234567    /usr/lib/a b.so\n";
	struct proc_maps_line m;
	char *text = NULL;
	size_t cap = 0;
	FILE *f;
	int lines = 0;

	CHECK(proc_maps_line_parse(line, &m), "refused");
	CHECK(m.start == 0x7f0a12345000ull && m.end == 0x7f0a12346000ull && m.pgoff == 0x1a000 &&
	      m.major == 0xfd && m.minor == 1 && m.ino == 1234567 && !strcmp(m.perms, "r-xp") &&
	      !strcmp(m.name, "/usr/lib/a b.so"), "fields %s %s", m.perms, m.name);
	char anon[] = "10000-14000 rw-p 00000000 00:00 0 \n";
	CHECK(proc_maps_line_parse(anon, &m) && !*m.name && m.end == 0x14000, "no name");
	char key[] = "Rss:                  8 kB\n", hex_key[] = "deadbeef-: x\n";
	char bad_perms[] = "10000-14000 rw-q 00000000 00:00 0\n";
	char letters[] = "10000-14000 rw-p 00000000 00:00 12a\n";
	char too_long[] = "12345678901234567-14000 rw-p 00000000 00:00 0\n";
	CHECK(!proc_maps_line_parse(key, &m) && !proc_maps_line_parse(hex_key, &m) &&
	      !proc_maps_line_parse(bad_perms, &m) && !proc_maps_line_parse(letters, &m) &&
	      !proc_maps_line_parse(too_long, &m), "a line that is no maps line was taken");
	/* Every line of a real maps file, as sscanf reads it. */
	f = fopen("/proc/self/maps", "re");
	CHECK(f, "open");
	while (getline(&text, &cap, f) > 0) {
		unsigned long long start, end, pgoff, ino;
		unsigned major, minor;
		char perms[5];
		int off = -1;

		char name[512];

		CHECK(sscanf(text, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &pgoff,
			     &major, &minor, &ino, &off) == 7, "sscanf: %s", text);
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(text + off, "\n"), text + off);
		CHECK(proc_maps_line_parse(text, &m), "refused: %s", text);
		CHECK(m.start == start && m.end == end && m.pgoff == pgoff && m.major == major &&
		      m.minor == minor && m.ino == ino && !strcmp(m.perms, perms) &&
		      !strcmp(m.name, name), "differs: %s", text);
		lines++;
	}
	free(text);
	fclose(f);
	CHECK(lines > 5, "%d lines", lines);
}

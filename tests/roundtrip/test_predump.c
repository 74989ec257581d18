/* criu's pre-dump and incremental dumps through the cryo binary:
 * prog_predump changes part of its memory between pre-dumps and the dump
 * (pages written, a range mapped anew, a range unmapped, a page set back);
 * the dump with --track-mem --prev-images-dir writes only what changed,
 * and restore brings every page back from the set that holds it. A chain
 * of two pre-dumps, restored lazily; a parent set altered or missing
 * refuses the restore by name, before any process exists. Parsing is
 * test_criu_options'; the RPC's PRE_DUMP is test_rpc's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* The program's area: 512 pages, of which phase 1 writes 48 again. */
#define AREA_PAGES 512

static bool size_of(const char *dir, const char *kind, pid_t pid, long long *size)
{
	char path[PATH_MAX];
	struct stat st;

	pathf(path, "%s/%s-%d.img", dir, kind, pid);
	if (stat(path, &st))
		return fail_why("%s: %s", path, strerror(errno));
	*size = st.st_size;
	return true;
}

/* cryo @cmd (pre-dump or dump) of @p into @p->dir/@name, with
 * --prev-images-dir @parent unless NULL. */
static bool dump_into(struct prog *p, const char *cmd, const char *name, const char *parent)
{
	char img[PATH_MAX], pid_text[16];
	struct cryo_run r;

	pathf(img, "%s/%s", p->dir, name);
	snprintf(pid_text, sizeof(pid_text), "%d", p->pid);
	if (parent)
		prog_cryo(&r, p, cmd, "-t", pid_text, "-D", img, "--track-mem",
			  "--prev-images-dir", parent);
	else
		prog_cryo(&r, p, cmd, "-t", pid_text, "-D", img);
	if (r.status)
		return fail_why("%s into %s failed (%d): %s", cmd, img, r.status, r.out);
	/* A dump kills the tree: its pid is free for the restore once reaped. */
	if (!strcmp(cmd, "dump"))
		waitpid(p->pid, NULL, 0);
	return true;
}

/* A pre-dump leaves the program running, untraced. */
static bool runs_on(pid_t pid)
{
	unsigned long long tracer = 1;

	if (kill(pid, 0))
		return fail_why("pid %d is gone after its pre-dump", pid);
	if (!proc_status_number(pid, "TracerPid", 10, &tracer) || tracer)
		return fail_why("pid %d is traced by %llu after its pre-dump", pid, tracer);
	return true;
}

/* A dump with a parent that its post-dump action script refuses fails and
 * leaves neither inventory nor parent link; the program runs on. */
static bool failed_dump_leaves_no_link(struct prog *p)
{
	char script[PATH_MAX], img[PATH_MAX], pid_text[16];
	struct cryo_run r;
	struct stat st;
	FILE *f;

	pathf(script, "%s/refuse-post-dump", p->dir);
	pathf(img, "%s/img-refused", p->dir);
	f = fopen(script, "we");
	if (!f)
		return fail_why("%s: %s", script, strerror(errno));
	fprintf(f, "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] && exit 1\nexit 0\n");
	fclose(f);
	chmod(script, 0700);
	snprintf(pid_text, sizeof(pid_text), "%d", p->pid);
	prog_cryo(&r, p, "dump", "-t", pid_text, "-D", img, "--prev-images-dir", "../pre",
		  "--action-script", script);
	if (!refused(&r, "post-dump", NULL))
		return false;
	pathf(script, "%s/parent", img);
	if (!lstat(script, &st) || !no_inventory(img))
		return fail_why("a failed dump left %s or its inventory", script);
	return runs_on(p->pid);
}

/* Restores @img (lazily with @lazy); the program, back at @pid, passes. */
static bool restores_and_passes(struct prog *p, pid_t pid, const char *img, bool lazy)
{
	struct cryo_run r;

	if (lazy)
		prog_cryo(&r, p, "restore", "-D", img, "-d", "--lazy-pages");
	else
		prog_cryo(&r, p, "restore", "-D", img, "-d");
	if (r.status)
		return fail_why("restore of %s failed (%d): %s", img, r.status, r.out);
	p->pid = pid;
	return prog_passes(p);
}

TEST(a_dump_after_a_pre_dump_writes_only_changed_pages_and_restores_every_page)
{
	char pre[PATH_MAX], img[PATH_MAX], link[PATH_MAX];
	long long pre_size = 0, size = 0;
	struct prog p = { 0 };
	ssize_t n;
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_predump", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre", NULL) && runs_on(pid), out, "%s", why);
	pathf(pre, "%s/pre", p.dir);
	CHECK_GOTO(size_of(pre, "pages", pid, &pre_size) &&
		   exists(pre, "inventory.img") && !exists(pre, "core-1.img"), out, "%s", why);
	CHECK_GOTO(pre_size >= AREA_PAGES * 4096LL, out, "the pre-dump saved %lld bytes",
		   pre_size);
	CHECK_GOTO(prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(failed_dump_leaves_no_link(&p), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "dump", "img", "../pre"), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	pathf(link, "%s/parent", img);
	n = readlink(link, pre, sizeof(pre) - 1);
	CHECK_GOTO(n == 6 && !memcmp(pre, "../pre", 6), out, "%s does not lead to ../pre", link);
	/* 48 pages changed, besides the stack and libc's data: far below the
	 * area's 512. */
	CHECK_GOTO(size_of(img, "pages", pid, &size), out, "%s", why);
	CHECK_GOTO(size < 160 * 4096LL && size < pre_size / 3, out,
		   "the dump wrote %lld bytes of pages, the pre-dump %lld", size, pre_size);
	CHECK_GOTO(restores_and_passes(&p, pid, img, false), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_chain_of_two_pre_dumps_restores_lazily)
{
	char img[PATH_MAX], pre1[PATH_MAX], pre2[PATH_MAX];
	long long size1 = 0, size2 = 0;
	struct prog p = { 0 };
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_predump", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre1", NULL) && prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre2", "../pre1") && runs_on(pid), out, "%s",
		   why);
	CHECK_GOTO(prog_next_phase(&p, 2), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "dump", "img", "../pre2"), out, "%s", why);
	pathf(pre1, "%s/pre1", p.dir);
	pathf(pre2, "%s/pre2", p.dir);
	CHECK_GOTO(size_of(pre1, "pages", pid, &size1) && size_of(pre2, "pages", pid, &size2),
		   out, "%s", why);
	CHECK_GOTO(size2 < size1 / 3, out, "the second pre-dump wrote %lld bytes, the first %lld",
		   size2, size1);
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(restores_and_passes(&p, pid, img, true), out, "%s", why);
out:
	end_prog(&p);
}

/* Flips one byte of @path at @off. */
static bool flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char c;
	bool ok;

	ok = fd >= 0 && pread(fd, &c, 1, off) == 1;
	c ^= 0x5a;
	ok = ok && pwrite(fd, &c, 1, off) == 1;
	if (fd >= 0)
		close(fd);
	return ok ? true : fail_why("cannot change %s", path);
}

TEST(a_parent_set_altered_or_missing_refuses_the_restore_naming_it)
{
	char img[PATH_MAX], pre[PATH_MAX], moved[PATH_MAX], pages[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_predump", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre", NULL) && prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "dump", "img", "../pre"), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	pathf(pre, "%s/pre", p.dir);
	pathf(moved, "%s/pre-moved", p.dir);
	/* A pre-dump alone is no tree to restore. */
	prog_cryo(&r, &p, "restore", "-D", pre, "-d");
	CHECK_GOTO(refused(&r, "is a pre-dump", NULL), out, "%s", why);
	CHECK_GOTO(!rename(pre, moved), out, "rename: %s", strerror(errno));
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(refused(&r, "/img/parent", "parent image set", "cannot be opened", NULL), out,
		   "%s", why);
	CHECK_GOTO(kill(pid, 0) && errno == ESRCH, out, "pid %d exists after a refusal", pid);
	CHECK_GOTO(!rename(moved, pre), out, "rename back: %s", strerror(errno));
	pathf(pages, "%s/pages-%d.img", pre, pid);
	CHECK_GOTO(flip_byte(pages, 4096 * 3 + 17), out, "%s", why);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(refused(&r, "pages-", "digest differs", "parent image set", NULL), out, "%s",
		   why);
	CHECK_GOTO(kill(pid, 0) && errno == ESRCH, out, "pid %d exists after a refusal", pid);
out:
	end_prog(&p);
}

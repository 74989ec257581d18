/* State that dump refuses by name, with the dumped program unharmed: an
 * epoll watching a file no process of the tree holds or one only its
 * holder can open (a thread's pidfd), a deleted file over --ghost-limit,
 * and a file unlinked from its path that other links keep, without
 * --link-remap (and the links --link-remap makes, gone after a restore or
 * a failed dump). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* Dump of program @name is refused, naming an fd of its root process and
 * giving @reason, and the program runs on unharmed. */
static void refused_naming_an_fd(const char *name, const char *reason)
{
	struct prog p = { 0 };
	char expect[64];

	CHECK_GOTO(start_prog(&p, name, NULL, NULL), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d fd ", p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, reason), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* The file lives on in a message in flight only: no fd table of the tree
 * holds it, and the kernel gives no way to reach it from the epoll. */
TEST(dump_refuses_an_epoll_target_no_process_holds)
{
	refused_naming_an_fd("neg_epoll_lost_target",
			     "that no process of the dump holds in its fd table: only the epoll (a "
			     "message in flight, or a mapping) keeps it");
}

/* The file only a child holds is a thread's pidfd, which only its holder
 * can open at restore: cryo cannot open it for the epoll's process too. */
TEST(dump_refuses_an_epoll_target_only_its_holder_can_open)
{
	refused_naming_an_fd("neg_epoll_thread_pidfd",
			     "a pidfd (anon_inode:[pidfd]) that only its own process can open: not "
			     "supported");
}

/* criu's --ghost-limit: a deleted file larger than the limit is refused by
 * name, and the program is unharmed; with a limit above its size the same
 * file is saved. prog_ghost_files holds a deleted file of 64 MiB. */
TEST(ghost_limit_refuses_a_larger_deleted_file)
{
	char img[PATH_MAX], inventory[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_ghost_files", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/small", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--ghost-limit", "1M");
	CHECK_GOTO(r.status > 0 && r.status < 128, out, "dump exited with %d: %s", r.status, r.out);
	CHECK_GOTO(strstr(r.out, "deleted file of 67108864 bytes, more than --ghost-limit 1048576"),
		   out, "no reason given: %s", r.out);
	pathf(inventory, "%s/inventory.img", img);
	CHECK_GOTO(access(inventory, F_OK) && errno == ENOENT, out, "the refused dump left %s",
		   inventory);
	pathf(img, "%s/big", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "-R", "--ghost-limit", "64M",
		  "--link-remap");
	CHECK_GOTO(r.status == 0, out, "dump with a limit of 64M failed (%d): %s", r.status, r.out);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(ghost_limit_that_is_not_a_size_is_a_usage_error)
{
	char img[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_ghost_files", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--ghost-limit", "12Q");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "'12Q' is not a size"), out,
		   "exit %d: %s", r.status, r.out);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* The link remaps --link-remap made in @dir (prog_ghost_files's own). */
static int link_remaps_in(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, ".cryo-link-remap.", 17);
	if (d)
		closedir(d);
	return d ? n : -1;
}

/* prog_ghost_files's fd 3 is a file whose path was unlinked while a
 * second link keeps it: without --link-remap, refused naming the option
 * (criu's behaviour). With it, its two unlinked files (an fd's, a
 * mapping's) get a link each beside them, which the restore removes; a
 * dump refused after making one (the ghost over --ghost-limit comes after
 * fd 3) removes it too. */
TEST(link_remap_needed_and_its_links_gone_after_a_restore_or_a_failed_dump)
{
	char img[PATH_MAX], pidfile[PATH_MAX], pid_text[16], expect[64];
	struct prog p = { 0 };
	struct cryo_run r;
	int status;

	CHECK_GOTO(start_prog(&p, "neg_link_remap", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	snprintf(expect, sizeof(expect), "dump: pid %d fd 3 (", p.pid);
	pathf(img, "%s/plain", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(refused(&r, expect, "has 1 other links: dump with --link-remap", NULL) &&
		   no_inventory(img), out, "%s", why);
	CHECK_GOTO(link_remaps_in(p.dir) == 0, out, "a refused dump left %d link remaps",
		   link_remaps_in(p.dir));
	pathf(img, "%s/refused", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--link-remap", "--ghost-limit",
		  "1M");
	CHECK_GOTO(r.status > 0 && r.status < 128 && strstr(r.out, "more than --ghost-limit"),
		   out, "dump exited with %d: %s", r.status, r.out);
	CHECK_GOTO(link_remaps_in(p.dir) == 0, out, "the failed dump left %d link remaps",
		   link_remaps_in(p.dir));
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "--link-remap");
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	CHECK_GOTO(link_remaps_in(p.dir) == 2, out, "the dump made %d link remaps, not 2",
		   link_remaps_in(p.dir));
	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	CHECK_GOTO(link_remaps_in(p.dir) == 0, out, "the restore left %d link remaps",
		   link_remaps_in(p.dir));
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

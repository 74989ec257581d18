/* A dump writes each image once: cmd_dump() of a tree of processes that
 * share a pipe and each have their own fds, watched with inotify on the
 * image directory, renames files.img into place once, and each process's
 * fds-PID.img once. The dump state lives in the dump's context, not in
 * statics carried from one process to the next. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test_images_util.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/log.h"

#define TREE_SIZE 12

/* The root of the tree: forks TREE_SIZE - 1 children that each hold the
 * shared pipe and a pipe of their own, says it is ready, and waits. */
static void __attribute__((noreturn)) tree_root(int ready)
{
	int shared[2];

	/* A session of its own, which restore could make again. */
	if (setsid() < 0 || pipe(shared))
		_exit(1);
	for (int i = 1; i < TREE_SIZE; i++) {
		pid_t child = fork();
		int own[2];

		if (child < 0)
			_exit(1);
		if (child == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (pipe(own))
				_exit(1);
			for (;;)
				pause();
		}
	}
	if (write(ready, "R", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* How many times inotify saw @name moved into place, and the fds-*.img. */
static void count_renames(int in, const char *name, int *named, int *fds_images)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (char *at = buf; at < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)at;

			if (ev->len && (ev->mask & IN_MOVED_TO)) {
				*named += !strcmp(ev->name, name);
				*fds_images += !strncmp(ev->name, "fds-", 4);
			}
			at += sizeof(*ev) + ev->len;
		}
	}
}

TEST(files_img_is_written_once_for_a_tree)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	struct cryo_opts opts = { .command = "dump" };
	int ready[2] = { -1, -1 }, in = -1, files = 0, fds_images = 0, ret;
	pid_t root = -1;
	char c;

	CHECK(dir_path, "no image directory");
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(in >= 0, "inotify_init1: %s", strerror(errno));
	/* inotify merges an event with the one before it when they are the
	 * same (the cookie aside): the temporary files' creation and move
	 * between two renames onto files.img keep both renames apart. */
	CHECK_GOTO(inotify_add_watch(in, dir_path, IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO) >= 0,
		   out, "inotify_add_watch: %s", strerror(errno));
	CHECK_GOTO(!pipe(ready), out, "pipe: %s", strerror(errno));
	root = fork();
	CHECK_GOTO(root >= 0, out, "fork: %s", strerror(errno));
	if (root == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		tree_root(ready[1]);
	}
	close(ready[1]);
	ready[1] = -1;
	CHECK_GOTO(read(ready[0], &c, 1) == 1, out, "the tree did not start");
	opts.pid = root;
	opts.images_dir = dir_path;
	log_set_level(LOG_ERROR);
	ret = cmd_dump(&opts);
	CHECK_GOTO(ret == 0, out, "the dump of the tree failed");
	count_renames(in, "files.img", &files, &fds_images);
	CHECK_GOTO(fds_images == TREE_SIZE, out, "%d fds-PID.img put in place, want %d", fds_images,
		   TREE_SIZE);
	CHECK_GOTO(files == 1, out, "files.img put in place %d times, want once", files);
out:
	if (root > 0) {
		kill(root, SIGKILL);
		waitpid(root, NULL, 0);
	}
	if (in >= 0)
		close(in);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
}

/* files_load() and files_restore() on hand-written records of what names
 * or joins processes: pidfds (bad records and identities refused by name,
 * targets checked against the tree, opened again by pid) and an fd table
 * shared by tasks, which must hold the same fds. */
#include "test_files_load_util.h"

/* ---- pidfds ------------------------------------------------------------------------ */

static PidfdFile pidfd_part = PIDFD_FILE__INIT;

/* A pidfd object with @id of pid @pid, with @flags. */
static FileEntry pidfd_entry(uint32_t id, int pid, unsigned int flags)
{
	FileEntry e = FILE_ENTRY__INIT;

	pidfd_part.pid = pid;
	e.id = id;
	e.kind = FILE_ENTRY__KIND__PIDFD;
	e.flags = flags;
	e.pidfd = &pidfd_part;
	return e;
}

TEST(bad_pidfd_records_are_refused)
{
	static const struct {
		int pid;
		unsigned int flags;
		uint64_t pos;
		const char *want;
	} cases[] = {
		{ PID, O_RDONLY, 0, "file 1 (pidfd): flags 0 are not a pidfd's" },
		{ PID, O_RDWR | O_DIRECT, 0, "flags 040002 are not a pidfd's" },
		{ PID, O_RDWR | O_CREAT, 0, "file 1 (kind 11, flags 0102): unknown flags" },
		{ PID, O_RDWR, 8, "file 1 (pidfd): a pidfd has no position" },
		{ 0, O_RDWR, 0, "file 1 (pidfd): pid 0 is out of range" },
		{ -2, O_RDWR, 0, "pid -2 is out of range (1 to 4194304, or -1 for a reaped" },
		{ 4194305, O_RDWR, 0, "pid 4194305 is out of range" },
	};
	FdEntry fds[] = { fd_entry(3, 1) };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FileEntry files[] = { pidfd_entry(1, cases[i].pid, cases[i].flags) };

		files[0].pos = cases[i].pos;
		expect_refused(files, 1, fds, 1, cases[i].want);
		if (harness_failed())
			return;
	}
	/* PIDFD_THREAD is O_EXCL: a pidfd's flag, no other kind's. */
	{
		FileEntry files[] = { null_entry(1) };

		files[0].flags = O_RDWR | PIDFD_THREAD;
		expect_refused(files, 1, fds, 1, "file 1 (kind 3, flags 0202): unknown flags");
	}
}

/* Pidfds of one inode name one task; a thread's names its process. */
TEST(bad_pidfd_identities_are_refused)
{
	PidfdFile a = PIDFD_FILE__INIT, b = PIDFD_FILE__INIT;
	FileEntry files[] = { pidfd_entry(1, PID, O_RDWR), pidfd_entry(2, PID, O_RDWR) };
	FdEntry fds[] = { fd_entry(3, 1), fd_entry(4, 2) };

	files[0].pidfd = &a;
	files[1].pidfd = &b;
	a.pid = -1;
	b.pid = PID;
	files[1].has_inode_of = true;
	files[1].inode_of = 1;
	expect_refused(files, 2, fds, 2, "file 2 (pidfd): refers to pid 4242, but shares the "
		       "inode of file 1, which refers to pid -1");
	if (harness_failed())
		return;
	files[1].has_inode_of = false;
	b.pid = PID + 1;
	b.has_thread_of = true;
	b.thread_of = PID;
	expect_refused(files, 2, fds, 2, "file 2 (pidfd): refers to pid 4243 as a thread of pid "
		       "4242: not a thread other than a main thread, opened with PIDFD_THREAD");
	if (harness_failed())
		return;
	files[1].flags = O_RDWR | PIDFD_THREAD;
	b.thread_of = PID + 1;
	expect_refused(files, 2, fds, 2, "refers to pid 4243 as a thread of pid 4243");
}

/* The task a pidfd names must be one the restore makes: a process of the
 * tree, or a thread other than the main one of the process it names. */
TEST(pidfd_targets_are_checked_against_the_tree)
{
	static const struct {
		int pid, thread_of;
		const char *want;	/* NULL: accepted */
	} cases[] = {
		{ PID, 0, NULL },
		{ PID + 1, PID, NULL },
		{ 5000, 0, "restore: pid 4242 fd 3: a pidfd of pid 5000, which the images do not "
			   "hold" },
		{ PID + 2, PID, "restore: pid 4242 fd 3: a pidfd of thread 4244 of pid 4242, "
				"which the images do not hold" },
		{ PID, 5000, "a pidfd of thread 4242 of pid 5000, which the images do not hold" },
	};
	pid_t threads[] = { PID, PID + 1 };
	struct tree_task task = { .pid = PID, .state = TREE_ALIVE, .threads = threads,
				  .nr_threads = 2, .parent = -1 };
	FdEntry fds[] = { fd_entry(3, 1) };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_tree_ char *dir_path = make_temp_dir();
		_cleanup_image_dir_ struct image_dir *dir = NULL;
		FileEntry files[] = { pidfd_entry(1, cases[i].pid, O_RDWR | PIDFD_THREAD) };
		struct restore_task rt = { .pid = PID };
		struct restore_set rs = { .tree = { .tasks = &task, .nr = 1 }, .tasks = &rt };
		char err[1024] = "";
		int ret;

		pidfd_part.has_thread_of = cases[i].thread_of != 0;
		pidfd_part.thread_of = cases[i].thread_of;
		CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
		CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
		ret = load(dir_path, err, sizeof(err), &rt.files);
		pidfd_part.has_thread_of = false;
		CHECK(!ret, "case %zu: load failed: %s", i, err);
		log_capture_errors(err, sizeof(err));
		ret = restore_check_pidfds(&rs);
		log_capture_errors(NULL, 0);
		files_image_free(rt.files);
		if (!cases[i].want)
			CHECK(!ret, "case %zu: refused: %s", i, err);
		else
			CHECK(ret < 0 && strstr(err, cases[i].want), "case %zu: error '%s', want '%s'",
			      i, err, cases[i].want);
	}
}

TEST(pidfds_of_the_task_itself_or_a_reaped_process_load)
{
	static const int pids[] = { PID, -1 };
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FdEntry fds[] = { fd_entry(3, 1) };

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
		FileEntry files[] = { pidfd_entry(1, pids[i], O_RDWR | O_NONBLOCK | PIDFD_THREAD) };
		struct files_image *img = NULL;
		char err[1024] = "";

		CHECK(!write_images(dir, files, 1, fds, 1), "cannot write the images");
		CHECK(!load(dir_path, err, sizeof(err), &img), "pid %d: load failed: %s", pids[i],
		      err);
		files_image_free(img);
	}
}

/* Restore opens a pidfd of a task of the dump by its pid, with its flags:
 * here a helper that stands for another task of the tree. */
TEST(pidfd_of_a_task_of_the_dump_is_opened_by_its_pid)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	FdEntry fds[] = { fd_entry(5, 1) };
	struct files_image *img = NULL;
	char err[1024] = "", want[64];
	pid_t helper, child;
	int st;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	helper = fork();
	if (helper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	CHECK(helper > 0, "fork: %s", strerror(errno));
	{
		FileEntry files[] = { pidfd_entry(1, helper, O_RDWR | O_NONBLOCK | PIDFD_THREAD) };

		CHECK_GOTO(!write_images(dir, files, 1, fds, 1), out, "cannot write the images");
	}
	/* The helper is a task of the dump: it has an fd table. */
	CHECK_GOTO(!write_records(dir, IMG_FDS, helper, NULL, 0), out, "cannot write its fds");
	CHECK_GOTO(!load(dir_path, err, sizeof(err), &img), out, "load failed: %s", err);
	snprintf(want, sizeof(want), "Pid:\t%d", helper);
	shared_msg[0] = '\0';
	child = fork();
	if (child == 0) {
		log_capture_errors(shared_msg, MSG_SIZE);
		if (files_restore(img, NULL, false))
			_exit(2);
		if (expect_link(5, "anon_inode:[pidfd]") || expect_fdinfo(5, want) ||
		    expect_flags(5, O_RDWR | O_NONBLOCK) || expect_cloexec(5, false))
			_exit(1);
		if (!(fcntl(5, F_GETFL) & PIDFD_THREAD)) {
			fail("fd 5: no PIDFD_THREAD");
			_exit(1);
		}
		if (pidfd_send_signal(5, 0, NULL, 0)) {
			fail("fd 5: signal 0: %s", strerror(errno));
			_exit(1);
		}
		_exit(0);
	}
	st = wait_child(child, false);
	CHECK_GOTO(st == 0, out, "the restored child failed (%d): %s", st, shared_msg);
out:
	files_image_free(img);
	kill(helper, SIGKILL);
	waitpid(helper, NULL, 0);
}

/* Loads @fds (of the objects @files) from a directory of its own. */
static int load_table(FileEntry *files, size_t nr_files, FdEntry *fds, size_t nr_fds,
		      struct files_image **out)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	char err[1024] = "";

	if (!dir_path || image_dir_open(dir_path, &dir) ||
	    write_images(dir, files, nr_files, fds, nr_fds))
		return -EIO;
	return load(dir_path, err, sizeof(err), out);
}

/* A process that shares its parent's fd table (CLONE_FILES) must have
 * saved the very same fds: numbers, files and close-on-exec. */
TEST(shared_fd_table_must_hold_the_same_fds)
{
	FileEntry files[] = { null_entry(1), null_entry(2) };
	FdEntry owner_fds[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry same[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry other_file[] = { fd_entry(0, 1), fd_entry(3, 1) };
	FdEntry other_cloexec[] = { fd_entry(0, 1), fd_entry(3, 2) };
	FdEntry extra[] = { fd_entry(0, 1), fd_entry(3, 2), fd_entry(4, 2) };
	struct {
		FdEntry *fds;
		size_t nr;
		bool good;
	} cases[] = {
		{ same, 2, true }, { other_file, 2, false }, { other_cloexec, 2, false },
		{ extra, 3, false },
	};
	struct files_image *owner = NULL;
	char err[1024];

	owner_fds[1].cloexec = same[1].cloexec = other_file[1].cloexec = extra[1].cloexec = true;
	CHECK(!load_table(files, 2, owner_fds, 2, &owner), "the owner's table did not load");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct files_image *member = NULL;
		int ret;

		CHECK_GOTO(!load_table(files, 2, cases[i].fds, cases[i].nr, &member), out,
			   "case %zu did not load", i);
		err[0] = '\0';
		log_capture_errors(err, sizeof(err));
		ret = files_share_table(member, owner);
		log_capture_errors(NULL, 0);
		files_image_free(member);
		CHECK_GOTO(cases[i].good ? ret == 0 : ret == -EBADMSG, out,
			   "case %zu: files_share_table returned %d (%s)", i, ret, err);
		CHECK_GOTO(cases[i].good || strstr(err, "shares its fd table with pid 4242, but "
						   "their saved fds differ"),
			   out, "case %zu: error '%s'", i, err);
	}
out:
	files_image_free(owner);
}

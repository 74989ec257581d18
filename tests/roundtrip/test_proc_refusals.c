/* Per-process state that dump refuses by name, with the dumped program
 * unharmed (issue 11): a fanotify mark of a mount namespace outside the
 * dump, an inotify watch of a deleted file, a lease being broken (a lease that is not being broken is saved:
 * prog_leases), and a cwd no path reaches: on a detached tmpfs, hidden
 * under a mount, on a detached read-only bind whose folder only a
 * writable mount reaches, a removed directory whose folder was removed
 * too or that was a detached mount's root (prog_root_cwd has those that
 * are saved), and a thread's own cwd; fs info a child shares with a
 * thread that has its own. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"

/* @thread: the refusal names a thread, else an fd. */
static void check_refused(const char *name, bool thread, const char *what)
{
	struct prog p = { 0 };
	char expect[64];

	CHECK_GOTO(start_prog(&p, name, NULL, NULL), out, "%s", why);
	if (thread)
		snprintf(expect, sizeof(expect), "dump: pid %d thread ", p.pid);
	else
		snprintf(expect, sizeof(expect), "dump: pid %d fd ", p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, what), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(dump_refuses_a_fanotify_mark_of_a_mount_namespace_outside_the_dump_by_name)
{
	check_refused("neg_fanotify", false, "a mount namespace outside the dump: not supported");
}

#define WATCH_FD 5

/* The program holds an inotify at WATCH_FD watching a file it keeps
 * open and that was deleted: no path leads to it. */
static void watch_a_deleted_file(void *arg)
{
	int in = inotify_init(), file = open((const char *)arg, O_RDONLY | O_CREAT, 0644);

	if (in < 0 || file < 0 || dup2(in, WATCH_FD) != WATCH_FD ||
	    inotify_add_watch(WATCH_FD, (const char *)arg, IN_MODIFY) != 1 || unlink(arg))
		_exit(125);
	if (in != WATCH_FD)
		close(in);
}

TEST(dump_refuses_an_inotify_watch_of_a_deleted_file_by_name)
{
	char expect[64], dir[PATH_MAX], file[PATH_MAX];
	struct prog p = { 0 };

	CHECK(make_temp_dir(dir), "cannot make a directory for the watched file");
	pathf(file, "%s/watched", dir);
	CHECK_GOTO(start_prog(&p, "prog_counter", watch_a_deleted_file, file), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d fd %d ", p.pid, WATCH_FD);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, "watch wd 1 is of a deleted file"), out,
		   "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	remove_temp_dir(dir);
}

#define LEASE_FD 5

/* The program holds a write lease at LEASE_FD whose break signal is
 * SIGURG (ignored by default: SIGIO would end prog_counter). */
static void hold_a_write_lease(void *arg)
{
	int fd = open((const char *)arg, O_RDONLY | O_CREAT, 0644);

	if (fd < 0 || dup2(fd, LEASE_FD) != LEASE_FD || fcntl(LEASE_FD, F_SETSIG, SIGURG) ||
	    fcntl(LEASE_FD, F_SETLEASE, F_WRLCK))
		_exit(125);
	if (fd != LEASE_FD)
		close(fd);
}

/* While another process's open() waits for the holder to give the lease
 * up, there is nothing cryo could take again: refused by name. */
TEST(dump_refuses_a_lease_being_broken_and_the_program_runs_on)
{
	char expect[PATH_MAX + 64], dir[PATH_MAX], file[PATH_MAX];
	struct prog p = { 0 };
	pid_t opener = -1;

	CHECK(make_temp_dir(dir), "cannot make a directory for the leased file");
	pathf(file, "%s/leased", dir);
	CHECK_GOTO(start_prog(&p, "prog_counter", hold_a_write_lease, file), out, "%s", why);
	opener = fork();
	if (opener == 0) {
		open(file, O_RDONLY);
		_exit(0);
	}
	/* The opener is in open() once the lease shows BREAKING. */
	for (int i = 0; i < 200; i++) {
		char path[64], info[1024] = "";

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", p.pid, LEASE_FD);
		if (read_text(path, info, sizeof(info)) && strstr(info, "BREAKING"))
			break;
		usleep(10000);
	}
	snprintf(expect, sizeof(expect), "dump: pid %d fd %d (%s)", p.pid, LEASE_FD, file);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, "a lease that is BREAKING"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (opener > 0)
		kill(opener, SIGKILL);
	end_prog(&p);
	remove_temp_dir(dir);
}

/* What each cwd case makes in its folder (the program's child, before the
 * exec, in a mount namespace of its own that goes with the program). */
enum lost_cwd {
	CWD_DETACHED_TMPFS,
	CWD_HIDDEN,
	CWD_DETACHED_READ_ONLY,
	CWD_DEEP_IN_REMOVED_FOLDERS,
	CWD_REMOVED_DETACHED_ROOT,
	/* Not the cwd, fds: a FIFO deleted in a folder removed too, and a
	 * regular file deleted 33 removed folders deep. */
	FD_FIFO_IN_REMOVED_FOLDER,
	FD_FILE_DEEP_IN_REMOVED_FOLDERS,
};

struct lost_cwd_setup {
	enum lost_cwd kind;
	char dir[PATH_MAX];
};

/* A file made, opened (left open) and deleted in folder @dir. */
static bool deep_file(const char *dir)
{
	char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/f", dir);
	return open(path, O_RDWR | O_CREAT | O_EXCL, 0600) >= 0 && !unlink(path);
}

static bool lost_cwd_make(const struct lost_cwd_setup *s)
{
	char a[PATH_MAX + 128], b[PATH_MAX + 16];

	snprintf(a, sizeof(a), "%s/a", s->dir);
	snprintf(b, sizeof(b), "%s/a/b", s->dir);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(a, 0755))
		return false;
	switch (s->kind) {
	case CWD_DETACHED_TMPFS:
		return !mount("cryo-test", a, "tmpfs", 0, "size=1m") && !mkdir(b, 0755) &&
		       !chdir(b) && !umount2(a, MNT_DETACH);
	case CWD_HIDDEN:
		return !mkdir(b, 0755) && !chdir(b) &&
		       !mount("cryo-test", a, "tmpfs", 0, "size=1m");
	case CWD_DETACHED_READ_ONLY:
		snprintf(a, sizeof(a), "%s/ro", s->dir);
		snprintf(b, sizeof(b), "%s/ro/b", s->dir);
		return !mkdir(a, 0755) && !mount(s->dir, a, NULL, MS_BIND, NULL) &&
		       !mkdir(b, 0755) &&
		       !mount(NULL, a, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) &&
		       !chdir(b) && !umount2(a, MNT_DETACH);
	case CWD_DEEP_IN_REMOVED_FOLDERS:
	case FD_FILE_DEEP_IN_REMOVED_FOLDERS:
		/* a/d/d/.../d, 33 levels below a: a is the 33rd folder removed
		 * above the cwd, one more than restore makes again; the file is
		 * in a/d/.../d, 33 removed folders deep (left open across the
		 * exec). */
		for (int i = 0; i < 33; i++) {
			strcat(a, "/d");
			if (mkdir(a, 0755))
				return false;
		}
		if (s->kind == CWD_DEEP_IN_REMOVED_FOLDERS ? chdir(a) : !deep_file(a))
			return false;
		for (int i = 0; i < 34; i++) {
			if (rmdir(a))
				return false;
			*strrchr(a, '/') = '\0';
		}
		return true;
	case CWD_REMOVED_DETACHED_ROOT:
		snprintf(b, sizeof(b), "%s/bound", s->dir);
		return !mkdir(b, 0755) && !mount(a, b, NULL, MS_BIND, NULL) && !chdir(b) &&
		       !umount2(b, MNT_DETACH) && !rmdir(a);
	case FD_FIFO_IN_REMOVED_FOLDER:
		/* Left open across the exec. */
		snprintf(b, sizeof(b), "%s/a/fifo", s->dir);
		return !mkfifo(b, 0600) && open(b, O_RDWR) >= 0 && !unlink(b) && !rmdir(a);
	}
	return false;
}

static void lose_cwd(void *arg)
{
	if (!lost_cwd_make(arg))
		_exit(125);
}

static void check_cwd_refused(enum lost_cwd kind, const char *what)
{
	struct lost_cwd_setup setup = { .kind = kind };
	struct prog p = { 0 };
	char expect[64];

	CHECK(make_temp_dir(setup.dir), "cannot make a directory for the cwd");
	CHECK_GOTO(start_prog(&p, "prog_counter", lose_cwd, &setup), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d %s", p.pid,
		 kind >= FD_FIFO_IN_REMOVED_FOLDER ? "fd " : "cwd: ");
	CHECK_GOTO(dump_refused_unharmed(&p, expect, what), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	remove_temp_dir(setup.dir);
}

/* Its files went with the mount: criu refuses it too. */
TEST(dump_refuses_a_cwd_on_a_detached_tmpfs_and_the_program_runs_on)
{
	check_cwd_refused(CWD_DETACHED_TMPFS, "it is on a mount detached (umount -l) or of "
			  "another mount namespace, and no mount of its filesystem");
}

/* A restored process could not be put under the mount on top. */
TEST(dump_refuses_a_cwd_hidden_under_a_mount_and_the_program_runs_on)
{
	check_cwd_refused(CWD_HIDDEN, "it is hidden under a mount on top of it");
}

/* Its folder is reached, but only through a writable mount: the restored
 * process could write where it could not. */
TEST(dump_refuses_a_cwd_on_a_detached_read_only_bind_and_the_program_runs_on)
{
	check_cwd_refused(CWD_DETACHED_READ_ONLY, "where the task's mount had");
}

/* Restore makes a chain of 32 removed folders again, no deeper. */
TEST(dump_refuses_a_removed_cwd_33_removed_folders_deep_and_the_program_runs_on)
{
	check_cwd_refused(CWD_DEEP_IN_REMOVED_FOLDERS, "was in more than 32 folders removed too");
}

/* Only regular files and directories are made again in removed folders. */
TEST(dump_refuses_a_fifo_deleted_in_a_removed_folder_and_the_program_runs_on)
{
	check_cwd_refused(FD_FIFO_IN_REMOVED_FOLDER, "deleted FIFO whose folder was removed "
			  "too: not supported");
}

/* Restore makes 32 removed folders around a deleted file again, no more. */
TEST(dump_refuses_a_file_deleted_33_removed_folders_deep_and_the_program_runs_on)
{
	check_cwd_refused(FD_FILE_DEEP_IN_REMOVED_FOLDERS, "was in more than 32 folders removed "
			  "too: not supported");
}

/* Its folder, ".." of the detached mount's root, is that root itself. */
TEST(dump_refuses_a_removed_cwd_that_was_a_detached_mounts_root_and_the_program_runs_on)
{
	check_cwd_refused(CWD_REMOVED_DETACHED_ROOT, "was the root of a detached mount");
}


/* Under a chroot only the first of a group sharing fs info chroots at
 * restore, once the others said so through a pipe, whose ends a shared fd
 * table would close under them. */
TEST(dump_refuses_fs_info_and_an_fd_table_shared_under_a_chroot_and_the_tree_runs_on)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "neg_clone_fs_files_chroot", NULL, NULL), out, "%s", why);
	CHECK_GOTO(dump_refused_no_images(&p, "under a chroot, and one of them shares its fd "
					  "table (CLONE_FILES) too: not supported"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* Restore makes processes from the main thread, whose clone cannot share
 * another thread's fs info. */
TEST(dump_refuses_a_child_sharing_fs_info_with_a_thread_that_has_its_own_and_the_tree_runs_on)
{
	struct prog p = { 0 };
	char key[96];

	CHECK_GOTO(start_prog(&p, "neg_clone_fs_thread", NULL, NULL), out, "%s", why);
	snprintf(key, sizeof(key), " of its parent %d, which has fs info of its own", p.pid);
	CHECK_GOTO(dump_refused_no_images(&p, key), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* With CLONE_PARENT the thread that made the child is a sibling's: one of
 * the parent's children has a thread with fs info of its own, whose
 * clone(CLONE_FS | CLONE_PARENT) made the child. */
TEST(dump_refuses_a_child_sharing_fs_info_with_a_siblings_thread_and_the_tree_runs_on)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "neg_clone_fs_thread_parent", NULL, NULL), out, "%s", why);
	CHECK_GOTO(dump_refused_no_images(&p, " of its sibling (CLONE_PARENT) "), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

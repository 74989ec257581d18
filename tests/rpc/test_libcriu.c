/* A program written against libcriu's API (criu.h) and linked to libcryo:
 * version, check and feature queries, a dump with leave_running and a
 * restore as the caller's child that passes, notifications through the
 * callback, and what cryo refuses (a pre-dump, an option) returned as
 * -EBADE with the program unharmed. Uses only criu_* calls to reach cryo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "lib/criu.h"
#include "runner_util.h"

#define PROG "prog_counter"

/* The programs of the table live beside test_roundtrip, not here. */
static void use_roundtrip_programs(void)
{
	static bool done;
	char here[PATH_MAX];

	if (done)
		return;
	snprintf(here, sizeof(here), "%s", bin_dir);
	pathf(bin_dir, "%s/../roundtrip", here);
	done = true;
}

static char actions[512];

/* libcriu's calls wait for cryo without a timeout: a hung cryo must end
 * this test, not the whole run. */
__attribute__((constructor)) static void bound_the_run(void)
{
	alarm(600);
}

/* Records each notification with the pid it names. */
static int note_action(char *action, criu_notify_arg_t na)
{
	size_t len = strlen(actions);

	snprintf(actions + len, sizeof(actions) - len, "%s%s:%d", len ? " " : "", action,
		 criu_notify_pid(na));
	return 0;
}

static bool init_opts(void)
{
	if (criu_init_opts())
		return fail_why("criu_init_opts failed");
	if (criu_set_service_binary(cryo_path))
		return fail_why("criu_set_service_binary failed");
	return true;
}

TEST(version_check_and_features)
{
	struct criu_feature_check features = { .mem_track = true, .lazy_pages = true };
	struct cryo_run r;
	int version;

	CHECK(init_opts(), "%s", why);
	version = criu_get_version();
	CHECK(version >= 30000, "criu_get_version: %d", version);
	CHECK(criu_check_version(30000) == 1, "criu_check_version(30000)");
	CHECK(criu_check_version(version + 1) == 0, "criu_check_version(%d)", version + 1);
	run_cryo(&r, "check");
	CHECK((criu_check() == 0) == (r.status == 0), "criu_check disagrees with cryo check (%d)",
	      r.status);
	CHECK(criu_feature_check(&features, sizeof(features)) == 0, "criu_feature_check");
	CHECK(features.mem_track && !features.lazy_pages && !features.pidfd_store,
	      "features %d %d %d", features.mem_track, features.lazy_pages, features.pidfd_store);
	criu_free_opts();
}

/* A service binary that does not exist: libcriu's -ECONNREFUSED... or, as
 * the exec fails in the child after the fork, a broken exchange. */
TEST(missing_service_binary_fails)
{
	int ret;

	CHECK(!criu_init_opts(), "criu_init_opts");
	criu_set_service_binary("/nonexistent/cryo");
	ret = criu_check();
	criu_free_opts();
	CHECK(ret == -ECOMM || ret == -ECONNREFUSED, "criu_check: %d", ret);
}

static int open_images(struct prog *p, char *img)
{
	pathf(img, "%s/img", p->dir);
	if (mkdir(img, 0700))
		return -1;
	return open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

TEST(dump_then_restore_child_passes)
{
	char img[PATH_MAX], expected[512];
	struct prog p;
	pid_t pid;
	int fd = -1, ret, status;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	fd = open_images(&p, img);
	CHECK_GOTO(fd >= 0, out, "images dir %s", img);
	CHECK_GOTO(init_opts(), out, "%s", why);
	criu_set_images_dir_fd(fd);
	criu_set_pid(pid);
	criu_set_leave_running(true);
	criu_set_log_file("dump.log");
	criu_set_log_level(4);
	criu_set_notify_cb(note_action);
	actions[0] = '\0';
	ret = criu_dump();
	CHECK_GOTO(ret == 0, out, "criu_dump: %d (errno %d)", ret, errno);
	snprintf(expected, sizeof(expected), "pre-dump:%d network-lock:%d post-dump:%d "
		 "network-unlock:%d", pid, pid, pid, pid);
	CHECK_GOTO(!strcmp(actions, expected), out, "notifications: %s", actions);
	CHECK_GOTO(exists(img, "inventory.img") && exists(img, "dump.log"), out, "images");
	CHECK_GOTO(prog_unharmed(&p), out, "after leave_running: %s", why);
	kill_and_reap(p.pid);
	p.pid = 0;

	criu_set_leave_running(false);
	criu_set_log_file("restore.log");
	actions[0] = '\0';
	ret = criu_restore_child();
	CHECK_GOTO(ret == pid, out, "criu_restore_child: %d, not %d", ret, pid);
	p.pid = pid;
	snprintf(expected, sizeof(expected), "pre-restore:0 setup-namespaces:%d post-restore:%d "
		 "network-unlock:%d post-resume:%d", pid, pid, pid, pid);
	CHECK_GOTO(!strcmp(actions, expected), out, "notifications: %s", actions);
	/* The caller's own child at once: it can wait for it. */
	CHECK_GOTO(waitpid(pid, &status, WNOHANG) == 0, out, "the restored root is not our "
		   "running child: %s", strerror(errno));
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);
out:
	criu_free_opts();
	if (fd >= 0)
		close(fd);
	end_prog(&p);
}

TEST(refusals_return_ebade_and_leave_the_program_unharmed)
{
	char img[PATH_MAX];
	struct prog p;
	int fd = -1, ret;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	fd = open_images(&p, img);
	CHECK_GOTO(fd >= 0, out, "images dir %s", img);
	CHECK_GOTO(init_opts(), out, "%s", why);
	criu_set_images_dir_fd(fd);
	criu_set_pid(p.pid);
	criu_set_auto_dedup(true);
	ret = criu_dump();
	CHECK_GOTO(ret == -EBADE, out, "criu_dump with auto_dedup: %d", ret);
	criu_set_auto_dedup(false);
	criu_set_lsm_profile("apparmor:cryo-test");
	ret = criu_dump();
	CHECK_GOTO(ret == -EBADE, out, "criu_dump with an lsm_profile: %d", ret);
	CHECK_GOTO(no_inventory(img) && prog_unharmed(&p), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	criu_free_opts();
	if (fd >= 0)
		close(fd);
	end_prog(&p);
}

/* The parent of @pid, from /proc/PID/stat (0: gone). */
static pid_t parent_of(pid_t pid)
{
	char path[64], text[512], *end;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!read_text(path, text, sizeof(text)) || !(end = strrchr(text, ')')) ||
	    sscanf(end + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static pid_t start_service(const char *path)
{
	long deadline = now_ms() + WAIT_MS;
	struct stat st;
	pid_t pid = fork();

	if (pid == 0) {
		execl(cryo_path, cryo_path, "service", path, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && stat(path, &st) && now_ms() < deadline)
		sleep_ms(5);
	return pid;
}

/* criu's service mode: one connection per request to `cryo service`. */
TEST(service_socket_dumps_and_restores)
{
	char img[PATH_MAX], sock[PATH_MAX];
	long deadline;
	struct prog p;
	pid_t pid, service = 0;
	int fd = -1, ret;

	use_roundtrip_programs();
	CHECK(start_prog(&p, PROG, NULL, NULL), "%s", why);
	pid = p.pid;
	fd = open_images(&p, img);
	CHECK_GOTO(fd >= 0, out, "images dir %s", img);
	pathf(sock, "%s/cryo.sock", p.dir);
	service = start_service(sock);
	CHECK_GOTO(service > 0 && exists(p.dir, "cryo.sock"), out, "cryo service did not listen");
	CHECK_GOTO(!criu_init_opts() && !criu_set_service_address(sock), out, "options");
	CHECK_GOTO(criu_get_version() >= 30000, out, "criu_get_version through the service");
	criu_set_images_dir_fd(fd);
	criu_set_pid(pid);
	ret = criu_dump();
	CHECK_GOTO(ret == 0, out, "criu_dump: %d", ret);
	/* Without leave_running, the original is gone. */
	CHECK_GOTO(wait_child(pid, WAIT_MS, NULL), out, "the dumped program still runs");
	p.pid = 0;
	ret = criu_restore();
	CHECK_GOTO(ret == pid, out, "criu_restore: %d, not %d", ret, pid);
	p.pid = pid;
	/* Its parent, the service's session, ends: the root comes to us. */
	deadline = now_ms() + WAIT_MS;
	while (parent_of(pid) != getpid() && now_ms() < deadline)
		sleep_ms(5);
	CHECK_GOTO(parent_of(pid) == getpid(), out, "the restored root's parent is %d",
		   parent_of(pid));
	CHECK_GOTO(prog_passes(&p), out, "the restored program: %s", why);
out:
	criu_free_opts();
	if (fd >= 0)
		close(fd);
	if (service > 0)
		kill_and_reap(service);
	end_prog(&p);
}

/* Socket activation as systemd does it: the listening socket at fd 3,
 * LISTEN_PID naming the service and LISTEN_FDS=1. */
TEST(service_takes_a_socket_from_systemd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	pid_t service = 0;
	int sk, version;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(addr.sun_path, "%s/activated.sock", dir);
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK_GOTO(sk >= 0 && !bind(sk, (struct sockaddr *)&addr, sizeof(addr)) && !listen(sk, 4),
		   out, "cannot listen on %s", addr.sun_path);
	service = fork();
	if (service == 0) {
		char pid[16];

		/* dup2 onto itself would keep O_CLOEXEC. */
		if (sk == 3)
			fcntl(sk, F_SETFD, 0);
		else
			dup2(sk, 3);
		snprintf(pid, sizeof(pid), "%d", getpid());
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(cryo_path, cryo_path, "service", (char *)NULL);
		_exit(127);
	}
	CHECK_GOTO(service > 0 && !criu_init_opts() && !criu_set_service_address(addr.sun_path),
		   out, "options");
	version = criu_get_version();
	CHECK_GOTO(version >= 30000, out, "criu_get_version through fd 3: %d", version);
	/* The service stays for the next connection. */
	CHECK_GOTO(criu_get_version() == version, out, "a second connection");
out:
	criu_free_opts();
	if (sk >= 0)
		close(sk);
	if (service > 0)
		kill_and_reap(service);
	remove_temp_dir(dir);
}

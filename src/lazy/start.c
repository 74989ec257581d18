/* Starting a lazy restore's page server: the check that userfaultfd is
 * there before anything is created, taking each restorer's userfaultfd
 * with pidfd_getfd, and the fork of the server itself, which leaves cryo's
 * session and keeps nothing of cryo's but the userfaultfds, the pages
 * files and the log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "lazy/lazy.h"

int lazy_check_available(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_UFFD_FEATURES };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), err;

	if (fd < 0) {
		err = errno;
		if (err == ENOSYS)
			pr_err("restore: --lazy-pages needs userfaultfd, which this kernel lacks "
			       "(CONFIG_USERFAULTFD)");
		else
			pr_err("restore: --lazy-pages: userfaultfd() refused: %s (it needs "
			       "CAP_SYS_PTRACE, or vm.unprivileged_userfaultfd=1)", strerror(err));
		return -err;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		err = errno;
		pr_err("restore: --lazy-pages: this kernel's userfaultfd refuses the fork, remap, "
		       "remove and unmap events a page server must follow (UFFDIO_API: %s)",
		       strerror(err));
		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

static bool kept(int fd, const struct lazy_space *spaces, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fd == spaces[i].uffd || fd == spaces[i].pages_fd[0] ||
		    fd == spaces[i].pages_fd[1])
			return true;
	return false;
}

/* Every fd of cryo's but the spaces' goes; stdin and stdout become
 * /dev/null, and stderr too when there is a log file. */
static int detach_fds(const struct lazy_space *spaces, size_t n, bool logs_to_file)
{
	DIR *d = opendir("/proc/self/fd");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct dirent *e;

	if (!d || null < 0)
		return -errno;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d) && fd != null &&
		    !kept(fd, spaces, n))
			close(fd);
	}
	closedir(d);
	dup2(null, 0);
	dup2(null, 1);
	if (logs_to_file)
		dup2(null, 2);
	close(null);
	return 0;
}

static void __attribute__((noreturn)) server_main(const struct lazy_task *tasks,
						  const int *uffds, size_t n,
						  const char *log_path, int log_level)
{
	struct lazy_space *spaces = calloc(n, sizeof(*spaces));
	struct lazy_test_opts test = { 0 };
	int ret = spaces ? 0 : -ENOMEM;

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; !ret && i < n; i++) {
		struct lazy_pins pins;

		spaces[i] = (struct lazy_space){ .uffd = uffds[i],
						 .pages_fd = { tasks[i].pages_fd[0],
							       tasks[i].pages_fd[1] },
						 .pid = tasks[i].pid,
						 .pid_ns_below = tasks[i].pid_ns_below };
		pending_init(&spaces[i].pending);
		ret = lazy_pins_make(tasks[i].core, &pins);
		if (!ret)
			ret = lazy_pending_make(tasks[i].mm, tasks[i].pagemap, &pins,
						tasks[i].premaps, tasks[i].nr_premaps,
						&spaces[i].pending);
		lazy_pins_free(&pins);
	}
	/* The log's stream goes before its fd is closed under it. */
	log_close();
	if (!ret)
		ret = detach_fds(spaces, n, log_path);
	log_init(log_path, log_level);
	if (ret) {
		pr_err("lazy: the page server cannot start: %s", strerror(-ret));
		/* Processes that cannot be served must not run on with holes. */
		for (size_t i = 0; i < n; i++)
			kill(tasks[i].pid, SIGKILL);
		_exit(1);
	}
	for (size_t i = 0; i < n; i++)
		pr_info("lazy: pid %d: serving %llu KiB", spaces[i].pid,
			(unsigned long long)(spaces[i].pending.bytes >> 10));
	test.trickle = getenv("CRYO_TEST_LAZY_TRICKLE") != NULL;
	if (getenv("CRYO_TEST_LAZY_FAIL_AFTER"))
		test.fail_after = strtol(getenv("CRYO_TEST_LAZY_FAIL_AFTER"), NULL, 10);
	ret = lazy_serve(spaces, n, &test);
	pr_info("lazy: the page server exits%s%s", ret ? ": " : "", ret ? strerror(-ret) : "");
	log_close();
	_exit(ret ? 1 : 0);
}

int lazy_server_start(const struct lazy_task *tasks, size_t n, const char *log_path,
		      int log_level, pid_t *server)
{
	int *uffds = calloc(n + 1, sizeof(*uffds)), ret = 0;
	size_t taken = 0;
	pid_t pid;

	if (!uffds)
		return -ENOMEM;
	for (; taken < n; taken++) {
		uffds[taken] = (int)syscall(SYS_pidfd_getfd, tasks[taken].pidfd,
					    tasks[taken].remote_uffd, 0);
		if (uffds[taken] < 0) {
			ret = pr_errno_ret("restore: pid %d: cannot take its userfaultfd (fd %d)",
					   tasks[taken].pid, tasks[taken].remote_uffd);
			break;
		}
	}
	if (!ret) {
		pid = fork();
		if (pid == 0)
			server_main(tasks, uffds, n, log_path, log_level);
		if (pid < 0)
			ret = pr_errno_ret("restore: cannot fork the page server");
		else
			*server = pid;
	}
	/* The server holds them now: a copy left here would keep events
	 * waiting on a reader that never comes. */
	for (size_t i = 0; i < taken; i++)
		close(uffds[i]);
	free(uffds);
	if (!ret)
		pr_info("restore: page server %d serves %zu processes", *server, n);
	return ret;
}

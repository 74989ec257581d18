/* A real server across dumps: Debian's redis-server with 100,000 keys and
 * a client outside the dump (this runner) connected across two dumps (with
 * --tcp-established, the tree killed) and restores. After each restore the
 * client's open connection goes on getting answers, every key is there
 * with its value, and a new connection is served. redis-server missing
 * fails the test: scripts/install-deps installs it. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

#define KEYS 100000
#define BATCH 10000

struct redis {
	char dir[64];
	int port;
	pid_t pid;
	int client;	/* the connection held across the dumps */
};

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, len) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, sizeof(why), "send to redis: %s", strerror(errno));
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads exactly the answer @want (@len bytes), 10 s at most. */
static bool expect_answer(int fd, const char *want, size_t len, const char *what)
{
	char *got = malloc(len + 1);
	size_t have = 0;
	bool ok;

	while (got && have < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 10000) != 1)
			break;
		n = recv(fd, got + have, len - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	ok = got && have == len && !memcmp(got, want, len);
	if (!ok)
		snprintf(why, sizeof(why), "%s: %zu of %zu bytes of the answer%s", what, have, len,
			 have == len ? ", and they differ" : " came");
	free(got);
	return ok;
}

/* Sends @cmd and expects @answer on @fd. */
static bool ask(int fd, const char *cmd, const char *answer, const char *what)
{
	return send_all(fd, cmd, strlen(cmd)) && expect_answer(fd, answer, strlen(answer), what);
}

/* SET (or GET, checking the values) every key, BATCH commands at a time. */
static bool every_key(int fd, bool set)
{
	size_t size = (size_t)BATCH * 48;
	char *cmds = malloc(size), *answers = malloc(size);
	bool ok = cmds && answers;

	for (int first = 0; ok && first < KEYS; first += BATCH) {
		size_t c = 0, a = 0;

		for (int i = first; i < first + BATCH; i++) {
			char value[24];
			int vlen = snprintf(value, sizeof(value), "value-%d", i * 7);

			if (set) {
				c += (size_t)snprintf(cmds + c, size - c, "SET key:%d %s\r\n", i, value);
				a += (size_t)snprintf(answers + a, size - a, "+OK\r\n");
			} else {
				c += (size_t)snprintf(cmds + c, size - c, "GET key:%d\r\n", i);
				a += (size_t)snprintf(answers + a, size - a, "$%d\r\n%s\r\n", vlen,
						      value);
			}
		}
		ok = send_all(fd, cmds, c) &&
		     expect_answer(fd, answers, a, set ? "SET of the keys" : "GET of the keys");
	}
	free(cmds);
	free(answers);
	return ok;
}

static bool start(struct redis *r)
{
	char port[16], logfile[96];
	long deadline = now_ms() + WAIT_MS;

	if (access("/usr/bin/redis-server", X_OK)) {
		snprintf(why, sizeof(why), "/usr/bin/redis-server is missing (Debian's redis-server "
			 "package; scripts/install-deps installs it)");
		return false;
	}
	snprintf(r->dir, sizeof(r->dir), "/tmp/cryo-redis-XXXXXX");
	r->port = free_port();
	if (!mkdtemp(r->dir) || r->port < 0) {
		snprintf(why, sizeof(why), "no directory or port: %s", strerror(errno));
		return false;
	}
	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir);
	r->pid = fork();
	if (r->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* A session of its own, as a daemon has: no terminal. */
		setsid();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
		execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		      "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r->dir,
		      "--logfile", logfile, (char *)NULL);
		_exit(127);
	}
	while (r->pid > 0 && (r->client = connect_to(r->port)) < 0 && now_ms() < deadline)
		sleep_ms(20);
	if (r->client < 0) {
		snprintf(why, sizeof(why), "redis-server did not listen on port %d", r->port);
		return false;
	}
	return every_key(r->client, true) && ask(r->client, "DBSIZE\r\n", ":100000\r\n", "DBSIZE");
}

/* Dumps (the tree killed), restores detached, and talks on the connection. */
static bool cycle(struct redis *r, int n)
{
	char img[128], log[160], pid[16], pidfile[160], cmd[64], answer[64];
	struct cryo_run run;
	int fresh;
	bool ok;
	FILE *f;

	snprintf(img, sizeof(img), "%s/img%d", r->dir, n);
	snprintf(pid, sizeof(pid), "%d", r->pid);
	snprintf(log, sizeof(log), "%s/dump%d.log", r->dir, n);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", r->dir);
	run_cryo(&run, "dump", "-t", pid, "-D", img, "-o", log, "-v4", "--tcp-established");
	if (run.status) {
		snprintf(why, sizeof(why), "dump %d failed (%d, see %s): %.2000s", n, run.status, log,
			 run.out);
		return false;
	}
	if (!reap_all_children(WAIT_MS)) {
		snprintf(why, sizeof(why), "the dumped redis-server still runs");
		return false;
	}
	snprintf(log, sizeof(log), "%s/restore%d.log", r->dir, n);
	run_cryo(&run, "restore", "-D", img, "-d", "--pidfile", pidfile, "-o", log, "-v4");
	if (run.status) {
		snprintf(why, sizeof(why), "restore %d failed (%d, see %s): %.2000s", n, run.status,
			 log, run.out);
		return false;
	}
	f = fopen(pidfile, "r");
	if (!f || fscanf(f, "%d", &r->pid) != 1) {
		snprintf(why, sizeof(why), "restore %d wrote no pid file", n);
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "SET after:%d restored-%d\r\n", n, n);
	if (!ask(r->client, "PING\r\n", "+PONG\r\n", "PING on the open connection") ||
	    !ask(r->client, "DBSIZE\r\n", n == 1 ? ":100000\r\n" : ":100001\r\n", "DBSIZE") ||
	    !every_key(r->client, false) || !ask(r->client, cmd, "+OK\r\n", "SET after restore"))
		return false;
	fresh = connect_to(r->port);
	if (fresh < 0) {
		snprintf(why, sizeof(why), "a new connection after restore %d: %s", n,
			 strerror(errno));
		return false;
	}
	snprintf(cmd, sizeof(cmd), "GET after:%d\r\n", n);
	snprintf(answer, sizeof(answer), "$%zu\r\nrestored-%d\r\n",
		 strlen("restored-") + (n > 9 ? 2 : 1), n);
	ok = ask(fresh, cmd, answer, "GET on a new connection");
	close(fresh);
	return ok;
}

TEST(redis_keeps_its_keys_and_its_client_across_two_restores)
{
	struct redis r = { .pid = -1, .client = -1 };
	bool ok = start(&r) && cycle(&r, 1) && cycle(&r, 2);

	if (r.client >= 0)
		close(r.client);
	end_all_children();
	if (ok)
		remove_tree(r.dir);
	else if (r.dir[0])
		fprintf(stderr, "    kept %s for a look\n", r.dir);
	CHECK(ok, "redis-server with %d keys: %s", KEYS, why);
}

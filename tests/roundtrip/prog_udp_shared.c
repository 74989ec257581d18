/* Round-trip program: a UDP socket shared by a process and its child
 * (inherited over fork), with two datagrams queued. cryo prepares such a
 * socket once, for both. After restore: kcmp says both hold the same open
 * file, and the child's recv() takes the first datagram from the one
 * queue, leaving the parent the second. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define SOCK_FD 20

static void __attribute__((noreturn)) child(int ready[2], int result)
{
	char buf[16] = "";
	ssize_t n;

	prog_child_ready(ready);
	prog_wait_sigterm();
	n = recv(SOCK_FD, buf, sizeof(buf), MSG_DONTWAIT);
	_exit(n > 0 && write(result, buf, n) == n ? 0 : 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(lo);
	int ready[2], result[2], sender, status = -1;
	char buf[16] = "";
	pid_t pid;

	prog_init(argc, argv);
	sender = socket(AF_INET, SOCK_DGRAM, 0);
	if (sender < 0 || dup2(socket(AF_INET, SOCK_DGRAM, 0), SOCK_FD) != SOCK_FD ||
	    bind(SOCK_FD, (struct sockaddr *)&lo, sizeof(lo)) ||
	    getsockname(SOCK_FD, (struct sockaddr *)&lo, &len) ||
	    sendto(sender, "one", 3, 0, (struct sockaddr *)&lo, sizeof(lo)) != 3 ||
	    sendto(sender, "two", 3, 0, (struct sockaddr *)&lo, sizeof(lo)) != 3 ||
	    pipe(ready) || pipe(result))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(result[0]);
		child(ready, result[1]);
	}
	close(ready[1]);
	close(result[1]);
	if (read(ready[0], buf, 1) != 1)
		return 1;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, SOCK_FD, SOCK_FD) == 0,
		   "the child's socket is not the parent's");
	kill(pid, SIGTERM);
	PROG_CHECK(read(result[0], buf, sizeof(buf) - 1) == 3 && !strcmp(buf, "one"),
		   "the child did not get the first datagram (got '%s')", buf);
	PROG_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child failed (status %#x)", status);
	memset(buf, 0, sizeof(buf));
	PROG_CHECK(recv(SOCK_FD, buf, sizeof(buf), MSG_DONTWAIT) == 3 && !strcmp(buf, "two"),
		   "the parent did not get the second datagram (got '%s': %s)", buf,
		   strerror(errno));
	prog_finish();
}

/* criu's --status-fd: tells the caller cryo is ready, as criu's
 * status_ready() does. Not the checks of the fd (cli/options.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/status_fd.h"

void status_ready(int fd)
{
	char nul = '\0';
	ssize_t n;

	if (fd < 0)
		return;
	do
		n = write(fd, &nul, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		pr_warn("--status-fd %d: cannot write the ready byte: %s", fd,
			n < 0 ? strerror(errno) : "nothing written");
	close(fd);
}

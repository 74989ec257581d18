/* Choosing the id of the next SysV object made: /proc/sys/kernel/{sem,msg,shm}_next_id
 * of the IPC namespace of the writer, which the kernel resets to -1 once
 * an object took it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/sysv_objects.h"

int ipc_next_id_write(const char *name, int id, const char *what)
{
	char path[64], text[16];
	int len = snprintf(text, sizeof(text), "%d\n", id), fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("restore: %s %d: cannot choose its id through %s: %s", what, id, path,
		       strerror(-ret));
	return ret;
}

/* /proc/PID/stat: the comm in field 2 may hold spaces and parentheses, so
 * the fields are counted from the last ')'. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/procfs.h"

#define STAT_LAST_FIELD 52

/* The name sits between the first '(' and @close, the last ')'. */
static void copy_comm(struct proc_stat *st, const char *buf, const char *close)
{
	const char *open_paren = strchr(buf, '(');
	size_t len = open_paren && open_paren < close ? (size_t)(close - open_paren - 1) : 0;

	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	if (len)
		memcpy(st->comm, open_paren + 1, len);
	st->comm[len] = '\0';
}

int proc_stat_read(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *p, *save = NULL;
	long fields[STAT_LAST_FIELD + 1];
	int fd, field = 3;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n ? -errno : -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	st->state = p[2];
	copy_comm(st, buf, p);
	for (char *tok = strtok_r(p + 3, " \n", &save); tok && field < STAT_LAST_FIELD;
	     tok = strtok_r(NULL, " \n", &save))
		fields[++field] = strtol(tok, NULL, 10);
	if (field < STAT_LAST_FIELD)
		return -EIO;
	st->ppid = (pid_t)fields[4];
	st->pgid = (pid_t)fields[5];
	st->sid = (pid_t)fields[6];
	st->exit_signal = (uint32_t)fields[38];
	st->exit_code = (int)fields[52];
	return 0;
}

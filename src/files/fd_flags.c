/* The close-on-exec bit of every fd of a task, read inside it by the
 * parasite (PARASITE_CMD_FD_FLAGS) while it is there, for files_dump() of
 * the same task: with it a socket's probe needs neither its fdinfo nor its
 * link (probe_fd()), two /proc files made and read a fd, which were a third
 * of the dump of a process of thousands of sockets. Only for tables of more
 * than 64 fds, where it pays for the extra command. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "files/files.h"
#include "inject/inject.h"
#include "parasite/commands.h"

/* Past this many fds the bitmaps are not worth reading (a table of a
 * million fds would be 256 KiB of them). */
#define FD_FLAGS_MAX (1u << 20)

struct fd_flags {
	pid_t pid;
	uint64_t words;		/* in each bitmap */
	uint64_t *open, *cloexec;
};

/* The size of @pid's fd table (FDSize), 0 when unknown. */
static uint64_t fd_table_size(pid_t pid)
{
	char path[64], *status = NULL, *end;
	const char *v;
	uint64_t size = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_text_file(path, &status))
		return 0;
	v = status_field(status, "FDSize");
	if (v) {
		size = strtoull(v, &end, 10);
		if (end == v)
			size = 0;
	}
	free(status);
	return size;
}

int fd_flags_read(struct inj_parasite *parasite, pid_t pid, struct fd_flags **out)
{
	uint64_t size = fd_table_size(pid);
	struct fd_flags *f;
	size_t len, got = 0;
	int ret;

	*out = NULL;
	if (size <= 64 || size > FD_FLAGS_MAX)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->pid = pid;
	f->words = (size + 63) / 64;
	len = 2 * f->words * sizeof(uint64_t);
	f->open = calloc(2 * f->words, sizeof(uint64_t));
	if (!f->open) {
		free(f);
		return -ENOMEM;
	}
	f->cloexec = f->open + f->words;
	ret = inj_parasite_call(parasite, PARASITE_CMD_FD_FLAGS, f->open, len, f->open, len, &got,
				NULL);
	if (!ret && got != len)
		ret = -EPROTO;
	if (ret) {
		pr_err("dump: pid %d: cannot read its fds' close-on-exec flags: %s", pid,
		       strerror(-ret));
		fd_flags_free(f);
		return ret;
	}
	*out = f;
	return 0;
}

void fd_flags_free(struct fd_flags *f)
{
	if (f)
		free(f->open);
	free(f);
}

int fd_flags_cloexec(const struct fd_flags *f, pid_t pid, int fd)
{
	uint64_t bit;

	if (!f || f->pid != pid || fd < 0 || (uint64_t)fd >= f->words * 64)
		return -1;
	bit = 1ULL << (fd % 64);
	if (!(f->open[fd / 64] & bit))
		return -1;
	return !!(f->cloexec[fd / 64] & bit);
}

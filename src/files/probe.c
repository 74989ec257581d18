/* Looking at one fd of a stopped task from outside: its link text, its
 * fdinfo, a pidfd_getfd() copy of its open file description and fstat()
 * of that, and the fdinfo parsing the kinds share; the same for the file
 * of a mapping, through /proc/PID/map_files. Deciding the kind and
 * dumping it are elsewhere (table.c, dump.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/textfile.h"
#include "files/internal.h"
#include "files/probe.h"

const char *fdinfo_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, name, len) && line[len] == ':') {
			line += len + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			return line;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

int fdinfo_u64(const struct fd_probe *p, const char *name, int base, uint64_t *out)
{
	const char *value = fdinfo_field(p->fdinfo, name);
	unsigned long long v;
	char *end;

	if (!value) {
		pr_fd_err(p, "fdinfo has no '%s' field", name);
		return -ENOENT;
	}
	errno = 0;
	v = strtoull(value, &end, base);
	if (errno || end == value || (*end != '\n' && *end != '\0')) {
		pr_fd_err(p, "fdinfo field '%s' is not a number: %.32s", name, value);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

void probe_release(struct fd_probe *p)
{
	if (p->dup >= 0)
		close(p->dup);
	p->dup = -1;
	free(p->link);
	free(p->fdinfo);
	p->link = p->fdinfo = NULL;
}

/* A copy of @p's open file description and its stat. */
static int take_copy(int pidfd, struct fd_probe *p)
{
	/* The copy is ours: cloexec on it says nothing about the task's fd. */
	p->dup = pidfd_getfd(pidfd, p->fd, 0);
	if (p->dup < 0) {
		pr_fd_err(p, "cannot take a copy with pidfd_getfd: %s", strerror(errno));
		return -errno;
	}
	if (fstat(p->dup, &p->st)) {
		pr_fd_err(p, "cannot stat: %s", strerror(errno));
		return -errno;
	}
	/* Each socket kind's recognise() asks for it. */
	if (S_ISSOCK(p->st.st_mode) && p->fd >= 0) {
		socklen_t len = sizeof(p->sock_family);

		if (getsockopt(p->dup, SOL_SOCKET, SO_DOMAIN, &p->sock_family, &len)) {
			pr_fd_err(p, "cannot read its socket family: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* A socket whose close-on-exec bit is known: the rest of what fdinfo would
 * say is its file's (flags from F_GETFL, which for a socket never hold
 * O_CLOEXEC; its position is always 0; locks, fdinfo's other part, the
 * caller ruled out), and its link is made as the kernel makes it. */
static int probe_socket(int cloexec, struct fd_probe *p)
{
	char link[64];
	int flags = fcntl(p->dup, F_GETFL);

	if (flags < 0) {
		pr_fd_err(p, "cannot read its flags: %s", strerror(errno));
		return -errno;
	}
	snprintf(link, sizeof(link), "socket:[%lu]", (unsigned long)p->st.st_ino);
	p->link = strdup(link);
	p->fdinfo = strdup("");
	if (!p->link || !p->fdinfo)
		return -ENOMEM;
	p->cloexec = cloexec;
	p->flags = (unsigned int)flags & ~(unsigned int)O_CLOEXEC;
	p->pos = 0;
	return 0;
}

int probe_fd(int pidfd, pid_t pid, int fd, int cloexec, struct fd_probe *p)
{
	char path[64], link[PATH_MAX + 1];
	uint64_t flags, pos;
	ssize_t len;
	int ret;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fd = fd;
	p->dup = -1;
	snprintf(p->name, sizeof(p->name), "fd %d", fd);
	if (cloexec >= 0) {
		ret = take_copy(pidfd, p);
		if (!ret && S_ISSOCK(p->st.st_mode)) {
			ret = probe_socket(cloexec, p);
			if (!ret)
				return 0;
		}
		if (ret == -ENOMEM)
			goto err_nomem;
		if (ret)
			goto err;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0) {
		ret = pr_errno_ret("dump: pid %d fd %d: cannot read the link %s", pid, fd, path);
		goto err;
	}
	link[len] = '\0';
	p->link = strdup(link);
	if (!p->link)
		goto err_nomem;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	ret = read_text_file(path, &p->fdinfo);
	if (ret) {
		pr_fd_err(p, "cannot read %s: %s", path, strerror(-ret));
		goto err;
	}
	if (p->dup < 0) {
		ret = take_copy(pidfd, p);
		if (ret)
			goto err;
	}
	ret = fdinfo_u64(p, "flags", 8, &flags);
	if (!ret)
		ret = fdinfo_u64(p, "pos", 10, &pos);
	if (ret)
		goto err;
	p->cloexec = flags & O_CLOEXEC;
	p->flags = flags & ~(uint64_t)O_CLOEXEC;
	p->pos = pos;
	return 0;

err_nomem:
	ret = -ENOMEM;
	pr_err("dump: pid %d fd %d: out of memory", pid, fd);
err:
	probe_release(p);
	return ret;
}

int probe_mapping(pid_t pid, uint64_t start, uint64_t end, struct fd_probe *p)
{
	char path[96], link[PATH_MAX + 1];
	ssize_t len;
	int ret;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fd = -1;
	p->dup = -1;
	snprintf(p->name, sizeof(p->name), "mapping %" PRIx64 "..%" PRIx64, start, end);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return pr_errno_ret("dump: pid %d %s: cannot read the link %s", pid, p->name, path);
	link[len] = '\0';
	p->link = strdup(link);
	if (!p->link) {
		pr_err("dump: pid %d %s: out of memory", pid, p->name);
		return -ENOMEM;
	}
	/* Read-only is enough to read it; restore opens it as the mapping needs. */
	p->flags = O_RDONLY | KERNEL_O_LARGEFILE;
	p->dup = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (p->dup < 0 || fstat(p->dup, &p->st)) {
		ret = -errno;
		pr_fd_err(p, "cannot open the mapped file through %s: %s", path, strerror(errno));
		probe_release(p);
		return ret;
	}
	return 0;
}

int probe_reopen(const struct fd_probe *p, int *out)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->dup);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d %s (%s): cannot open it again to read it",
				    p->pid, p->name, p->link);
	*out = fd;
	return 0;
}

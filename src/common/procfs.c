/* /proc/PID/stat: the comm in field 2 may hold spaces and parentheses, so
 * the fields are counted from its last ')'. Every field up to the last one
 * cryo uses must be a number, or the whole file is refused. Also the one
 * way to open another /proc/PID file, and the parser of maps lines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "common/textfile.h"

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

int proc_stat_parse(const char *text, struct proc_stat *st)
{
	uint64_t f[STAT_LAST_FIELD + 1] = { 0 };
	const char *p = strrchr(text, ')');
	int field;

	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -EIO;
	st->state = p[2];
	copy_comm(st, text, p);
	p += 3;
	for (field = 4; field <= STAT_LAST_FIELD && *p == ' '; field++) {
		char *end;

		/* Some fields are signed (tpgid is -1 without a terminal). */
		errno = 0;
		f[field] = p[1] == '-' ? (uint64_t)strtoll(p + 1, &end, 10) :
					 strtoull(p + 1, &end, 10);
		if (errno || end == p + 1)
			return -EIO;
		p = end;
	}
	if (field <= STAT_LAST_FIELD)
		return -EIO;
	st->ppid = (pid_t)f[4];
	st->pgid = (pid_t)f[5];
	st->sid = (pid_t)f[6];
	st->tty_nr = (int)f[7];
	st->tpgid = (pid_t)f[8];
	st->start_code = f[26];
	st->end_code = f[27];
	st->start_stack = f[28];
	st->exit_signal = (uint32_t)f[38];
	st->start_data = f[45];
	st->end_data = f[46];
	st->start_brk = f[47];
	st->arg_start = f[48];
	st->arg_end = f[49];
	st->env_start = f[50];
	st->env_end = f[51];
	st->exit_code = (int)f[52];
	return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *st)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_text_file(path, &text);
	if (ret)
		return ret;
	return proc_stat_parse(text, st);
}

int proc_open(pid_t pid, const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int proc_each_thread(pid_t pid, int (*fn)(pid_t tid, void *arg), void *arg)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!ret && (e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0)
			ret = fn(tid, arg);
	}
	closedir(dir);
	return ret;
}

void proc_mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Hex digits up to @stop, which must follow at least one: past @stop, or
 * NULL. */
static char *parse_hex(char *p, char stop, uint64_t *out)
{
	uint64_t v = 0;
	char *start = p;

	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (p - start == 16)
			return NULL;
		v = v << 4 | d;
	}
	if (p == start || *p != stop)
		return NULL;
	*out = v;
	return p + 1;
}

bool proc_maps_line_parse(char *line, struct proc_maps_line *out)
{
	uint64_t major, minor, ino = 0;
	char *p = line;

	p = parse_hex(p, '-', &out->start);
	p = p ? parse_hex(p, ' ', &out->end) : NULL;
	if (!p)
		return false;
	for (int i = 0; i < 4; i++, p++) {
		if (!*p || !strchr("-rwxsp", *p))
			return false;
		out->perms[i] = *p;
	}
	out->perms[4] = '\0';
	if (*p++ != ' ')
		return false;
	p = parse_hex(p, ' ', &out->pgoff);
	p = p ? parse_hex(p, ':', &major) : NULL;
	p = p ? parse_hex(p, ' ', &minor) : NULL;
	if (!p || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t)(*p - '0');
	if (*p && *p != ' ' && *p != '\n')
		return false;
	out->major = (unsigned)major;
	out->minor = (unsigned)minor;
	out->ino = ino;
	while (*p == ' ')
		p++;
	p[strcspn(p, "\n")] = '\0';
	out->name = p;
	return true;
}

const char *status_field(const char *status, const char *key)
{
	size_t len = strlen(key);

	for (const char *line = status; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, len) && line[len] == ':')
			return line + len + 1;
	}
	return NULL;
}

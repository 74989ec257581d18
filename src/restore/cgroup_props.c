/* The saved controller settings of a cgroup (cgroups.img) written back or
 * compared at restore, and the undo of what a failed restore changed.
 * Which cgroups get which, by --manage-cgroups mode, is cgroups.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "restore/cgroup_props.h"

#define VALUE_MAX 4096

struct cgroup_undo {
	struct cgroup_undo *next;	/* older */
	char *file;			/* full path of the file */
	char *old;
};

static int read_value(const char *file, char *value, size_t size)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, value, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && value[n - 1] == '\n')
		n--;
	value[n] = '\0';
	return 0;
}

static int write_one(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(value))
		ret = -EIO;
	close(fd);
	return ret;
}

/* A v1 cgroup's devices.list is written as criu does: all denied, then
 * each rule allowed, one write each (the kernel reads one a write). */
static int write_devices(const char *list_file, const char *rules)
{
	char dir[PATH_MAX * 2 + 64], file[PATH_MAX * 2 + 80], rule[64];
	int ret;

	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(list_file, '/') - list_file), list_file);
	snprintf(file, sizeof(file), "%s/devices.deny", dir);
	ret = write_one(file, "a");
	snprintf(file, sizeof(file), "%s/devices.allow", dir);
	for (const char *l = rules; !ret && *l;) {
		size_t len = strcspn(l, "\n");

		snprintf(rule, sizeof(rule), "%.*s", (int)len, l);
		ret = write_one(file, rule);
		l += len + (l[len] == '\n');
	}
	return ret;
}

static int write_value(const char *file, const char *value)
{
	const char *base = strrchr(file, '/');

	if (base && !strcmp(base, "/devices.list"))
		return write_devices(file, value);
	return write_one(file, value);
}

int cgroup_props_inherit(const char *dir, const char *file)
{
	char path[PATH_MAX * 2 + 64], value[VALUE_MAX];
	size_t len = (size_t)(strrchr(dir, '/') - dir);
	int ret;

	snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, file);
	ret = read_value(path, value, sizeof(value));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!ret)
		ret = write_one(path, value);
	return ret;
}

/* What to write for a saved value: subtree_control takes "+cpu +memory"
 * for the "cpu memory" it shows. */
static void to_write(const CgroupSetting *s, char *out, size_t size)
{
	size_t used = 0;

	if (strcmp(s->file, "cgroup.subtree_control")) {
		snprintf(out, size, "%s", s->value);
		return;
	}
	out[0] = '\0';
	for (const char *w = s->value; *w; w += strspn(w, " ")) {
		size_t len = strcspn(w, " ");

		if (len)
			used += (size_t)snprintf(out + used, size - used, "%s+%.*s",
						 used ? " " : "", (int)len, w);
		w += len;
		if (used >= size)
			break;
	}
}

/* What puts @old back after @s was written: for subtree_control, "-X"
 * for each controller @s enabled that @old did not have. */
static const char *undo_value(const CgroupSetting *s, const char *old, char *buf, size_t size)
{
	size_t used = 0;

	if (strcmp(s->file, "cgroup.subtree_control"))
		return old;
	buf[0] = '\0';
	for (const char *w = s->value; *w && used < size; w += strspn(w, " ")) {
		size_t len = strcspn(w, " ");
		bool had = false;

		for (const char *o = old; *o; o += strspn(o, " ")) {
			size_t olen = strcspn(o, " ");

			had |= olen == len && !strncmp(o, w, len);
			o += olen;
		}
		if (!had)
			used += (size_t)snprintf(buf + used, size - used, "%s-%.*s", used ? " " : "",
						 (int)len, w);
		w += len;
	}
	return buf;
}

static int note_undo(struct cgroup_undo **undo, const char *file, const char *old)
{
	struct cgroup_undo *u;

	if (!old[0])
		return 0;
	u = calloc(1, sizeof(*u));
	if (!u || !(u->file = strdup(file)) || !(u->old = strdup(old))) {
		if (u)
			free(u->file);
		free(u);
		return -ENOMEM;
	}
	u->next = *undo;
	*undo = u;
	return 0;
}

int cgroup_props_write(const char *dir, const CgroupEntry *e, struct cgroup_undo **undo)
{
	for (size_t i = 0; i < e->n_settings; i++) {
		const CgroupSetting *s = e->settings[i];
		char file[PATH_MAX * 2 + 64], old[VALUE_MAX], value[VALUE_MAX];
		int ret;

		/* Only "threaded" can be asked for: "domain threaded" and
		 * "domain invalid" follow from the children. */
		if (!strcmp(s->file, "cgroup.type") && strcmp(s->value, "threaded"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, s->file);
		ret = read_value(file, old, sizeof(old));
		if (!ret && !strcmp(old, s->value))
			continue;
		to_write(s, value, sizeof(value));
		if (!ret)
			ret = write_value(file, value);
		if (!ret && undo && strcmp(s->file, "cgroup.type"))
			ret = note_undo(undo, file, undo_value(s, old, value, sizeof(value)));
		if (ret) {
			pr_err("restore: cgroup %s: cannot set %s to '%s': %s", dir, s->file,
			       s->value, strerror(-ret));
			return ret;
		}
		pr_debug("restore: cgroup %s: %s set to '%s' (was '%s')", dir, s->file,
			 s->value, old);
	}
	return 0;
}

void cgroup_props_undo(struct cgroup_undo *undo, bool failed)
{
	while (undo) {
		struct cgroup_undo *next = undo->next;
		int ret = failed ? write_value(undo->file, undo->old) : 0;

		if (ret)
			pr_warn("restore: cannot put back '%s' into %s: %s", undo->old, undo->file,
				strerror(-ret));
		free(undo->file);
		free(undo->old);
		free(undo);
		undo = next;
	}
}

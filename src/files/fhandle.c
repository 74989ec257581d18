/* Finding paths from the kernel identities fdinfo shows (fhandle.h): file
 * handles opened with open_by_handle_at() through each mount of their
 * filesystem, mounts and filesystems found in /proc/PID/mountinfo. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "files/fhandle.h"

int fhandle_parse(const char *hex, unsigned int bytes, int type, struct file_handle **out)
{
	struct file_handle *fh;

	if (bytes > FHANDLE_BYTES_MAX)
		return -EINVAL;
	fh = malloc(sizeof(*fh) + bytes);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = bytes;
	fh->handle_type = type;
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
			free(fh);
			return -EINVAL;
		}
		fh->f_handle[i] = byte;
	}
	*out = fh;
	return 0;
}

/* One line of mountinfo: "ID PARENT MAJ:MIN ROOT MOUNT_POINT ...", split
 * in place. */
struct mount_line {
	int id;
	unsigned int major, minor;
	char *root;
	char *mount_point;
};

static bool split_mount_line(char *line, struct mount_line *m)
{
	int root_at = -1;
	char *end;

	if (sscanf(line, "%d %*d %u:%u %n", &m->id, &m->major, &m->minor, &root_at) != 3 ||
	    root_at < 0)
		return false;
	m->root = line + root_at;
	end = strchr(m->root, ' ');
	if (!end)
		return false;
	*end = '\0';
	m->mount_point = end + 1;
	end = strchr(m->mount_point, ' ');
	if (end)
		*end = '\0';
	proc_mountinfo_unescape(m->root);
	proc_mountinfo_unescape(m->mount_point);
	return true;
}

/* "/proc/PID", or "/proc/self" for pid 0: the caller's own view. */
static void proc_dir(char *buf, size_t size, pid_t pid)
{
	if (pid)
		snprintf(buf, size, "/proc/%d", pid);
	else
		snprintf(buf, size, "/proc/self");
}

static int read_mountinfo(pid_t pid, char **text)
{
	char dir[32], path[64];

	proc_dir(dir, sizeof(dir), pid);
	snprintf(path, sizeof(path), "%s/mountinfo", dir);
	return read_text_file(path, text);
}

/* Opens the file through mount point @mount_point of the task and finds
 * the path it is at; 0 when found. */
static int path_through(pid_t pid, unsigned long ino, unsigned int sdev,
			const struct file_handle *fh, const char *mount_point, char **out)
{
	_cleanup_close_ int mount_fd = -1, fd = -1;
	char dir[32], path[PATH_MAX + 64], link[PATH_MAX + 1];
	struct stat st;
	ssize_t len;

	proc_dir(dir, sizeof(dir), pid);
	snprintf(path, sizeof(path), "%s/root%s", dir, mount_point);
	mount_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (mount_fd < 0)
		return -errno;
	fd = open_by_handle_at(mount_fd, (struct file_handle *)fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	/* A file deleted since, which an fd or a watch keeps: no path. */
	if (len > 10 && !strcmp(link + len - 10, " (deleted)"))
		return -ENOENT;
	if (link[0] != '/' || lstat(link, &st) || st.st_ino != ino ||
	    major(st.st_dev) != sdev >> 20 || minor(st.st_dev) != (sdev & 0xfffff))
		return -ESTALE;
	*out = strdup(link);
	return *out ? 0 : -ENOMEM;
}

int fhandle_path(pid_t pid, unsigned long ino, unsigned int sdev, const struct file_handle *fh,
		 char **out)
{
	_cleanup_free_ char *mountinfo = NULL;
	int ret, last = -ENOENT;

	ret = read_mountinfo(pid, &mountinfo);
	if (ret)
		return ret;
	for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
		struct mount_line m;

		if (!split_mount_line(line, &m) || m.major != sdev >> 20 ||
		    m.minor != (sdev & 0xfffff))
			continue;
		last = path_through(pid, ino, sdev, fh, m.mount_point, out);
		if (!last)
			return 0;
	}
	return last;
}

int mount_id_path(pid_t pid, int mnt_id, char **out)
{
	_cleanup_free_ char *mountinfo = NULL;
	int ret = read_mountinfo(pid, &mountinfo);

	if (ret)
		return ret;
	for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
		struct mount_line m;

		if (split_mount_line(line, &m) && m.id == mnt_id) {
			*out = strdup(m.mount_point);
			return *out ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

int fs_dev_path(pid_t pid, unsigned int sdev, char **out)
{
	_cleanup_free_ char *mountinfo = NULL, *any = NULL;
	int ret = read_mountinfo(pid, &mountinfo);

	if (ret)
		return ret;
	for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
		struct mount_line m;

		if (!split_mount_line(line, &m) || m.major != sdev >> 20 ||
		    m.minor != (sdev & 0xfffff))
			continue;
		if (!strcmp(m.root, "/")) {
			*out = strdup(m.mount_point);
			return *out ? 0 : -ENOMEM;
		}
		if (!any && !(any = strdup(m.mount_point)))
			return -ENOMEM;
	}
	if (!any)
		return -ENOENT;
	*out = any;
	any = NULL;
	return 0;
}

/* The files of a tmpfs mount of a tree's own: written at dump into
 * mnt-tmpfs-ID.img as a pax archive (libarchive: modes, owners, times,
 * symlinks, hard links, extended attributes) and made again at restore in
 * the new tmpfs, with libarchive's guards against paths that leave it. The
 * tmpfs is read through a clone of that one mount (open_tree), so files
 * under a mount on top of it are saved too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/archive_lib.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "ns/mnt_internal.h"

static la_ssize_t write_to_image(struct archive *a, void *arg, const void *buf, size_t len)
{
	(void)a;
	return image_write_raw(arg, buf, len) ? -1 : (la_ssize_t)len;
}

/* That mount alone, without what is mounted on it; when open_tree()
 * cannot take it (cryo is not in the tree's mount namespace), the folder,
 * whose mounts on top then hide what is under them. */
static int open_mount(const struct mnt_dump *d, size_t index, bool *alone)
{
	const MountEntry *e = &d->entries[index];
	char path[4096];
	struct stat st;
	int fd;

	*alone = true;
	fd = open_tree(AT_FDCWD, e->mountpoint, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && st.st_dev == d->devs[index])
		return fd;
	if (fd >= 0)
		close(fd);
	*alone = false;
	snprintf(path, sizeof(path), "/proc/%d/root%s", d->pid, e->mountpoint);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d: mount %u (%s): cannot open it", d->pid, e->id,
				    e->mountpoint);
	return fd;
}

static int copy_entry(const struct archive_lib *ar, struct archive *disk, struct archive *out, struct archive_entry *entry)
{
	char buf[65536];
	la_ssize_t n;

	if (ar->archive_write_header(out, entry) < ARCHIVE_WARN)
		return -EIO;
	if (ar->archive_entry_filetype(entry) != AE_IFREG || !ar->archive_entry_size(entry) ||
	    ar->archive_entry_hardlink(entry))
		return 0;
	while ((n = ar->archive_read_data(disk, buf, sizeof(buf))) > 0)
		if (ar->archive_write_data(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -EIO : 0;
}

static int archive_folder(const struct archive_lib *ar, struct archive *disk,
			  struct archive *out)
{
	struct archive_entry_linkresolver *links = ar->archive_entry_linkresolver_new();
	int ret = links ? 0 : -ENOMEM;

	if (links)
		ar->archive_entry_linkresolver_set_strategy(links, ar->archive_format(out));
	while (!ret) {
		struct archive_entry *entry = ar->archive_entry_new(), *sparse = NULL;
		int r = ar->archive_read_next_header2(disk, entry);

		if (r == ARCHIVE_EOF) {
			ar->archive_entry_free(entry);
			break;
		}
		if (r < ARCHIVE_WARN) {
			ar->archive_entry_free(entry);
			ret = -EIO;
			break;
		}
		ar->archive_read_disk_descend(disk);
		ar->archive_entry_linkify(links, &entry, &sparse);
		if (entry)
			ret = copy_entry(ar, disk, out, entry);
		ar->archive_entry_free(entry);
	}
	ar->archive_entry_linkresolver_free(links);
	return ret;
}

int mnt_tmpfs_dump(const struct mnt_dump *d, size_t index, struct image_dir *dir)
{
	const struct archive_lib *ar = archive_lib();
	const MountEntry *e = &d->entries[index];
	_cleanup_close_ int cwd = -1, fd = -1;
	struct image_writer *w = NULL;
	struct archive *disk = NULL, *out = NULL;
	bool alone;
	int ret;

	if (!ar)
		return -ENOENT;
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return pr_errno_ret("dump: cannot open the current folder");
	fd = open_mount(d, index, &alone);
	if (fd < 0)
		return fd;
	if (!alone)
		pr_warn("dump: pid %d: mount %u (%s): read through its path: files hidden under "
			"mounts on it are not saved", d->pid, e->id, e->mountpoint);
	ret = image_open_write(dir, IMG_MNT_TMPFS, (int)e->id, &w);
	if (ret)
		return ret;
	disk = ar->archive_read_disk_new();
	out = ar->archive_write_new();
	if (!disk || !out) {
		ret = -ENOMEM;
		goto out;
	}
	if (fchdir(fd)) {
		ret = -errno;
		goto out;
	}
	ar->archive_read_disk_set_symlink_physical(disk);
	ar->archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	ar->archive_write_set_format_pax_restricted(out);
	if (ar->archive_read_disk_open(disk, ".") || ar->archive_write_open(out, w, NULL, write_to_image,
								    NULL))
		ret = -EIO;
	if (!ret)
		ret = archive_folder(ar, disk, out);
	if (!ret && ar->archive_write_close(out))
		ret = -EIO;
out:
	if (ret)
		pr_err("dump: pid %d: mount %u (%s): cannot save its files: %s", d->pid, e->id,
		       e->mountpoint, out && ar->archive_error_string(out) ? ar->archive_error_string(out) :
		       disk && ar->archive_error_string(disk) ? ar->archive_error_string(disk) :
		       strerror(-ret));
	if (out)
		ar->archive_write_free(out);
	if (disk)
		ar->archive_read_free(disk);
	if (fchdir(cwd) && !ret)
		ret = pr_errno_ret("dump: cannot go back to the current folder");
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

static int extract(const struct archive_lib *ar, struct archive *in, struct archive *ext)
{
	struct archive_entry *entry;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = ar->archive_read_next_header(in, &entry)) == ARCHIVE_OK) {
		if (ar->archive_write_header(ext, entry) < ARCHIVE_WARN)
			return -EIO;
		while ((r = ar->archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
			if (ar->archive_write_data_block(ext, buf, len, off) < ARCHIVE_WARN)
				return -EIO;
		if (r != ARCHIVE_EOF || ar->archive_write_finish_entry(ext) < ARCHIVE_WARN)
			return -EIO;
	}
	return r == ARCHIVE_EOF ? 0 : -EIO;
}

int mnt_tmpfs_restore(int fd, uint32_t id, int dir_fd, const char *mountpoint)
{
	const struct archive_lib *ar = archive_lib();
	_cleanup_close_ int cwd = -1;
	struct archive *in = NULL, *ext = NULL;
	int ret = 0;

	if (!ar)
		return -ENOENT;
	errno = 0;
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	in = ar->archive_read_new();
	ext = ar->archive_write_disk_new();
	if (cwd < 0 || !in || !ext || lseek(fd, 0, SEEK_SET) || fchdir(dir_fd))
		ret = errno ? -errno : -ENOMEM;
	if (!ret) {
		ar->archive_read_support_format_tar(in);
		ar->archive_write_disk_set_options(ext, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
					       ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR |
					       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					       ARCHIVE_EXTRACT_SECURE_SYMLINKS |
					       ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
		if (ar->archive_read_open_fd(in, fd, 65536))
			ret = -EIO;
	}
	if (!ret)
		ret = extract(ar, in, ext);
	if (!ret && ar->archive_write_close(ext))
		ret = -EIO;
	if (ret)
		pr_err("restore: mount %u (%s): cannot make its files again (mnt-tmpfs-%u.img): %s",
		       id, mountpoint, id, ar->archive_error_string(in) ? ar->archive_error_string(in) :
		       ar->archive_error_string(ext) ? ar->archive_error_string(ext) : strerror(-ret));
	if (ext)
		ar->archive_write_free(ext);
	if (in)
		ar->archive_read_free(in);
	if (cwd >= 0 && fchdir(cwd) && !ret)
		ret = pr_errno_ret("restore: cannot go back to the current folder");
	return ret;
}

/* What the trust tests share: images forged as an attacker would, and
 * cryo run as another user (see trust_util.h). Not the tests themselves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "images/crc32c.h"
#include "images/format.h"

#include "cryo_driver.h"
#include "image_util.h"
#include "trust_util.h"

bool give_tree(const char *dir, uid_t uid)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	bool ok = d && !chown(dir, uid, uid);

	while (ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pathf(path, "%s/%s", dir, de->d_name);
		ok = !chown(path, uid, uid);
	}
	if (d)
		closedir(d);
	return ok ? true : fail_why("cannot give %s to uid %u: %s", dir, uid, strerror(errno));
}

bool forge_bytes(const char *dir, const char *only, const void *from, const void *to,
		 size_t len)
{
	char names[64][64], path[PATH_MAX];
	int n = list_images(dir, names, 64), changed = 0;

	for (int i = 0; i < n; i++) {
		static uint8_t buf[1 << 20];
		ssize_t size;
		int fd;

		if (only && strcmp(names[i], only))
			continue;
		pathf(path, "%s/%s", dir, names[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		size = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (size < 0 || (size_t)size >= sizeof(buf)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		for (size_t off = IMG_HDR_SIZE; off + IMG_REC_HDR_SIZE <= (size_t)size;) {
			uint32_t rlen = get_le32(buf + off);
			uint8_t *rec = buf + off + IMG_REC_HDR_SIZE;
			bool hit = false;

			if (rlen == IMG_END_MARK || off + IMG_REC_HDR_SIZE + rlen > (size_t)size)
				break;
			for (uint8_t *at = rec; at + len <= rec + rlen; at++)
				if (!memcmp(at, from, len)) {
					memcpy(at, to, len);
					hit = true;
				}
			if (hit) {
				put_le32(buf + off + 4, crc32c(crc32c(0, buf + off, 4), rec, rlen));
				changed++;
			}
			off += IMG_REC_HDR_SIZE + rlen;
		}
		if (pwrite(fd, buf, (size_t)size, 0) != size)
			changed = -1000;
		close(fd);
	}
	return changed > 0 ? true : fail_why("no record of %s holds the bytes to forge", dir);
}

bool digest_of(const char *dir, const char *name, XXH128_canonical_t *out)
{
	static char buf[1 << 20];
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	pathf(path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf))
		return fail_why("cannot hash %s", path);
	XXH128_canonicalFromHash(out, XXH3_128bits(buf, (size_t)n));
	return true;
}

const gid_t root_group_id = 0;

bool forge_set_bytes(const char *dir, const char *only, const void *from, const void *to,
		     size_t len)
{
	XXH128_canonical_t before[64], after;
	char names[64][64];
	int n = list_images(dir, names, 64);

	for (int i = 0; i < n; i++)
		if (!digest_of(dir, names[i], &before[i]))
			return false;
	if (!forge_bytes(dir, only, from, to, len))
		return false;
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], "inventory.img") || !digest_of(dir, names[i], &after))
			continue;
		if (memcmp(&after, &before[i], sizeof(after)) &&
		    !forge_bytes(dir, NULL, &before[i], &after, sizeof(after)))
			return false;
	}
	return true;
}

void become_unprivileged_restorer(void *group)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2] = { { 0 } };

	caps[1].permitted = caps[1].effective = caps[1].inheritable =
		1u << (CAP_CHECKPOINT_RESTORE - 32);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(group ? 1 : 0, group) ||
	    setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) || syscall(SYS_capset, &hdr, caps) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHECKPOINT_RESTORE, 0, 0)) {
		fprintf(stderr, "test: cannot become uid %d%s with CAP_CHECKPOINT_RESTORE: %s\n",
			OTHER_UID, group ? " in one group" : "", strerror(errno));
		_exit(125);
	}
}

bool restores_as_dumped(struct prog *p, const char *img, pid_t image_pid)
{
	char pidfile[PATH_MAX];
	struct cryo_run r;

	pathf(pidfile, "%s/restored.pid", p->dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	if (r.status)
		return fail_why("the image as dumped does not restore (%d): %s", r.status, r.out);
	p->pid = image_pid;
	return prog_passes(p);
}

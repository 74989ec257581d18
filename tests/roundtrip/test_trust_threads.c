/* The trust tests of a thread's own credentials: a restore grants a thread
 * no more than it grants its process. A uid-1000 program (neg_thread_creds)
 * whose second thread has its own securebits is dumped; its core image is
 * forged (the thread's uid, then its groups), checksum and inventory put
 * right as a forger would, and restored by cryo as uid 1000: each forgery
 * is refused, naming the thread, with nothing left behind; the image as
 * dumped restores and the program passes. A child subreaper, like
 * test_negative. The process's own credentials are test_trust.c's. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/crc32c.h"
#include "images/format.h"
#include "images/proto/core.pb-c.h"
#include "images/proto/inventory.pb-c.h"

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"
#include "trust_util.h"

#define IMAGE_MAX (1 << 20)

/* In the program's child: uid and gid OTHER_UID, no groups, its files its. */
static void become_other_user(void *arg)
{
	const struct prog *p = arg;
	char path[PATH_MAX];

	pathf(path, "%s/prog.out", p->dir);
	if (chown(p->dir, OTHER_UID, OTHER_UID) || chown(path, OTHER_UID, OTHER_UID) ||
	    setgroups(0, NULL) || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
		_exit(125);
}

/* The one record of image @path: its header in @head, its payload in
 * @payload (*@len bytes). */
static bool read_record(const char *path, uint8_t *head, uint8_t *payload, size_t *len)
{
	static uint8_t buf[IMAGE_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	if (n < IMG_HDR_SIZE + IMG_REC_HDR_SIZE || n == (ssize_t)sizeof(buf))
		return fail_why("cannot read %s", path);
	*len = get_le32(buf + IMG_HDR_SIZE);
	if (*len > (size_t)n - IMG_HDR_SIZE - IMG_REC_HDR_SIZE)
		return fail_why("%s: a record longer than the file", path);
	memcpy(head, buf, IMG_HDR_SIZE);
	memcpy(payload, buf + IMG_HDR_SIZE + IMG_REC_HDR_SIZE, *len);
	return true;
}

/* Image @path made again with @head and one record of @len bytes, its
 * checksum and trailer right, as a forger would. */
static bool write_record(const char *path, const uint8_t *head, const uint8_t *payload,
			 size_t len)
{
	static uint8_t buf[IMAGE_MAX];
	uint8_t *rec = buf + IMG_HDR_SIZE;
	size_t size = IMG_HDR_SIZE + IMG_REC_HDR_SIZE + len + IMG_TRAILER_SIZE;
	bool ok;
	int fd;

	if (size > sizeof(buf))
		return fail_why("%s: a record of %zu bytes is too large", path, len);
	memcpy(buf, head, IMG_HDR_SIZE);
	put_le32(rec, (uint32_t)len);
	memcpy(rec + IMG_REC_HDR_SIZE, payload, len);
	put_le32(rec + 4, crc32c(crc32c(0, rec, 4), rec + IMG_REC_HDR_SIZE, len));
	put_le32(rec + IMG_REC_HDR_SIZE + len, IMG_END_MARK);
	put_le32(rec + IMG_REC_HDR_SIZE + len + 4, 1);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ok = fd >= 0 && write(fd, buf, size) == (ssize_t)size;
	if (fd >= 0)
		close(fd);
	return ok ? true : fail_why("cannot write %s: %s", path, strerror(errno));
}

/* The inventory's size and digest of file @name of @dir made its own again. */
static bool put_digest_right(const char *dir, const char *name)
{
	static uint8_t head[IMG_HDR_SIZE], payload[IMAGE_MAX], packed[IMAGE_MAX];
	char path[PATH_MAX], file[PATH_MAX];
	XXH128_canonical_t digest;
	Inventory *inv;
	struct stat st;
	bool found = false, ok;
	size_t len;

	pathf(path, "%s/inventory.img", dir);
	pathf(file, "%s/%s", dir, name);
	if (!digest_of(dir, name, &digest) || stat(file, &st) ||
	    !read_record(path, head, payload, &len))
		return fail_why("%s: cannot read the file, its digest or the inventory", file);
	inv = inventory__unpack(NULL, len, payload);
	if (!inv)
		return fail_why("%s: cannot decode", path);
	for (size_t i = 0; i < inv->n_files; i++) {
		FileDigest *f = inv->files[i];

		if (strcmp(f->name, name) || f->xxh3_128.len != sizeof(digest))
			continue;
		f->size = (uint64_t)st.st_size;
		memcpy(f->xxh3_128.data, &digest, sizeof(digest));
		found = true;
	}
	len = inventory__pack(inv, packed);
	inventory__free_unpacked(inv, NULL);
	if (!found)
		return fail_why("%s lists no XXH3 digest of %s", path, name);
	ok = write_record(path, head, packed, len);
	return ok;
}

static uint32_t root_group[] = { 0 };

static void forge_uid_0(Creds *c)
{
	c->uid = c->euid = c->suid = c->fsuid = 0;
}

static void forge_group_0(Creds *c)
{
	c->groups = root_group;
	c->n_groups = 1;
}

/* core-@pid.img of @dir with @forge applied to the credentials of the one
 * thread that has its own (its tid in *@tid), and the inventory put right. */
static bool forge_thread_creds(const char *dir, pid_t pid, void (*forge)(Creds *), pid_t *tid)
{
	static uint8_t head[IMG_HDR_SIZE], payload[IMAGE_MAX], packed[IMAGE_MAX];
	char name[64], path[PATH_MAX];
	TaskCore *core;
	Creds *c = NULL;
	uint32_t *groups;
	size_t len, n_groups;

	snprintf(name, sizeof(name), "core-%d.img", pid);
	pathf(path, "%s/%s", dir, name);
	if (!read_record(path, head, payload, &len))
		return false;
	core = task_core__unpack(NULL, len, payload);
	if (!core)
		return fail_why("%s: cannot decode", path);
	for (size_t i = 0; i < core->n_threads; i++) {
		if (core->threads[i]->creds) {
			c = core->threads[i]->creds;
			*tid = core->threads[i]->tid;
		}
	}
	if (!c) {
		task_core__free_unpacked(core, NULL);
		return fail_why("%s: no thread has credentials of its own", path);
	}
	/* The decoder frees what it allocated, not what the forger put in. */
	groups = c->groups;
	n_groups = c->n_groups;
	forge(c);
	len = task_core__pack(core, packed);
	c->groups = groups;
	c->n_groups = n_groups;
	task_core__free_unpacked(core, NULL);
	return write_record(path, head, packed, len) && put_digest_right(dir, name);
}

/* A copy of @img, forged by @forge and given to uid 1000, restored by cryo
 * as uid 1000 (in group 0, with CAP_CHECKPOINT_RESTORE alone): refused,
 * naming the thread and what it asks for (@asks), and @why_refused. */
static bool forged_thread_refused(const struct prog *p, const char *img, pid_t image_pid,
				  void (*forge)(Creds *), const char *asks,
				  const char *why_refused)
{
	char copy[PATH_MAX], expect[128];
	struct cryo_run r;
	pid_t tid = 0;

	pathf(copy, "%s/forged", p->dir);
	if (!copy_images(img, copy) || !forge_thread_creds(copy, image_pid, forge, &tid) ||
	    !give_tree(copy, OTHER_UID))
		return false;
	run_cryo_with(&r, become_unprivileged_restorer, (void *)&root_group_id,
		      CRYO_ARGS("restore", "-D", copy, "-d"));
	snprintf(expect, sizeof(expect), "pid %d thread %d: the image asks for %s", image_pid,
		 tid, asks);
	return refused(&r, expect, why_refused, NULL) && nothing_restored(p, image_pid, 0);
}

TEST(restore_grants_a_thread_no_credentials_its_process_could_not_have)
{
	char img[PATH_MAX];
	struct prog p = { 0 };
	pid_t image_pid = 0;

	CHECK_GOTO(make_image_as(&p, "neg_thread_creds", become_other_user, &p, img, &image_pid),
		   out, "%s", why);
	CHECK_GOTO(!chmod(p.dir, 0711), out, "chmod %s: %s", p.dir, strerror(errno));
	CHECK_GOTO(forged_thread_refused(&p, img, image_pid, forge_uid_0, "uid 0",
					 "without full privileges) may not grant: refused"),
		   out, "the thread's uid forged to 0: %s", why);
	/* cryo is in group 0 itself: only the owner's bound refuses it. */
	CHECK_GOTO(forged_thread_refused(&p, img, image_pid, forge_group_0, "group 0",
					 "owned by uid 1000, who is not in it: refused"),
		   out, "the thread's groups forged to 0: %s", why);
	CHECK_GOTO(restores_as_dumped(&p, img, image_pid), out, "%s", why);
out:
	end_prog(&p);
}

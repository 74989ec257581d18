/* The trust tests: what a restore trusts and grants. Who owns and may
 * write the images (StrictModes), the credentials a restore grants (the
 * caller's bound, and the image owner's), files opened with the task's own
 * credentials, one set whole (digests, and the dump id in every header),
 * and signed sets (--sign-key). Each runs the real cryo binary on an image
 * forged or planted as an attacker would, and checks that it is refused by
 * name with nothing left behind. A child subreaper, like test_negative. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include <xxhash.h>

#include "images/crc32c.h"
#include "images/format.h"

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"
#include "trust_util.h"

/* The file a uid-1000 program holds open sits here. */
#define ODD_FD 5

static void put_at_odd_fd(int fd)
{
	if (fd < 0 || dup2(fd, ODD_FD) < 0)
		_exit(126);
	if (fd != ODD_FD)
		close(fd);
}

/* ---- the trust model: who owns the images, what a restore grants ---------------- */

static int make_world_writable(const char *path)
{
	return chmod(path, 0777);
}

static int make_file_world_writable(const char *path)
{
	return chmod(path, 0666);
}

static int make_group_writable(const char *path)
{
	return chmod(path, 0620);
}

static int give_to_other_user(const char *path)
{
	return chown(path, OTHER_UID, OTHER_UID);
}

/* As ssh's StrictModes: an image directory or file that another user owns
 * or may write is refused by name before anything is read from it. */
TEST(restore_refuses_images_another_user_owns_or_may_write)
{
	char img[PATH_MAX], core[64];
	struct prog p = { 0 };
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	snprintf(core, sizeof(core), "core-%d.img", image_pid);
	CHECK_GOTO(refused_after(&p, img, image_pid, NULL, make_world_writable,
				 "is writable by everyone"),
		   out, "directory mode 0777: %s", why);
	CHECK_GOTO(refused_after(&p, img, image_pid, core, make_file_world_writable,
				 "is writable by everyone"),
		   out, "file mode 0666: %s", why);
	CHECK_GOTO(refused_after(&p, img, image_pid, "inventory.img", make_group_writable,
				 "is writable by its group"),
		   out, "file mode 0620: %s", why);
	CHECK_GOTO(refused_after(&p, img, image_pid, core, give_to_other_user,
				 "is owned by uid 1000, neither the caller (uid 0) nor root"),
		   out, "file of uid 1000: %s", why);
	CHECK_GOTO(refused_after(&p, img, image_pid, NULL, give_to_other_user,
				 "is owned by uid 1000"),
		   out, "directory of uid 1000: %s", why);
out:
	end_prog(&p);
}

/* cryo with CAP_CHECKPOINT_RESTORE alone, as uid 1000, restoring its own
 * images of a root process: the root ids and capabilities are refused by
 * name before anything is created. */
TEST(restore_without_full_privileges_grants_only_the_callers_credentials)
{
	char img[PATH_MAX], copy[PATH_MAX], expect[64];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/own", p.dir);
	CHECK_GOTO(copy_images(img, copy) && give_tree(copy, OTHER_UID), out, "%s", why);
	CHECK_GOTO(!chmod(p.dir, 0711), out, "chmod %s: %s", p.dir, strerror(errno));
	run_cryo_with(&r, become_unprivileged_restorer, NULL, CRYO_ARGS("restore", "-D", copy,
									 "-d"));
	snprintf(expect, sizeof(expect), "pid %d: the image asks for uid 0", image_pid);
	CHECK_GOTO(refused(&r, expect, "without full privileges) may not grant: refused", NULL),
		   out, "%s", why);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

/* ---- files opened with the task's own credentials -------------------------------- */

/* Set up in the program's child as root, then run as OTHER_UID: a file
 * open at ODD_FD (public, or a deleted one it made in userd/), beside a
 * root-only file (secret) and a root-only directory (rootd/). */
static void setup_other_user_prog(void *arg)
{
	const struct prog *p = arg;
	char path[PATH_MAX];
	bool deleted = p->maps[0] == 'd';
	int fd;

	pathf(path, "%s/secret", p->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "root only", 9) != 9)
		_exit(120);
	close(fd);
	pathf(path, "%s/public", p->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		_exit(121);
	close(fd);
	pathf(path, "%s/rootd", p->dir);
	if (mkdir(path, 0755))
		_exit(122);
	pathf(path, "%s/userd", p->dir);
	if (mkdir(path, 0755) || chown(path, OTHER_UID, OTHER_UID))
		_exit(123);
	pathf(path, "%s/prog.out", p->dir);
	if (chown(p->dir, OTHER_UID, OTHER_UID) || chown(path, OTHER_UID, OTHER_UID))
		_exit(124);
	if (setgroups(0, NULL) || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
		_exit(125);
	pathf(path, deleted ? "%s/userd/made" : "%s/public", p->dir);
	fd = open(path, deleted ? O_RDWR | O_CREAT | O_EXCL : O_RDONLY, 0600);
	if (fd < 0 || (deleted && (write(fd, "mine", 4) != 4 || unlink(path))))
		_exit(126);
	put_at_odd_fd(fd);
}

/* A uid-1000 program with a file open: its image forged so that the fd
 * names a root-only file (or its deleted file is made in a root-only
 * directory) is refused, the file neither opened nor made by cryo's
 * rights; the image as dumped restores and the program passes. */
static void check_forged_path(const char *from, const char *to, const char *cause)
{
	char img[PATH_MAX], forged[PATH_MAX], pid_text[16], made[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;
	int status;

	p.maps[0] = from[0] == 'u' ? 'd' : 'p';
	CHECK_GOTO(start_prog(&p, "prog_counter", setup_other_user_prog, &p), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	pathf(forged, "%s/forged", p.dir);
	CHECK_GOTO(copy_images(img, forged) &&
		   forge_set_bytes(forged, NULL, from, to, strlen(from)), out, "%s", why);
	CHECK_GOTO(restore_refused(&p, forged, image_pid, "forged path", cause, "Permission denied"),
		   out, "%s", why);
	pathf(made, "%s/rootd/made", p.dir);
	CHECK_GOTO(access(made, F_OK), out, "cryo made %s for the uid-1000 image", made);
	CHECK_GOTO(restores_as_dumped(&p, img, image_pid), out, "%s", why);
out:
	end_prog(&p);
}

TEST(restore_opens_a_task_file_with_the_tasks_own_credentials)
{
	check_forged_path("/public", "/secret", "/secret");
}

TEST(restore_makes_a_deleted_file_with_the_tasks_own_credentials)
{
	check_forged_path("userd/made", "rootd/made", "cannot recreate the deleted file");
}

/* ---- one set, whole ------------------------------------------------------------ */

/* Flips one bit of the byte at @at of @path. */
static int flip_byte_at(const char *path, off_t at)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char byte;
	int ret = fd >= 0 && pread(fd, &byte, 1, at) == 1 ? 0 : -1;

	byte ^= 0x10;
	if (!ret && pwrite(fd, &byte, 1, at) != 1)
		ret = -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int flip_first_page_byte(const char *path)
{
	return flip_byte_at(path, 100);
}

/* Flips a byte of the saved vDSO's first page, found as this runner's
 * own vDSO (one kernel). Restore never copies those pages into the task
 * unless it proxies the vDSO: the restorer reads them only for the
 * digest. */
static int flip_vdso_page_byte(const char *path)
{
	const unsigned char *vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	unsigned char page[4096];
	int fd = open(path, O_RDWR | O_CLOEXEC), ret = -1;

	if (!vdso || fd < 0) {
		errno = vdso ? errno : ENOENT;
		goto out;
	}
	for (off_t off = 0; pread(fd, page, sizeof(page), off) == (ssize_t)sizeof(page);
	     off += (off_t)sizeof(page)) {
		if (memcmp(page, vdso, sizeof(page)))
			continue;
		page[200] ^= 0x10;
		ret = pwrite(fd, &page[200], 1, off + 200) == 1 ? 0 : -1;
		goto out;
	}
	errno = ENOENT;	/* the vDSO's pages are not in the pages file */
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A set whose pages were flipped, or taken from another dump of the
 * same process, or with an image no dump of it wrote, is refused naming
 * the file, before anything is created. */
TEST(restore_refuses_a_set_that_is_not_one_whole_dump)
{
	char img[PATH_MAX], other[PATH_MAX], copy[PATH_MAX], pages[64], core[64], from[PATH_MAX];
	char to[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(other, "%s/other", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", other, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	sleep_ms(50);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	snprintf(pages, sizeof(pages), "pages-%d.img", image_pid);
	snprintf(core, sizeof(core), "core-%d.img", image_pid);
	CHECK_GOTO(refused_after(&p, img, image_pid, pages, flip_first_page_byte,
				 "its digest differs from the inventory's"),
		   out, "a flipped page: %s", why);
	CHECK_GOTO(refused_after(&p, img, image_pid, pages, flip_vdso_page_byte,
				 "its digest differs from the inventory's"),
		   out, "a flipped byte of the saved vDSO: %s", why);
	pathf(copy, "%s/mixed", p.dir);
	pathf(from, "%s/%s", other, pages);
	pathf(to, "%s/%s", copy, pages);
	CHECK_GOTO(copy_images(img, copy) && copy_file(from, to), out, "%s", why);
	CHECK_GOTO(restore_refused(&p, copy, image_pid, "pages of another dump", to,
				   "from another dump"),
		   out, "%s", why);
	pathf(from, "%s/%s", img, core);
	pathf(to, "%s/core-1.img", copy);
	CHECK_GOTO(copy_images(img, copy) && copy_file(from, to), out, "%s", why);
	CHECK_GOTO(restore_refused(&p, copy, image_pid, "an extra image", to,
				   "not part of this dump"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* Flips the byte in the middle of the pages file. */
static int flip_middle_page_byte(const char *path)
{
	struct stat st;

	return stat(path, &st) || st.st_size < 2 ? -1 : flip_byte_at(path, st.st_size / 2);
}

/* A flipped byte in a range the restorer fills by UFFDIO_COPY (256 KiB
 * or more) is caught as one in a range it reads: prog_memory's 10 MiB heap
 * and 4 MiB area are most of its pages file, so its middle lies in one. */
TEST(restore_refuses_a_flipped_byte_in_a_large_range)
{
	char img[PATH_MAX], pages[64];
	struct prog p = { 0 };
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_memory", img, &image_pid), out, "%s", why);
	snprintf(pages, sizeof(pages), "pages-%d.img", image_pid);
	CHECK_GOTO(refused_after(&p, img, image_pid, pages, flip_middle_page_byte,
				 "its digest differs from the inventory's"),
		   out, "a flipped byte in the middle: %s", why);
out:
	end_prog(&p);
}

/* Where cryo's filler copied first, as its log of a clean restore said. */
static unsigned long long filler_first;

static int flip_filler_byte(const char *path)
{
	return flip_byte_at(path, (off_t)filler_first + 4096 + 7);
}

/* cryo's filler copies every other 4 MiB of a large range into the task
 * (forced on by CRYO_TEST_FILLER for prog_memory's 14 MiB): the memory
 * comes back whole, and a byte flipped in the part cryo copied is caught,
 * since the restorer hashes cryo's pages from memory as well. */
TEST(restore_refuses_a_flipped_byte_in_the_part_cryos_filler_copies)
{
	char img[PATH_MAX], clean[PATH_MAX], pages[64];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	const char *said;

	setenv("CRYO_TEST_FILLER", "1", 1);
	CHECK_GOTO(make_image(&p, "prog_memory", img, &image_pid), out, "%s", why);
	pathf(clean, "%s/clean", p.dir);
	CHECK_GOTO(copy_images(img, clean), out, "%s", why);
	prog_cryo(&r, &p, "restore", "-D", clean, "-d", "-v4");
	CHECK_GOTO(r.status == 0, out, "the restore with the filler failed (%d): %s", r.status,
		   r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "restored with the filler: %s", why);
	said = strstr(r.out, "cryo's filler copied ");
	CHECK_GOTO(said && sscanf(said, "cryo's filler copied %*u bytes, the first at file "
				  "offset %llx", &filler_first) == 1,
		   out, "no filler at work in the log: %s", r.out);
	snprintf(pages, sizeof(pages), "pages-%d.img", image_pid);
	CHECK_GOTO(refused_after(&p, img, image_pid, pages, flip_filler_byte,
				 "its digest differs from the inventory's"),
		   out, "a flipped byte in cryo's part: %s", why);
out:
	unsetenv("CRYO_TEST_FILLER");
	end_prog(&p);
}

/* A file of another dump of the same process, even one whose digest the
 * inventory never saw, is refused by the dump id in its header. */
TEST(restore_refuses_a_file_whose_header_names_another_dump)
{
	char img[PATH_MAX], other[PATH_MAX], copy[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	char pid_text[16], name[64];
	const char *kinds[] = { "core-%d.img", "mm-%d.img", "pagemap-%d.img" };
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(other, "%s/other", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", other, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	pathf(img, "%s/img", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(name, sizeof(name), kinds[i], image_pid);
		pathf(copy, "%s/mixed", p.dir);
		pathf(from, "%s/%s", other, name);
		pathf(to, "%s/%s", copy, name);
		CHECK_GOTO(copy_images(img, copy) && copy_file(from, to), out, "%s", why);
		CHECK_GOTO(restore_refused(&p, copy, image_pid, name, to, ": belongs to dump "),
			   out, "%s", why);
	}
out:
	end_prog(&p);
}

/* Rewrites every image with a header in @dir as format 1 wrote it: no
 * dump id, a 20-byte header. */
static bool make_format_1(const char *dir)
{
	char names[64][64], path[PATH_MAX];
	int n = list_images(dir, names, 64);

	for (int i = 0; i < n; i++) {
		static uint8_t buf[1 << 20];
		ssize_t size;
		int fd;

		if (!strncmp(names[i], "pages-", 6))
			continue;
		pathf(path, "%s/%s", dir, names[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		size = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (size < IMG_HDR_SIZE || size == (ssize_t)sizeof(buf)) {
			if (fd >= 0)
				close(fd);
			return fail_why("cannot read %s", path);
		}
		put_le32(buf + IMG_HDR_VERSION_OFF, 1);
		memmove(buf + IMG_V1_HDR_SIZE, buf + IMG_HDR_SIZE, (size_t)size - IMG_HDR_SIZE);
		put_le32(buf + IMG_V1_HDR_CRC_OFF, crc32c(0, buf, IMG_V1_HDR_CRC_OFF));
		size -= IMG_HDR_SIZE - IMG_V1_HDR_SIZE;
		/* The inventory's format_version (field 1, first) said 1 too. */
		if (!strcmp(names[i], "inventory.img") && buf[IMG_V1_HDR_SIZE + 8] == 0x08 &&
		    buf[IMG_V1_HDR_SIZE + 9] == 0x02) {
			uint32_t rlen = get_le32(buf + IMG_V1_HDR_SIZE);

			buf[IMG_V1_HDR_SIZE + 9] = 0x01;
			put_le32(buf + IMG_V1_HDR_SIZE + 4,
				 crc32c(crc32c(0, buf + IMG_V1_HDR_SIZE, 4),
					buf + IMG_V1_HDR_SIZE + IMG_REC_HDR_SIZE, rlen));
		}
		if (pwrite(fd, buf, (size_t)size, 0) != size || ftruncate(fd, size)) {
			close(fd);
			return fail_why("cannot rewrite %s", path);
		}
		close(fd);
	}
	return true;
}

/* A set in format 1, whose headers name no dump, cannot be tied into one
 * set: restore refuses it by name (cryo show still reads it). */
TEST(restore_refuses_a_set_of_format_1)
{
	char img[PATH_MAX], copy[PATH_MAX], inventory[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/format1", p.dir);
	CHECK_GOTO(copy_images(img, copy) && make_format_1(copy), out, "%s", why);
	pathf(inventory, "%s/inventory.img", copy);
	run_cryo(&r, "show", inventory);
	CHECK_GOTO(r.status == 0 && strstr(r.out, "\"version\": 1"), out,
		   "cryo show of a format-1 inventory (%d): %s", r.status, r.out);
	CHECK_GOTO(restore_refused(&p, copy, image_pid, "format 1", inventory,
				   "name different dumps (or none: an older cryo's set)"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* ---- signed sets ------------------------------------------------------------------ */

/* Writes @len bytes into a new file @path of mode @mode. */
static bool write_key(const char *path, const void *bytes, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, bytes, len) == (ssize_t)len && !fchmod(fd, mode);

	if (fd >= 0 && close(fd))
		ok = false;
	return ok ? true : fail_why("cannot write key %s: %s", path, strerror(errno));
}

/* One key as 32 raw bytes (@raw) and as hex with a newline (@hex), and
 * another key (@other), all mode 0600; the same key mode 0644 (@open). */
static bool make_keys(const char *dir, char *raw, char *hex, char *other, char *open_key)
{
	uint8_t key[32], key2[32];
	char text[2 * sizeof(key) + 2];

	if (getrandom(key, sizeof(key), 0) != sizeof(key) ||
	    getrandom(key2, sizeof(key2), 0) != sizeof(key2))
		return fail_why("getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(key); i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	strcat(text, "\n");
	pathf(raw, "%s/key.raw", dir);
	pathf(hex, "%s/key.hex", dir);
	pathf(other, "%s/key.other", dir);
	pathf(open_key, "%s/key.open", dir);
	return write_key(raw, key, sizeof(key), 0600) &&
	       write_key(hex, text, strlen(text), 0600) &&
	       write_key(other, key2, sizeof(key2), 0600) &&
	       write_key(open_key, key, sizeof(key), 0644);
}

/* Restores @dir with --sign-key @key (none if NULL): refused with @expect
 * naming the inventory, nothing left behind. */
static bool signed_restore_refused(const struct prog *p, const char *dir, pid_t image_pid,
				   const char *key, const char *expect)
{
	char pidfile[PATH_MAX], inventory[PATH_MAX];
	struct cryo_run r;

	pathf(pidfile, "%s.pid", dir);
	pathf(inventory, "%s/inventory.img", dir);
	if (key)
		prog_cryo(&r, p, "restore", "-D", dir, "-d", "--pidfile", pidfile, "--sign-key",
			  key);
	else
		prog_cryo(&r, p, "restore", "-D", dir, "-d", "--pidfile", pidfile);
	if (!refused(&r, expect, NULL))
		return fail_why("%s (key %s): %s", dir, key ? key : "none", why);
	return nothing_restored(p, image_pid, 0);
}


/* --sign-key: a key of the wrong mode is refused before the program is
 * touched; a signed set restores only with its key (raw or hex), and is
 * refused without one, with another, or once its inventory was rewritten
 * without the key; an unsigned set is refused when a key is given. */
TEST(signed_set_restores_only_with_its_key)
{
	char raw[PATH_MAX], hex[PATH_MAX], other[PATH_MAX], open_key[PATH_MAX];
	char unsigned_img[PATH_MAX], signed_img[PATH_MAX], forged[PATH_MAX], pidfile[PATH_MAX];
	char pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	CHECK_GOTO(make_keys(p.dir, raw, hex, other, open_key), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(signed_img, "%s/signed", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", signed_img, "--sign-key", open_key);
	CHECK_GOTO(refused(&r, "key.open: mode 0644 lets others read or write it", NULL), out,
		   "dump with a 0644 key: %s", why);
	CHECK_GOTO(no_inventory(signed_img) && prog_unharmed(&p), out, "after the refused dump: %s",
		   why);
	pathf(unsigned_img, "%s/unsigned", p.dir);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", unsigned_img, "-R");
	CHECK_GOTO(r.status == 0, out, "unsigned dump -R failed (%d): %s", r.status, r.out);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", signed_img, "--sign-key", hex);
	CHECK_GOTO(r.status == 0, out, "signed dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;

	CHECK_GOTO(signed_restore_refused(&p, signed_img, image_pid, NULL,
					  "the set is signed: restore it with its --sign-key"),
		   out, "%s", why);
	CHECK_GOTO(signed_restore_refused(&p, signed_img, image_pid, other,
					  "its MAC does not match the key"),
		   out, "%s", why);
	CHECK_GOTO(signed_restore_refused(&p, signed_img, image_pid, open_key,
					  "key.open: mode 0644 lets others read or write it"),
		   out, "%s", why);
	CHECK_GOTO(signed_restore_refused(&p, unsigned_img, image_pid, raw,
					  "the set is not signed, and a sign key was given"),
		   out, "%s", why);
	pathf(forged, "%s/forged", p.dir);
	CHECK_GOTO(copy_images(signed_img, forged) &&
			   forge_bytes(forged, "inventory.img", "x86_64", "x86_65", 6),
		   out, "%s", why);
	CHECK_GOTO(signed_restore_refused(&p, forged, image_pid, raw,
					  "its MAC does not match the key"),
		   out, "a rewritten inventory: %s", why);

	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", signed_img, "-d", "--pidfile", pidfile, "--sign-key",
		  raw);
	CHECK_GOTO(r.status == 0, out, "the signed set does not restore with its key (%d): %s",
		   r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* ---- what an image's owner could hold -------------------------------------------- */

/* In the program's child: uid and gid OTHER_UID with group 0 besides, a
 * group uid 1000 is not in (the user database says so). */
static void become_other_user_in_group_0(void *arg)
{
	const struct prog *p = arg;
	const gid_t groups[] = { 0 };
	char path[PATH_MAX];

	pathf(path, "%s/prog.out", p->dir);
	if (chown(p->dir, OTHER_UID, OTHER_UID) || setgroups(1, groups) ||
	    setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
		_exit(125);
}

/* An unsigned set owned by uid 1000 asks for group 0: cryo itself is in
 * group 0 (so the caller's bound would grant it), but uid 1000 is not, so
 * no process of the image's owner could hold it: refused by name. */
TEST(unsigned_set_grants_only_what_its_owner_could_hold)
{
	char img[PATH_MAX], copy[PATH_MAX], expect[64], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_counter", become_other_user_in_group_0, &p), out, "%s",
		   why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	run_cryo(&r, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	pathf(copy, "%s/own", p.dir);
	CHECK_GOTO(copy_images(img, copy) && give_tree(copy, OTHER_UID), out, "%s", why);
	CHECK_GOTO(!chmod(p.dir, 0711), out, "chmod %s: %s", p.dir, strerror(errno));
	run_cryo_with(&r, become_unprivileged_restorer, (void *)&root_group_id,
		      CRYO_ARGS("restore", "-D", copy, "-d"));
	snprintf(expect, sizeof(expect), "pid %d: the image asks for group 0", image_pid);
	CHECK_GOTO(refused(&r, expect, "owned by uid 1000, who is not in it: refused", NULL), out,
		   "%s", why);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

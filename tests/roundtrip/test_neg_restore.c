/* Negative tests (test_negative.c says what they check): restores refused
 * for their images (empty, missing, truncated, bit-flipped, from a newer
 * format, FIFOs and symlinks planted in place of images) or for what the
 * host holds now (a SysV key, a UDP port, the ping group range, a mapped
 * file gone: its message names the pid once; a veth whose outer end is not
 * named; a pidfd of a live child in flight in a pair two processes share; a
 * named anonymous mapping on a kernel that names none). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/sched.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* ---- restore: damaged, missing and conflicting images ------------------------ */

/* The pages file is raw page data: no header, no checksum. */
static bool has_header(const char *name)
{
	return strncmp(name, "pages-", 6) != 0;
}

/* A segment not marked for removal outlives its dumped program: a restore
 * that finds its id taken refuses before it creates anything, and one
 * after the segment is gone brings it back with its bytes and key. */
TEST(restore_refuses_a_sysv_segment_that_still_exists)
{
	char img[PATH_MAX], pidfile[PATH_MAX], expect[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int id = -1;

	CHECK_GOTO(make_image(&p, "neg_sysv_shm", img, &image_pid), out, "%s", why);
	id = sysv_segment_of(image_pid);
	CHECK_GOTO(id >= 0, out, "the segment did not outlive the program: %s", strerror(errno));
	snprintf(expect, sizeof(expect), "SysV segment %d (key %#x): a segment with that id "
		 "already exists", id, 0x5f000000 | image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "segment still there", expect, NULL), out,
		   "%s", why);
	CHECK_GOTO(sysv_segment_of(image_pid) == id, out, "the refused restore touched the "
		   "segment that was there");
	CHECK_GOTO(shmctl(id, IPC_RMID, NULL) == 0, out, "ipcrm: %s", strerror(errno));
	id = -1;
	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore after removing the segment failed (%d): %s",
		   r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (image_pid && (id = sysv_segment_of(image_pid)) >= 0)
		shmctl(id, IPC_RMID, NULL);
	end_prog(&p);
}

/* A segment marked for removal has a private key: another segment may
 * take its key before the restore (here, one the test makes with
 * prog_shmem's key), and the restore must still succeed, making the
 * removed segment without its key. */
TEST(restore_makes_a_removed_sysv_segment_whose_key_is_taken)
{
	char img[PATH_MAX], pidfile[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int taker = -1;

	CHECK_GOTO(make_image(&p, "prog_shmem", img, &image_pid), out, "%s", why);
	/* Its children's pids must be free again too. */
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "prog_shmem's children outlive its dump");
	taker = shmget((key_t)(0x5e000000 | image_pid), 4096, IPC_CREAT | IPC_EXCL | 0600);
	CHECK_GOTO(taker >= 0, out, "cannot make a segment with prog_shmem's key: %s",
		   strerror(errno));
	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile, "-v3");
	CHECK_GOTO(r.status == 0, out, "the restore with the removed segment's key taken failed "
		   "(%d): %s", r.status, r.out);
	CHECK_GOTO(strstr(r.out, "made with IPC_PRIVATE"), out, "the restore does not say that "
		   "it made the segment without its key: %s", r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
	CHECK_GOTO(shmget((key_t)(0x5e000000 | image_pid), 0, 0) == taker, out, "the key no "
		   "longer finds the test's segment %d", taker);
out:
	if (taker >= 0)
		shmctl(taker, IPC_RMID, NULL);
	end_prog(&p);
}

TEST(restore_from_an_empty_directory_is_refused)
{
	char dir[PATH_MAX] = "", img[PATH_MAX];
	struct cryo_run r;

	CHECK(make_temp_dir(dir), "%s", why);
	pathf(img, "%s/img", dir);
	mkdir(img, 0700);
	run_cryo(&r, "restore", "-D", img, "-d");
	CHECK_GOTO(refused(&r, img, "has no inventory.img", NULL), out, "%s", why);
	pathf(img, "%s/missing", dir);
	run_cryo(&r, "restore", "-D", img, "-d");
	CHECK_GOTO(refused(&r, img, "No such file or directory", NULL), out, "%s", why);
out:
	remove_temp_dir(dir);
}

TEST(restore_without_any_one_image_file_is_refused)
{
	char img[PATH_MAX], copy[PATH_MAX], gone[PATH_MAX], names[32][64];
	struct prog p = { 0 };
	pid_t image_pid;
	int n;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/copy", p.dir);
	n = list_images(img, names, 32);
	CHECK_GOTO(n >= 6, out, "only %d image files in %s", n, img);
	for (int i = 0; i < n; i++) {
		const char *expect = strcmp(names[i], "inventory.img") ? names[i] :
									  "has no inventory.img";

		CHECK_GOTO(copy_images(img, copy), out, "%s", why);
		pathf(gone, "%s/%s", copy, names[i]);
		unlink(gone);
		CHECK_GOTO(restore_refused(&p, copy, image_pid, names[i], expect, NULL), out,
			   "without %s", why);
	}
out:
	end_prog(&p);
}

TEST(restore_of_truncated_images_is_refused)
{
	char img[PATH_MAX], copy[PATH_MAX], path[PATH_MAX], names[32][64], what[128];
	struct prog p = { 0 };
	pid_t image_pid;
	struct stat st;
	int n;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/copy", p.dir);
	n = list_images(img, names, 32);
	for (int i = 0; i < n; i++) {
		off_t cuts[6];
		int nr_cuts = 0;

		pathf(path, "%s/%s", img, names[i]);
		CHECK_GOTO(!stat(path, &st), out, "stat %s: %s", path, strerror(errno));
		cuts[nr_cuts++] = 0;
		if (has_header(names[i])) {
			/* Inside the header, the header alone, half, no trailer, one byte short. */
			cuts[nr_cuts++] = 10;
			cuts[nr_cuts++] = 20;
			cuts[nr_cuts++] = st.st_size / 2;
			cuts[nr_cuts++] = st.st_size - 8;
		} else {
			cuts[nr_cuts++] = st.st_size - 4096;	/* a page lost */
		}
		cuts[nr_cuts++] = st.st_size - 1;
		for (int c = 0; c < nr_cuts; c++) {
			if (cuts[c] < 0 || cuts[c] >= st.st_size)
				continue;
			CHECK_GOTO(copy_images(img, copy), out, "%s", why);
			pathf(path, "%s/%s", copy, names[i]);
			CHECK_GOTO(!truncate(path, cuts[c]), out, "truncate %s: %s", path,
				   strerror(errno));
			snprintf(what, sizeof(what), "%.63s cut to %lld of %lld bytes", names[i],
				 (long long)cuts[c], (long long)st.st_size);
			CHECK_GOTO(restore_refused(&p, copy, image_pid, what, names[i], NULL), out,
				   "%s", why);
		}
	}
out:
	end_prog(&p);
}

static bool flip_bit(const char *path, off_t off, int bit)
{
	unsigned char byte;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	bool ok = fd >= 0 && pread(fd, &byte, 1, off) == 1;

	byte ^= 1u << bit;
	ok = ok && pwrite(fd, &byte, 1, off) == 1;
	if (fd >= 0)
		close(fd);
	return ok ? true : fail_why("cannot flip a bit of %s at %lld", path, (long long)off);
}

/* A bit flipped in the magic, version, kind, header crc, first record's
 * length, crc and payload, the middle, the trailer and the last byte of
 * every file with a header. The pages file carries no checksum (IMAGES.md). */
TEST(restore_of_bit_flipped_images_is_refused)
{
	char img[PATH_MAX], copy[PATH_MAX], path[PATH_MAX], names[32][64], what[128];
	struct prog p = { 0 };
	pid_t image_pid;
	struct stat st;
	int n, tried = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/copy", p.dir);
	n = list_images(img, names, 32);
	for (int i = 0; i < n; i++) {
		off_t spots[11];
		int nr_spots = 0;

		if (!has_header(names[i]))
			continue;
		pathf(path, "%s/%s", img, names[i]);
		CHECK_GOTO(!stat(path, &st), out, "stat %s: %s", path, strerror(errno));
		for (off_t off = 0; off <= 28; off += 4)
			spots[nr_spots++] = off;
		spots[nr_spots++] = st.st_size / 2;
		spots[nr_spots++] = st.st_size - 8;
		spots[nr_spots++] = st.st_size - 1;
		for (int s = 0; s < nr_spots; s++) {
			int bit = (int)(spots[s] % 8);

			if (spots[s] >= st.st_size)
				continue;
			CHECK_GOTO(copy_images(img, copy), out, "%s", why);
			pathf(path, "%s/%s", copy, names[i]);
			CHECK_GOTO(flip_bit(path, spots[s], bit), out, "%s", why);
			snprintf(what, sizeof(what), "%.63s with bit %d of byte %lld flipped", names[i],
				 bit, (long long)spots[s]);
			CHECK_GOTO(restore_refused(&p, copy, image_pid, what, names[i], NULL), out,
				   "%s", why);
			tried++;
		}
	}
	CHECK_GOTO(tried >= 50, out, "only %d flips tried", tried);
out:
	end_prog(&p);
}

/* The format version (a little-endian u32 after the 8-byte magic) of each
 * file raised by one, as a newer cryo would write it. */
TEST(restore_of_an_image_from_a_newer_format_is_refused)
{
	char img[PATH_MAX], copy[PATH_MAX], path[PATH_MAX], names[32][64], what[128];
	struct prog p = { 0 };
	pid_t image_pid;
	uint8_t version[4];
	int n, fd;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/copy", p.dir);
	n = list_images(img, names, 32);
	for (int i = 0; i < n; i++) {
		uint32_t v;
		bool ok;

		if (!has_header(names[i]))
			continue;
		CHECK_GOTO(copy_images(img, copy), out, "%s", why);
		pathf(path, "%s/%s", copy, names[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		ok = fd >= 0 && pread(fd, version, 4, 8) == 4;
		v = version[0] | version[1] << 8 | version[2] << 16 | (uint32_t)version[3] << 24;
		v++;
		for (int b = 0; b < 4; b++)
			version[b] = (uint8_t)(v >> (8 * b));
		ok = ok && pwrite(fd, version, 4, 8) == 4;
		if (fd >= 0)
			close(fd);
		CHECK_GOTO(ok, out, "cannot raise the version of %s", path);
		snprintf(what, sizeof(what), "%.63s at version %u", names[i], v);
		CHECK_GOTO(restore_refused(&p, copy, image_pid, what, names[i], "use a newer cryo"),
			   out, "%s", why);
	}
out:
	end_prog(&p);
}

/* Restores the image of @prog (which writes its port in its "port" file)
 * with that port taken by a socket of @type of this test, bound without
 * SO_REUSEADDR: the restore fails naming the port and leaves nothing; once
 * the port is free again the same image restores and the program passes. */
static void port_taken_then_freed(const char *prog, int type)
{
	struct sockaddr_in taken = { .sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char img[PATH_MAX], path[PATH_MAX], pidfile[PATH_MAX], expect[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	unsigned int port = 0;
	int holder = -1;
	FILE *f;

	CHECK_GOTO(make_image(&p, prog, img, &image_pid), out, "%s", why);
	pathf(path, "%s/port", p.dir);
	f = fopen(path, "r");
	CHECK_GOTO(f && fscanf(f, "%u", &port) == 1 && port, out, "no port from the program");
	fclose(f);
	taken.sin_port = htons((uint16_t)port);
	holder = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	CHECK_GOTO(holder >= 0 && !bind(holder, (struct sockaddr *)&taken, sizeof(taken)), out,
		   "cannot take port %u: %s", port, strerror(errno));
	snprintf(expect, sizeof(expect), "cannot bind to 127.0.0.1:%u again: the port is taken",
		 port);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "port taken", expect, NULL), out, "%s",
		   why);
	close(holder);
	holder = -1;
	pathf(pidfile, "%s/restored.pid", p.dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore after freeing the port failed (%d): %s",
		   r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (holder >= 0)
		close(holder);
	end_prog(&p);
}


/* A UDP socket comes back at its port or not at all: with the port taken
 * (by this test, without SO_REUSEADDR) the restore fails naming it and
 * leaves nothing; once the port is free again the same image restores. */
TEST(restore_when_a_udp_port_is_taken_names_it)
{
	port_taken_then_freed("neg_udp_port", SOCK_DGRAM);
}

/* A pidfd of a live child in flight in a pair both processes hold: cryo
 * fills the queue before the child exists, so the restore is refused naming
 * the pidfd, and nothing is left (neg_unix_rights_pidfd). */
TEST(restore_of_a_pidfd_in_flight_in_a_shared_pair_names_it)
{
	char img[PATH_MAX];
	struct prog p = { 0 };
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "neg_unix_rights_pidfd", img, &image_pid), out, "%s", why);
	/* The child the dump killed comes back to us, the subreaper. */
	CHECK_GOTO(reap_all_children(5000), out, "the program's child still runs after its dump");
	CHECK_GOTO(restore_refused(&p, img, image_pid, "pidfd in flight",
				   "carries pidfd file",
				   "can be opened only once the processes exist"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* The same for a TCP socket bound and closed (prog_tcp_bound's IPv4 one,
 * with SO_REUSEADDR): a socket of this test bound to its port without
 * SO_REUSEADDR makes the restore fail naming the port; once it is closed
 * the same image restores. */
TEST(restore_when_a_bound_tcp_port_is_taken_names_it)
{
	port_taken_then_freed("prog_tcp_bound", SOCK_STREAM);
}

/* The same for a TCP listener and the connection it accepted (dumped with
 * --tcp-established, the tree killed): the port taken by a listener of this
 * test, the restore fails naming it and leaves nothing; the lock the dump
 * left holds on, and once the port is free the same image restores with
 * its connection talking. */
TEST(restore_when_a_tcp_port_is_taken_names_it)
{
	struct sockaddr_in taken = { .sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char img[PATH_MAX], path[PATH_MAX], pidfile[PATH_MAX], expect[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	unsigned int port = 0;
	int holder = -1;
	FILE *f;

	CHECK_GOTO(make_image(&p, "neg_tcp_port", img, &image_pid), out, "%s", why);
	pathf(path, "%s/port", p.dir);
	f = fopen(path, "r");
	CHECK_GOTO(f && fscanf(f, "%u", &port) == 1 && port, out, "no port from the program");
	fclose(f);
	taken.sin_port = htons((uint16_t)port);
	holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GOTO(holder >= 0 && !bind(holder, (struct sockaddr *)&taken, sizeof(taken)) &&
			   !listen(holder, 1),
		   out, "cannot take port %u: %s", port, strerror(errno));
	snprintf(expect, sizeof(expect), "cannot bind to 127.0.0.1:%u again: the port is taken",
		 port);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "port taken", expect, NULL), out, "%s",
		   why);
	close(holder);
	holder = -1;
	pathf(pidfile, "%s/restored.pid", p.dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore after freeing the port failed (%d): %s",
		   r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (holder >= 0)
		close(holder);
	end_prog(&p);
}

/* A failure in a process's own code names the process once, whatever that
 * code said: a file prog_memory maps, moved away before the restore, fails
 * it with exactly one line, "restore: pid N: mapping A-B: cannot open PATH:
 * ...", and leaves nothing. */
TEST(restore_of_a_mapping_whose_file_is_gone_names_the_pid_once)
{
	char img[PATH_MAX], file[PATH_MAX], moved[PATH_MAX], pidfile[PATH_MAX];
	char expect[sizeof(((struct cryo_run *)0)->out)];
	unsigned long long start = 0, end = 0;
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	const char *line;

	CHECK_GOTO(make_image(&p, "prog_memory", img, &image_pid), out, "%s", why);
	pathf(file, "%s/private-file", p.dir);
	pathf(moved, "%s/moved", p.dir);
	CHECK_GOTO(!rename(file, moved), out, "rename %s: %s", file, strerror(errno));
	pathf(pidfile, "%s.pid", img);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(refused(&r, file, NULL), out, "%s", why);
	line = strstr(r.out, ": mapping 0x");
	CHECK_GOTO(line && sscanf(line, ": mapping %llx-%llx", &start, &end) == 2, out,
		   "no mapping named: %s", r.out);
	snprintf(expect, sizeof(expect),
		 "cryo: error: restore: pid %d: mapping %#llx-%#llx: cannot open %s: "
		 "No such file or directory\n", image_pid, start, end, file);
	CHECK_GOTO(!strcmp(r.out, expect), out, "said \"%s\", not \"%s\"", r.out, expect);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

#define PING_RANGE "/proc/sys/net/ipv4/ping_group_range"

static bool write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Ping sockets need the group in net.ipv4.ping_group_range, at restore as
 * when they were made: without it the restore fails naming the setting
 * and leaves nothing; with it the same image restores and the sockets
 * answer. The test puts the range back as it found it. */
TEST(restore_of_ping_sockets_needs_the_group_in_ping_group_range)
{
	char img[PATH_MAX], pidfile[PATH_MAX], old[64] = "";
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	FILE *f = fopen(PING_RANGE, "re");

	CHECK_GOTO(f && fgets(old, sizeof(old), f), out, "cannot read " PING_RANGE);
	CHECK_GOTO(write_text(PING_RANGE, "0 0"), out, "cannot allow group 0 in " PING_RANGE);
	CHECK_GOTO(make_image(&p, "neg_ping", img, &image_pid), out, "%s", why);
	CHECK_GOTO(write_text(PING_RANGE, "1 0"), out, "cannot forbid ping sockets");
	CHECK_GOTO(restore_refused(&p, img, image_pid, "ping forbidden",
				   "group 0 is outside net.ipv4.ping_group_range", NULL),
		   out, "%s", why);
	CHECK_GOTO(write_text(PING_RANGE, "0 0"), out, "cannot allow group 0 in " PING_RANGE);
	pathf(pidfile, "%s/restored.pid", p.dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore with ping allowed failed (%d): %s", r.status,
		   r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (f)
		fclose(f);
	if (old[0] && !write_text(PING_RANGE, old))
		fprintf(stderr, "could not put " PING_RANGE " back to %s", old);
	end_prog(&p);
}

/* ---- images that are not regular files ---------------------------------------- */

/* Replaces image @name in @dir by a FIFO (@how 'f') or a symlink to
 * @target (@how 'l'). */
static bool plant(const char *dir, const char *name, char how, const char *target)
{
	char path[PATH_MAX];

	pathf(path, "%s/%s", dir, name);
	if (unlink(path) && errno != ENOENT)
		return fail_why("unlink %s: %s", path, strerror(errno));
	if (how == 'f' ? mkfifo(path, 0600) : symlink(target, path))
		return fail_why("cannot plant %s: %s", path, strerror(errno));
	return true;
}

/* Both restore and show must refuse @dir (no hang: a FIFO opened to read
 * blocks until a writer comes), naming @name and @cause. */
static bool refused_by_both(const struct prog *p, const char *dir, pid_t image_pid,
			    const char *name, const char *cause)
{
	char what[128], file[PATH_MAX];
	struct cryo_run r;

	snprintf(what, sizeof(what), "%s planted", name);
	pathf(file, "%s/%s", dir, name);
	if (!restore_refused(p, dir, image_pid, what, file, cause))
		return false;
	run_cryo(&r, "show", "-D", dir);
	if (!refused(&r, file, cause, NULL))
		return fail_why("show -D with %s: %s", what, why);
	run_cryo(&r, "show", file);
	if (!refused(&r, file, cause, NULL))
		return fail_why("show of %s: %s", what, why);
	return true;
}

/* A FIFO in place of core-PID.img or inventory.img, a symlink to /dev/zero
 * in place of an image or of the pages: each refused by name, at once. */
TEST(restore_and_show_refuse_fifos_and_symlinks_in_place_of_images)
{
	char img[PATH_MAX], copy[PATH_MAX], name[64];
	struct prog p = { 0 };
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(copy, "%s/planted", p.dir);
	snprintf(name, sizeof(name), "core-%d.img", image_pid);
	CHECK_GOTO(copy_images(img, copy) && plant(copy, name, 'f', NULL), out, "%s", why);
	CHECK_GOTO(refused_by_both(&p, copy, image_pid, name, "is a FIFO, not an image file"),
		   out, "%s", why);
	CHECK_GOTO(copy_images(img, copy) && plant(copy, "inventory.img", 'f', NULL), out, "%s",
		   why);
	CHECK_GOTO(refused_by_both(&p, copy, image_pid, "inventory.img",
				   "is a FIFO, not an image file"),
		   out, "%s", why);
	CHECK_GOTO(copy_images(img, copy) && plant(copy, name, 'l', "/dev/zero"), out, "%s", why);
	CHECK_GOTO(refused_by_both(&p, copy, image_pid, name, "is a symbolic link"), out, "%s",
		   why);
	snprintf(name, sizeof(name), "pages-%d.img", image_pid);
	CHECK_GOTO(copy_images(img, copy) && plant(copy, name, 'l', "/dev/zero"), out, "%s", why);
	pathf(img, "%s/%s", copy, name);
	CHECK_GOTO(restore_refused(&p, copy, image_pid, "pages a symlink to /dev/zero", img,
				   "is a symbolic link"),
		   out, "%s", why);
out:
	end_prog(&p);
}

/* -D naming a symlink to a good image directory: refused by name, by
 * restore and show alike (with and without a trailing slash). */
TEST(restore_and_show_refuse_a_symlinked_image_directory)
{
	char img[PATH_MAX], link[PATH_MAX], slash[PATH_MAX];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;

	CHECK_GOTO(make_image(&p, "prog_counter", img, &image_pid), out, "%s", why);
	pathf(link, "%s/link", p.dir);
	CHECK_GOTO(!symlink(img, link), out, "symlink %s: %s", link, strerror(errno));
	CHECK_GOTO(restore_refused(&p, link, image_pid, "symlinked -D", link,
				   "is a symbolic link: refused"),
		   out, "%s", why);
	pathf(slash, "%s/", link);
	CHECK_GOTO(restore_refused(&p, slash, image_pid, "symlinked -D/", link,
				   "is a symbolic link: refused"),
		   out, "%s", why);
	run_cryo(&r, "show", "-D", link);
	CHECK_GOTO(refused(&r, link, "is a symbolic link: refused", NULL), out, "show: %s", why);
out:
	end_prog(&p);
}

/* @program's image restored without --external: refused, saying @refusal
 * and naming @option, nothing left; then restored with @flag @value, it
 * passes. */
static bool restored_only_with_external(const char *program, const char *refusal,
					const char *option, const char *flag, const char *value)
{
	char img[PATH_MAX], pidfile[PATH_MAX], peer_why[600];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	bool ok = make_image(&p, program, img, &image_pid);

	pathf(pidfile, "%s/restored.pid", p.dir);
	if (ok)
		run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	ok = ok && refused(&r, refusal, option, NULL) && nothing_restored(&p, image_pid, p.peer);
	if (ok)
		run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile, flag, value);
	if (ok && r.status)
		ok = fail_why("the restore with %s %s failed (%d): %s", flag, value, r.status,
			      r.out);
	if (ok)
		p.pid = image_pid;
	ok = ok && prog_passes(&p);
	/* Ended by SIGTERM, the peer deletes what it made outside. */
	if (!peer_passes(&p, peer_why, sizeof(peer_why)) && ok)
		ok = fail_why("%s", peer_why);
	end_prog(&p);
	return ok;
}

/* A tree's own network namespace with a veth whose peer is outside
 * (prog_net_veth, its peer made by peer_veth): restored without naming
 * the outer end, refused by name, nothing left; with criu's older spelling
 * --veth-pair IN=OUT it comes back and talks across it. */
TEST(restore_of_a_veth_with_its_peer_outside_needs_the_outer_name)
{
	CHECK(restored_only_with_external("prog_net_veth", "veth cvi has its peer outside the "
					  "namespace", "--external veth[cvi]:NAME", "--veth-pair",
					  "cvi=cryo-vo0"), "%s", why);
}

/* A tree's own network namespace with a macvlan over a device outside it
 * (prog_net_macvlan, its lower device made by peer_macvlan): restored
 * without naming that device, refused by name with the option to give,
 * nothing left; with --external macvlan[cmv0]:cryo-mvp0 it comes back. */
TEST(restore_of_a_macvlan_over_a_device_outside_needs_its_name)
{
	CHECK(restored_only_with_external("prog_net_macvlan", "macvlan cmv0 has its lower device "
					  "outside the namespace",
					  "--external macvlan[cmv0]:NAME", "--external",
					  "macvlan[cmv0]:cryo-mvp0"), "%s", why);
}

/* Whether this kernel names anonymous mappings (CONFIG_ANON_VMA_NAME). */
static bool kernel_names_mappings(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool names = page != MAP_FAILED &&
		     !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)page, 4096UL,
			    (unsigned long)"cryo-test");

	if (page != MAP_FAILED)
		munmap(page, 4096);
	return names;
}

/* An anonymous mapping named with PR_SET_VMA_ANON_NAME comes back named or
 * not at all. The dump's test hook names the program's unnamed anonymous
 * mappings, as a kernel that names would have shown them. Where the kernel
 * cannot name one (this one: no CONFIG_ANON_VMA_NAME), the restore is
 * refused naming a mapping and the cause, and leaves nothing; where it
 * can, the restored program's maps show the name. */
TEST(a_named_anonymous_mapping_comes_back_named_or_is_refused_by_name)
{
	char img[PATH_MAX], pidfile[PATH_MAX], maps[64];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	char *text = NULL;
	size_t size = 0;
	FILE *f = NULL;
	bool made;

	setenv("CRYO_TEST_ANON_NAME", "cryo-named", 1);
	made = make_image(&p, "prog_counter", img, &image_pid);
	unsetenv("CRYO_TEST_ANON_NAME");
	CHECK_GOTO(made, out, "%s", why);
	if (!kernel_names_mappings()) {
		CHECK_GOTO(restore_refused(&p, img, image_pid, "a named mapping",
					   "[anon:cryo-named]: this kernel cannot name anonymous "
					   "mappings (PR_SET_VMA_ANON_NAME: Invalid argument",
					   NULL),
			   out, "%s", why);
		goto out;
	}
	pathf(pidfile, "%s/restored.pid", p.dir);
	run_cryo(&r, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", image_pid);
	f = fopen(maps, "re");
	CHECK_GOTO(f && getdelim(&text, &size, '\0', f) > 0, out, "cannot read %s", maps);
	CHECK_GOTO(strstr(text, "[anon:cryo-named]"), out, "no named mapping in %s:\n%s", maps,
		   text);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (f)
		fclose(f);
	free(text);
	end_prog(&p);
}

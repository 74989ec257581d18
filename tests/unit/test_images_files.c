/* Unit tests of image files on disk: a file appears only once finished,
 * the directory is 0700 and files 0600 whatever the umask, and a write that
 * fails (an error, a full filesystem) leaves no file behind. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"
#include "images/proto/pagemap.pb-c.h"

#define PS IMG_PAGE_SIZE

TEST(file_appears_only_when_finished)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	PagemapEntry e = PAGEMAP_ENTRY__INIT;
	struct image_writer *w;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	e.vaddr = 0x1000;
	e.nr_pages = 1;
	e.state = PAGEMAP_ENTRY__STATE__ZERO;
	CHECK(!image_open_write(dir, IMG_PAGEMAP, 2, &w), "open");
	CHECK(!image_write_record(w, &e.base), "record");
	CHECK(file_exists(tmp, ".pagemap-2.img.tmp") && !file_exists(tmp, "pagemap-2.img"),
	      "not under a temporary name while written");
	image_abort(w);
	CHECK(!file_exists(tmp, ".pagemap-2.img.tmp") && !file_exists(tmp, "pagemap-2.img"),
	      "abort left a file");
	CHECK(!image_open_write(dir, IMG_PAGEMAP, 2, &w), "open");
	CHECK(!image_write_record(w, &e.base), "record");
	CHECK(!image_finish(w), "finish");
	CHECK(!file_exists(tmp, ".pagemap-2.img.tmp") && file_exists(tmp, "pagemap-2.img"),
	      "finish did not rename");
}

static mode_t mode_of(const char *dir, const char *name)
{
	_cleanup_free_ char *path = name ? path_join(dir, name) : strdup(dir);
	struct stat st;

	return path && !stat(path, &st) ? st.st_mode & 07777 : (mode_t)-1;
}

TEST(directory_is_0700_and_files_0600_whatever_the_umask)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *fresh = NULL, *existing = NULL;
	struct image_dir *dir;
	mode_t old = umask(0);
	int ret;

	CHECK(tmp, "scratch directory");
	fresh = path_join(tmp, "fresh");
	existing = path_join(tmp, "existing");
	ret = image_dir_create(fresh, &dir);
	if (!ret) {
		ret = write_inventory(dir, 1);
		image_dir_close(dir);
	}
	/* A loose existing directory is tightened; a strict umask must not
	 * make files unreadable to their owner either. */
	mkdir(existing, 0755);
	umask(0277);
	if (!ret && !(ret = image_dir_create(existing, &dir))) {
		ret = write_sample_pages(dir, 1);
		image_dir_close(dir);
	}
	umask(old);
	CHECK(!ret, "writing failed: %d", ret);
	CHECK(mode_of(fresh, NULL) == 0700, "new directory mode %o", mode_of(fresh, NULL));
	CHECK(mode_of(existing, NULL) == 0700, "existing directory mode %o",
	      mode_of(existing, NULL));
	CHECK(mode_of(fresh, "inventory.img") == 0600, "inventory mode %o",
	      mode_of(fresh, "inventory.img"));
	CHECK(mode_of(existing, "pagemap-1.img") == 0600 && mode_of(existing, "pages-1.img") == 0600,
	      "pages store modes %o %o", mode_of(existing, "pagemap-1.img"),
	      mode_of(existing, "pages-1.img"));
}

/* Writes 2 pages through the buffer and 128 straight to the kernel into
 * @path, which cannot hold them; checks the failure names the file and
 * leaves nothing behind. Returns NULL or what went wrong. */
static const char *write_until_full(const char *path, int want_err)
{
	static unsigned char data[128 * PS];
	static char why[256];
	struct image_dir *dir;
	struct pages_writer *pw;
	struct capture cap;
	char *msg;
	int ret, finish;

	if (image_dir_create(path, &dir))
		return "cannot create the image directory";
	if (pages_writer_open(dir, 9, &pw)) {
		image_dir_close(dir);
		return "cannot open the pages writer";
	}
	capture_begin(&cap, 2);
	ret = pages_write(pw, 0x10000, 2, data);
	if (!ret)
		ret = pages_write(pw, 0x100000, 128, data);
	finish = pages_writer_finish(pw);
	msg = capture_end(&cap);
	image_dir_close(dir);
	snprintf(why, sizeof(why), "write %d, finish %d, message: %s", ret, finish, msg ? msg : "");
	if (finish != want_err || !msg || !strstr(msg, "pages-9.img: ") ||
	    !strstr(msg, strerror(-want_err))) {
		free(msg);
		return why;
	}
	free(msg);
	if (file_exists(path, "pagemap-9.img") || file_exists(path, "pages-9.img") ||
	    file_exists(path, ".pagemap-9.img.tmp") || file_exists(path, ".pages-9.img.tmp"))
		return "a failed write left a file behind";
	return NULL;
}

TEST(failed_write_leaves_no_file)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL;
	struct rlimit old, small = { 64 * 1024, 0 };
	void (*old_handler)(int);
	const char *why;

	CHECK(tmp && (path = path_join(tmp, "img")), "scratch directory");
	/* A file size limit fails writes the way a full disk does (EFBIG
	 * instead of ENOSPC), on any filesystem, without privileges. */
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	why = write_until_full(path, -EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	CHECK(!why, "%s", why);
}

static int enter_private_mounts(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (!unshare(CLONE_NEWNS))
		return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	/* Files can only be created once our ids are mapped in the new
	 * user namespace. */
	fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd < 0 || write(fd, "deny", 4) != 4)
		return -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %d 1", (int)uid);
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %d 1", (int)gid);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

TEST(full_filesystem_leaves_no_file)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL;
	int status;
	pid_t pid;

	CHECK(tmp && (path = path_join(tmp, "img")), "scratch directory");
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		const char *why;

		/* A small tmpfs, private to this child, is a real full disk. */
		if (enter_private_mounts() || mount("tmpfs", tmp, "tmpfs", 0, "size=64k,mode=0700")) {
			printf("    cannot mount a tmpfs here: %s\n", strerror(errno));
			fflush(stdout);
			_exit(77);
		}
		why = write_until_full(path, -ENOSPC);
		umount(tmp);
		if (why)
			printf("    %s\n", why);
		fflush(stdout);
		_exit(why ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child died: 0x%x", status);
	if (WEXITSTATUS(status) == 77) {
		harness_skip("no mount namespace to make a small tmpfs in");
		return;
	}
	CHECK(WEXITSTATUS(status) == 0, "see above");
}

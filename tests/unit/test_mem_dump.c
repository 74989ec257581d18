/* Dump of a real process (test_mem_util.h's child), the ways it is done:
 * the pagemap ioctl and the pagemap file find the same pages, mm fields,
 * auxv and exe are recorded, the fallback dump makes the same images, and
 * a failed dump leaves no image. */
#include "test_mem_util.h"

/* Compares the two ways of finding pages on every mapping of the child.
 * The sanitizer's shadow mappings (14 TiB) are left out: reading their
 * pagemap would take 28 GiB of reads. The 1 TiB reservation is scanned
 * whole, its PROT_NONE parts included. */
/* The ioctl one mapping at a time, the ioctl over all of them at once
 * (pagescan_set_end) and the pagemap file give the same ranges. */
TEST(pagemap_scan_and_pagemap_file_agree)
{
	struct fixture *f = fixture();
	struct page_ranges a = { 0 }, b = { 0 }, c = { 0 };
	struct pagescan *ioctl_scan = NULL, *file_scan = NULL, *wide_scan = NULL;
	struct vma_list vmas = { 0 };
	size_t compared = 0;
	int ret;

	if (!f)
		return;
	ret = pagescan_open(f->child.pid, PAGESCAN_IOCTL, &ioctl_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = pagescan_open(f->child.pid, PAGESCAN_PAGEMAP, &file_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = pagescan_open(f->child.pid, PAGESCAN_IOCTL, &wide_scan);
	CHECK_GOTO(!ret, out, "pagescan_open: %s", strerror(-ret));
	ret = vma_list_read(f->child.pid, &vmas);
	CHECK_GOTO(!ret, out, "vma_list_read: %s", strerror(-ret));
	CHECK_GOTO(vmas.nr, out, "no mappings");
	pagescan_set_end(wide_scan, vmas.vmas[vmas.nr - 1]->end);
	for (size_t i = 0; i < vmas.nr; i++) {
		const Vma *v = vmas.vmas[i];

		if (v->end - v->start > 2 * TIB)
			continue;
		ret = pagescan_vma(ioctl_scan, v, &a);
		CHECK_GOTO(!ret, out, "PAGEMAP_SCAN of %#llx: %s", (unsigned long long)v->start,
			   strerror(-ret));
		ret = pagescan_vma(file_scan, v, &b);
		CHECK_GOTO(!ret, out, "pagemap of %#llx: %s", (unsigned long long)v->start,
			   strerror(-ret));
		ret = pagescan_vma(wide_scan, v, &c);
		CHECK_GOTO(!ret, out, "wide PAGEMAP_SCAN of %#llx: %s",
			   (unsigned long long)v->start, strerror(-ret));
		CHECK_GOTO(a.nr == b.nr && (!a.nr || !memcmp(a.v, b.v, a.nr * sizeof(*a.v))), out,
			   "mapping %#llx..%#llx: %zu ranges with the ioctl, %zu from the file",
			   (unsigned long long)v->start, (unsigned long long)v->end, a.nr, b.nr);
		CHECK_GOTO(a.nr == c.nr && (!a.nr || !memcmp(a.v, c.v, a.nr * sizeof(*a.v))), out,
			   "mapping %#llx..%#llx: %zu ranges scanned alone, %zu scanned with the others",
			   (unsigned long long)v->start, (unsigned long long)v->end, a.nr, c.nr);
		compared += a.nr;
	}
	CHECK_GOTO(compared >= WINDOWS + 10, out, "only %zu ranges found", compared);
	CHECK_GOTO(pagescan_method(ioctl_scan) == PAGESCAN_IOCTL &&
		   pagescan_method(file_scan) == PAGESCAN_PAGEMAP, out, "methods changed");
out:
	page_ranges_free(&a);
	page_ranges_free(&b);
	page_ranges_free(&c);
	vma_list_free(&vmas);
	pagescan_close(ioctl_scan);
	pagescan_close(file_scan);
	pagescan_close(wide_scan);
}

TEST(mm_fields_auxv_and_exe_are_recorded)
{
	struct fixture *f = fixture();
	uint64_t auxv[MM_AUXV_MAX_WORDS];
	char exe[PATH_MAX];
	ssize_t n, len;
	int fd;

	if (!f)
		return;
	/* The child is a fork of this process: same executable, same auxv. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0, "readlink");
	exe[n] = '\0';
	CHECK(f->mm->exe_path && !strcmp(f->mm->exe_path, exe), "exe '%s', expected '%s'",
	      f->mm->exe_path ? f->mm->exe_path : "", exe);
	fd = open("/proc/self/auxv", O_RDONLY);
	len = fd >= 0 ? read(fd, auxv, sizeof(auxv)) : -1;
	close(fd);
	CHECK(len > 0 && f->mm->n_auxv * 8 <= (size_t)len &&
	      !memcmp(f->mm->auxv, auxv, f->mm->n_auxv * 8) && f->mm->auxv[f->mm->n_auxv - 2] == 0,
	      "auxv of %zu words differs from ours", f->mm->n_auxv);
	CHECK(f->mm->start_code && f->mm->start_code < f->mm->end_code &&
	      f->mm->start_brk && f->mm->brk >= f->mm->start_brk && f->mm->arg_start < f->mm->arg_end &&
	      f->mm->env_start < f->mm->env_end && f->mm->start_stack,
	      "mm fields: code %#llx..%#llx brk %#llx..%#llx", (unsigned long long)f->mm->start_code,
	      (unsigned long long)f->mm->end_code, (unsigned long long)f->mm->start_brk,
	      (unsigned long long)f->mm->brk);
	/* The stack start lies in [stack], the arguments too. */
	for (size_t i = 0; i < f->mm->n_vmas; i++) {
		const Vma *v = f->mm->vmas[i];

		if (v->kind != VMA__KIND__STACK)
			continue;
		CHECK(f->mm->start_stack >= v->start && f->mm->start_stack < v->end &&
		      f->mm->arg_start >= v->start && f->mm->env_end <= v->end,
		      "stack start or arguments outside [stack]");
		return;
	}
	CHECK(false, "no [stack]");
}

/* Starts cat(1) pinned to one CPU, blocked reading an empty pipe: a
 * process without the sanitizer's 14 TiB shadow, whose pagemap can be
 * read whole, and whose memory stays still between dumps (a sleep would
 * not: the kernel writes its remaining time when it is interrupted).
 * Returns its pid, or -1; *@feed is the pipe's write end. */
static pid_t start_reader(int *feed)
{
	char exe[PATH_MAX];
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pin_to_one_cpu();
		dup2(fds[0], 0);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	*feed = fds[1];
	if (pid < 0)
		return -1;
	/* Ready once it runs cat and waits in the kernel. */
	for (int i = 0; i < 5000; i++) {
		char path[64], stat[512];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (n > 0 && (exe[n] = '\0', strstr(exe, "cat")) &&
		    read_proc_text(path, stat, sizeof(stat)) && strstr(stat, ") S "))
			return pid;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Both ways of finding pages make the very same image files. */
TEST(fallback_dump_makes_the_same_images)
{
	_cleanup_tree_ char *a = make_temp_dir(), *b = make_temp_dir();
	static const char *const names[] = { "mm-%d.img", "pagemap-%d.img", "pages-%d.img" };
	struct child c = { .cmd = -1, .ack = -1 };
	int ret;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c.pid = start_reader(&c.cmd);
	CHECK_GOTO(c.pid > 0, out, "cannot start cat");
	CHECK_GOTO(a && b, out, "no scratch directory");
	ret = dump_child(&c, a, PAGESCAN_IOCTL);
	CHECK_GOTO(!ret, out, "dump with the ioctl: %s", strerror(-ret));
	ret = dump_child(&c, b, PAGESCAN_PAGEMAP);
	CHECK_GOTO(!ret, out, "dump with the pagemap file: %s", strerror(-ret));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *pa = NULL, *pb = NULL;
		_cleanup_free_ unsigned char *da = NULL, *db = NULL;
		char name[64];
		size_t la = 0, lb = 0;

		snprintf(name, sizeof(name), names[i], c.pid);
		pa = path_join(a, name);
		pb = path_join(b, name);
		da = pa ? read_file(pa, &la) : NULL;
		db = pb ? read_file(pb, &lb) : NULL;
		/* Each dump has its own id, in the header and so its checksum. */
		if (da && db && la >= IMG_HDR_SIZE && lb >= IMG_HDR_SIZE &&
		    !memcmp(da, IMG_MAGIC, IMG_MAGIC_LEN))
			memcpy(db + IMG_HDR_DUMP_ID_OFF, da + IMG_HDR_DUMP_ID_OFF,
			       IMG_HDR_SIZE - IMG_HDR_DUMP_ID_OFF);
		CHECK_GOTO(da && db && la == lb && !memcmp(da, db, la), out,
			   "%s differs: %zu and %zu bytes", name, la, lb);
		if (i == 2)
			CHECK_GOTO(la > 0, out, "no page saved");
	}
out:
	child_stop(&c);
}

/* A dump that cannot write its pages leaves nothing behind, and the task
 * runs on unharmed. */
TEST(failed_dump_leaves_no_image)
{
	_cleanup_tree_ char *img = make_temp_dir();
	struct rlimit old, small = { 1 << 20, 0 };
	void (*old_handler)(int);
	_cleanup_free_ char *log = NULL;
	struct capture cap;
	struct child c;
	const char *why = child_start(&c);
	DIR *d = NULL;
	struct dirent *de;
	int ret;

	CHECK_GOTO(!why, out, "%s", why);
	CHECK_GOTO(img, out, "no scratch directory");
	/* A file size limit fails writes as a full disk does. */
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	capture_begin(&cap, 2);
	ret = dump_child(&c, img, PAGESCAN_AUTO);
	log = capture_end(&cap);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	CHECK_GOTO(ret == -EFBIG, out, "dump returned %d, expected -EFBIG", ret);
	CHECK_GOTO(log && strstr(log, "pages-") && strstr(log, "File too large"), out,
		   "the message '%s' does not say what failed", log ? log : "");
	d = opendir(img);
	CHECK_GOTO(d, out, "opendir");
	while ((de = readdir(d)))
		CHECK_GOTO(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."), out,
			   "%s left behind", de->d_name);
	why = child_self_check(&c);
	CHECK_GOTO(!why, out, "the child was harmed: %s", why);
out:
	if (d)
		closedir(d);
	child_stop(&c);
}

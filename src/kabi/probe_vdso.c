/* The vDSO and its data pages ([vvar], [vvar_vclock] on newer kernels):
 * finding them in a maps text, checking they form the one block restore
 * knows how to move, and trying both ways of moving it (mremap, and
 * arch_prctl ARCH_MAP_VDSO_64) in a child. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "kabi/features.h"
#include "kabi/kabi.h"
#include "kabi/probe.h"

/* Reads a number in @base that must be followed by one of the chars in
 * @sep, or by the end of the text when @may_end. */
static int parse_field(const char **p, int base, const char *sep, bool may_end, uint64_t *value)
{
	char *end;

	if (!(base == 16 ? isxdigit((unsigned char)**p) : isdigit((unsigned char)**p)))
		return -EINVAL;
	errno = 0;
	*value = strtoull(*p, &end, base);
	if (errno || (*end ? !strchr(sep, *end) : !may_end))
		return -EINVAL;
	*p = end;
	return 0;
}

/* Parses one line "start-end perms offset major:minor inode [name]". */
static int parse_maps_line(const char *line, uint64_t *start, uint64_t *end,
			   const char **name, size_t *name_len)
{
	const char *p = line, *eol = strchrnul(line, '\n');
	uint64_t ignored;

	if (parse_field(&p, 16, "-", false, start) || (p++, parse_field(&p, 16, " ", false, end)))
		return -EINVAL;
	p++;
	for (int i = 0; i < 4; i++, p++)
		if (!*p || !strchr("rwxsp-", *p))
			return -EINVAL;
	if (*p++ != ' ' || parse_field(&p, 16, " ", false, &ignored))
		return -EINVAL;
	p++;
	if (parse_field(&p, 16, ":", false, &ignored) ||
	    (p++, parse_field(&p, 16, " ", false, &ignored)))
		return -EINVAL;
	p++;
	if (parse_field(&p, 10, " \n", true, &ignored) || *start >= *end)
		return -EINVAL;
	while (*p == ' ')
		p++;
	*name = p;
	*name_len = (size_t)(eol - p);
	return 0;
}

int vdso_layout_parse(const char *maps, struct vdso_layout *layout)
{
	struct vdso_layout found;
	const char *line = maps;

	memset(&found, 0, sizeof(found));
	while (*line) {
		struct vdso_area *area = NULL;
		uint64_t start, end;
		const char *name;
		size_t len;

		if (parse_maps_line(line, &start, &end, &name, &len))
			return -EINVAL;
		if (len == 6 && !memcmp(name, "[vvar]", len))
			area = &found.vvar;
		else if (len == 13 && !memcmp(name, "[vvar_vclock]", len))
			area = &found.vvar_vclock;
		else if (len == 6 && !memcmp(name, "[vdso]", len))
			area = &found.vdso;
		if (area) {
			if (area->present)
				return -EINVAL;
			*area = (struct vdso_area){ true, start, end };
		}
		line = name + len;
		if (*line == '\n')
			line++;
	}
	if (!found.vdso.present)
		return -ENOENT;
	*layout = found;
	return 0;
}

bool vdso_layout_contiguous(const struct vdso_layout *layout)
{
	const struct vdso_area *order[] = { &layout->vvar, &layout->vvar_vclock, &layout->vdso };
	const struct vdso_area *prev = NULL;

	if (!layout->vdso.present)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!order[i]->present)
			continue;
		if (prev && prev->end != order[i]->start)
			return false;
		prev = order[i];
	}
	return true;
}

uint64_t vdso_layout_start(const struct vdso_layout *l)
{
	return l->vvar.present ? l->vvar.start :
	       l->vvar_vclock.present ? l->vvar_vclock.start : l->vdso.start;
}

static int read_layout(pid_t pid, struct vdso_layout *layout)
{
	_cleanup_free_ char *maps = NULL;
	char path[64];
	int ret;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	ret = read_text_file(path, &maps);
	if (ret) {
		pr_err("cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	return vdso_layout_parse(maps, layout);
}

static void describe_area(char *buf, size_t size, const char *name, const struct vdso_area *a)
{
	size_t used = strlen(buf);

	if (a->present)
		snprintf(buf + used, size - used, "%s%s %llu KiB", used ? ", " : "", name,
			 (unsigned long long)(a->end - a->start) / 1024);
}

int probe_vdso_layout(struct feature_result *res)
{
	struct vdso_layout layout;
	char areas[128] = "";
	int ret;

	ret = read_layout(0, &layout);
	if (ret == -ENOENT)
		return feature_missing(res, ret, "no [vdso] in /proc/self/maps; dump cannot record "
				       "the vDSO its tasks call into");
	if (ret)
		return feature_missing(res, ret, "cannot parse /proc/self/maps (%s); dump cannot find "
				       "the vDSO", strerror(-ret));
	describe_area(areas, sizeof(areas), "[vvar]", &layout.vvar);
	describe_area(areas, sizeof(areas), "[vvar_vclock]", &layout.vvar_vclock);
	describe_area(areas, sizeof(areas), "[vdso]", &layout.vdso);
	pr_debug("vDSO layout: %s at %#llx", areas, (unsigned long long)vdso_layout_start(&layout));
	if (!vdso_layout_contiguous(&layout))
		return feature_missing(res, -EPROTO, "%s, not adjacent; restore does not know how to "
				       "move them", areas);
	return feature_ok(res, "%s, adjacent; restore moves them as one block", areas);
}

/* True when @got has the same areas as @orig, shifted to begin at @start. */
static bool layout_moved_to(const struct vdso_layout *got, const struct vdso_layout *orig,
			    uint64_t start)
{
	const struct vdso_area *g[] = { &got->vvar, &got->vvar_vclock, &got->vdso };
	const struct vdso_area *o[] = { &orig->vvar, &orig->vvar_vclock, &orig->vdso };
	uint64_t base = vdso_layout_start(orig);

	for (size_t i = 0; i < ARRAY_SIZE(g); i++) {
		if (g[i]->present != o[i]->present)
			return false;
		if (o[i]->present && (g[i]->start != o[i]->start - base + start ||
				      g[i]->end != o[i]->end - base + start))
			return false;
	}
	return true;
}

struct remap_child {
	struct vdso_layout layout;
	uint64_t reserve;	/* PROT_NONE room the parent made for the move */
	int report;		/* child -> parent: one int per step */
	int proceed;		/* parent -> child: one byte to go on */
};

static void report_step(int fd, int ret)
{
	if (write(fd, &ret, sizeof(ret)) != sizeof(ret))
		_exit(1);
}

/* Runs in the forked child, so raw syscalls only. Never touches the vDSO. */
static void __attribute__((noreturn)) remap_child_main(const struct remap_child *c)
{
	const struct vdso_area *areas[] = { &c->layout.vvar, &c->layout.vvar_vclock,
					    &c->layout.vdso };
	uint64_t base = vdso_layout_start(&c->layout);
	uint64_t size = c->layout.vdso.end - base;
	int ret = 0;
	char go;

	for (size_t i = 0; i < ARRAY_SIZE(areas) && !ret; i++) {
		const struct vdso_area *a = areas[i];
		long moved;

		if (!a->present)
			continue;
		moved = syscall(SYS_mremap, a->start, a->end - a->start, a->end - a->start,
				MREMAP_MAYMOVE | MREMAP_FIXED, c->reserve + (a->start - base));
		if (moved < 0)
			ret = -errno;
	}
	report_step(c->report, ret);
	if (read(c->proceed, &go, 1) != 1)
		_exit(1);
	/* Whatever the first step left there goes, and a fresh vDSO must come
	 * back at the original place. */
	syscall(SYS_munmap, c->reserve, size);
	syscall(SYS_munmap, base, size);
	ret = syscall(SYS_arch_prctl, ARCH_MAP_VDSO_64, base) ? -errno : 0;
	report_step(c->report, ret);
	for (;;)
		pause();
}

static int read_step(int fd, int *ret)
{
	ssize_t n;

	do
		n = read(fd, ret, sizeof(*ret));
	while (n < 0 && errno == EINTR);
	return n == sizeof(*ret) ? 0 : -ECHILD;
}

/* Checks one step the child reported: its own result, then its maps. */
static int check_step(int fd, pid_t pid, const struct vdso_layout *orig, uint64_t start)
{
	struct vdso_layout now;
	int ret, step;

	ret = read_step(fd, &step);
	if (ret)
		return ret;
	if (step)
		return step;
	ret = read_layout(pid, &now);
	if (ret)
		return ret;
	return layout_moved_to(&now, orig, start) ? 0 : -EPROTO;
}

int probe_vdso_remap(struct feature_result *res)
{
	struct remap_child c;
	int to_parent[2], to_child[2];
	int moved = -ECHILD, mapped = -ECHILD, ret;
	uint64_t size;
	void *reserve;
	pid_t pid;

	ret = read_layout(0, &c.layout);
	if (ret)
		return feature_missing(res, ret, "no vDSO layout to try it on (%s)", strerror(-ret));
	if (!vdso_layout_contiguous(&c.layout))
		return feature_missing(res, -EPROTO, "the vDSO areas are not one block; restore "
				       "cannot move them");
	size = c.layout.vdso.end - vdso_layout_start(&c.layout);
	reserve = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED)
		return feature_missing(res, -errno, "cannot reserve room (%s)", strerror(errno));
	c.reserve = (uintptr_t)reserve;
	if (pipe2(to_parent, O_CLOEXEC)) {
		ret = -errno;
		goto out_unmap;
	}
	if (pipe2(to_child, O_CLOEXEC)) {
		ret = -errno;
		goto out_close_parent;
	}
	c.report = to_parent[1];
	c.proceed = to_child[0];
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out_close_child;
	}
	if (pid == 0)
		remap_child_main(&c);
	/* Without our copy of the write end, a child that dies reads as EOF.
	 * We keep the read end of to_child, so writing to it cannot SIGPIPE. */
	close(to_parent[1]);
	to_parent[1] = -1;
	moved = check_step(to_parent[0], pid, &c.layout, c.reserve);
	if (write(to_child[1], "g", 1) == 1)
		mapped = check_step(to_parent[0], pid, &c.layout, vdso_layout_start(&c.layout));
	child_kill_reap(pid);
out_close_child:
	close(to_child[0]);
	close(to_child[1]);
out_close_parent:
	close(to_parent[0]);
	if (to_parent[1] >= 0)
		close(to_parent[1]);
out_unmap:
	munmap(reserve, size);
	if (ret)
		return feature_missing(res, ret, "cannot set up a child to try it in (%s)",
				       strerror(-ret));
	pr_debug("vDSO remap: mremap %d, ARCH_MAP_VDSO_64 %d", moved, mapped);
	if (moved && mapped)
		return feature_missing(res, moved, "neither mremap (%s) nor ARCH_MAP_VDSO_64 (%s) "
				       "moved the vDSO; restore cannot put it at its saved address",
				       strerror(-moved), strerror(-mapped));
	if (moved)
		return feature_ok(res, "ARCH_MAP_VDSO_64 works but mremap does not (%s); restore "
				       "maps a fresh vDSO at the saved address", strerror(-moved));
	if (mapped)
		return feature_ok(res, "mremap works but ARCH_MAP_VDSO_64 does not (%s); restore "
				       "moves the current vDSO to the saved address", strerror(-mapped));
	return feature_ok(res, "a child's vDSO moved with mremap, and ARCH_MAP_VDSO_64 mapped a "
			       "fresh one; restore can put it at its saved address");
}

/* Reading a task's mappings from /proc/PID/smaps into Vma records: kind,
 * protection, mmap flags, madvise state and, for file-backed mappings, the
 * file's exact path and identity, taken through /proc/PID/map_files (smaps
 * escapes newlines in paths; the link text does not). Not the pages. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "mem/aio.h"
#include "mem/vma.h"

#define DELETED_SUFFIX " (deleted)"
/* The file behind MAP_ANONYMOUS | MAP_HUGETLB memory, private or shared. */
#define ANON_HUGEPAGE_PATH "/anon_hugepage" DELETED_SUFFIX

/* The VmFlags codes we act on; see proc(5). */
enum vm_flag {
	VMF_MAYWRITE = 1 << 0,		/* mw */
	VMF_GROWSDOWN = 1 << 1,		/* gd */
	VMF_NORESERVE = 1 << 2,		/* nr */
	VMF_HUGETLB = 1 << 3,		/* ht */
	VMF_IO = 1 << 4,		/* io */
	VMF_PFNMAP = 1 << 5,		/* pf */
	VMF_DONTCOPY = 1 << 6,		/* dc */
	VMF_WIPEONFORK = 1 << 7,	/* wf */
	VMF_HUGEPAGE = 1 << 8,		/* hg */
	VMF_NOHUGEPAGE = 1 << 9,	/* nh */
	VMF_DONTDUMP = 1 << 10,		/* dd */
	VMF_MERGEABLE = 1 << 11,	/* mg */
	VMF_SHADOW_STACK = 1 << 12,	/* ss */
	VMF_UFFD_MISSING = 1 << 13,	/* um */
	VMF_LOCKED = 1 << 14,		/* lo */
	VMF_LOCKONFAULT = 1 << 15,	/* lf */
	VMF_DROPPABLE = 1 << 16,	/* dp */
	VMF_MAYBE_GUARD = 1 << 17,	/* gu: guard regions were installed (6.18) */
};

static const struct {
	char code[3];
	unsigned flag;
	uint32_t madv;
} vm_flag_codes[] = {
	{ "mw", VMF_MAYWRITE, 0 },
	{ "gd", VMF_GROWSDOWN, 0 },
	{ "nr", VMF_NORESERVE, 0 },
	{ "ht", VMF_HUGETLB, 0 },
	{ "io", VMF_IO, 0 },
	{ "pf", VMF_PFNMAP, 0 },
	{ "dc", VMF_DONTCOPY, VMA_MADV_DONTFORK },
	{ "wf", VMF_WIPEONFORK, VMA_MADV_WIPEONFORK },
	{ "hg", VMF_HUGEPAGE, VMA_MADV_HUGEPAGE },
	{ "nh", VMF_NOHUGEPAGE, VMA_MADV_NOHUGEPAGE },
	{ "dd", VMF_DONTDUMP, VMA_MADV_DONTDUMP },
	{ "mg", VMF_MERGEABLE, VMA_MADV_MERGEABLE },
	{ "ss", VMF_SHADOW_STACK, 0 },
	{ "um", VMF_UFFD_MISSING, 0 },
	{ "lo", VMF_LOCKED, VMA_MADV_LOCKED },
	{ "lf", VMF_LOCKONFAULT, VMA_MADV_LOCKONFAULT },
	{ "dp", VMF_DROPPABLE, VMA_MADV_DROPPABLE },
	{ "gu", VMF_MAYBE_GUARD, 0 },
};

/* One smaps entry as read, before it becomes a Vma. */
struct mapped_file_memo;

struct smaps_entry {
	uint64_t start, end, pgoff;
	uint64_t ino;		/* the mapped file's, and its device's numbers */
	unsigned major, minor;
	char perms[5];
	char *name;		/* the text after the inode column */
	/* The last file a mapping of this read mapped; NULL: none kept. */
	struct mapped_file_memo *memo;
	uint64_t rss_kb, swap_kb;
	uint64_t hugetlb_kb;		/* Shared_ + Private_Hugetlb, which Rss leaves out */
	uint64_t kernel_page_kb;	/* KernelPageSize: the huge page size of hugetlb */
	unsigned vm_flags;
	bool has_vm_flags;
};

void vma_label(const Vma *vma, char *buf, size_t size)
{
	const char *name = "";

	switch (vma->kind) {
	case VMA__KIND__HEAP: name = "[heap]"; break;
	case VMA__KIND__STACK: name = "[stack]"; break;
	case VMA__KIND__VDSO: name = "[vdso]"; break;
	case VMA__KIND__VVAR: name = "[vvar]"; break;
	case VMA__KIND__VVAR_VCLOCK: name = "[vvar_vclock]"; break;
	case VMA__KIND__VSYSCALL: name = "[vsyscall]"; break;
	case VMA__KIND__MEMFD: name = "memfd:"; break;
	case VMA__KIND__SYSV_SHM: name = "SysV shm "; break;
	case VMA__KIND__AIO: name = "[aio]"; break;
	case VMA__KIND__PACKET_RING: name = "packet ring"; break;
	default: break;
	}
	if (vma->has_huge_page_size && !*name && !vma->file_path)
		name = "hugetlb";
	if (vma->anon_name)
		snprintf(buf, size, "%" PRIx64 "..%" PRIx64 " [anon:%s]", vma->start, vma->end,
			 vma->anon_name);
	else if (*name || vma->file_path)
		snprintf(buf, size, "%" PRIx64 "..%" PRIx64 " %s%s", vma->start, vma->end, name,
			 vma->file_path ? vma->file_path : "");
	else
		snprintf(buf, size, "%" PRIx64 "..%" PRIx64, vma->start, vma->end);
}

/* Parses "start-end perms offset major:minor inode name"; false when
 * @line is not such a header (it is a "Key: value" line). */
static bool parse_header(char *line, struct smaps_entry *e)
{
	struct proc_maps_line m;

	if (!proc_maps_line_parse(line, &m))
		return false;
	e->start = m.start;
	e->end = m.end;
	e->pgoff = m.pgoff;
	e->ino = m.ino;
	e->major = m.major;
	e->minor = m.minor;
	memcpy(e->perms, m.perms, sizeof(e->perms));
	e->name = m.name;
	return true;
}

/* Two letters a flag: compared as such, not with strncmp per table entry
 * (a tenth of reading 50,000 mappings). */
static unsigned parse_vm_flags(const char *text)
{
	unsigned flags = 0;

	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '\n')
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(vm_flag_codes) && p[1]; i++)
			if (p[0] == vm_flag_codes[i].code[0] && p[1] == vm_flag_codes[i].code[1])
				flags |= vm_flag_codes[i].flag;
		p += strcspn(p, " \n") - 1;
	}
	return flags;
}

static uint32_t madvise_bits(unsigned vm_flags)
{
	uint32_t bits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(vm_flag_codes); i++)
		if (vm_flags & vm_flag_codes[i].flag)
			bits |= vm_flag_codes[i].madv;
	return bits;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t len = strlen(s), slen = strlen(suffix);

	return len >= slen && !strcmp(s + len - slen, suffix);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A copy of @s without its last @cut bytes. */
static char *strdup_cut(const char *s, size_t cut)
{
	return strndup(s, strlen(s) - cut);
}

/* What a file-backed mapping maps, learned through its map_files link. */
struct mapped_file {
	char path[PATH_MAX + sizeof(DELETED_SUFFIX)];
	struct stat st;
	bool shmem;
	bool hugetlbfs;
};

/* A program maps each library in four or five mappings of one file: the
 * link read, the stat and the statfs of the first serve the others whose
 * smaps line names the same inode by the same text (both are the file's
 * path as the kernel prints it; a backslash may be an escape, so such a
 * name is looked up anew), three system calls fewer a mapping. */
struct mapped_file_memo {
	bool valid;
	uint64_t ino;
	unsigned major, minor;
	char name[PATH_MAX + sizeof(DELETED_SUFFIX)];
	struct mapped_file f;
};

static bool memo_holds(const struct mapped_file_memo *m, const struct smaps_entry *e)
{
	return m && m->valid && m->ino == e->ino && m->major == e->major &&
	       m->minor == e->minor && !strchr(e->name, '\\') && !strcmp(m->name, e->name);
}

static void memo_keep(struct mapped_file_memo *m, const struct smaps_entry *e,
		      const struct mapped_file *f)
{
	if (!m)
		return;
	m->valid = strlen(e->name) < sizeof(m->name);
	if (!m->valid)
		return;
	m->ino = e->ino;
	m->major = e->major;
	m->minor = e->minor;
	strcpy(m->name, e->name);
	m->f = *f;
}

static int stat_mapped_file(pid_t pid, const struct smaps_entry *e, const char *label,
			    struct mapped_file *f)
{
	char link[96];
	struct statfs sfs;
	ssize_t n;

	if (memo_holds(e->memo, e)) {
		*f = e->memo->f;
		return 0;
	}

	snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, e->start,
		 e->end);
	n = readlink(link, f->path, sizeof(f->path));
	if (n < 0)
		return pr_errno_ret("dump: pid %d vma %s: cannot read %s", pid, label, link);
	if ((size_t)n == sizeof(f->path)) {
		pr_err("dump: pid %d vma %s: the mapped file's path is longer than %d bytes", pid,
		       label, PATH_MAX);
		return -ENAMETOOLONG;
	}
	f->path[n] = '\0';
	if (stat(link, &f->st) || statfs(link, &sfs))
		return pr_errno_ret("dump: pid %d vma %s: cannot stat the mapped file through %s",
				    pid, label, link);
	f->shmem = sfs.f_type == TMPFS_MAGIC;
	f->hugetlbfs = sfs.f_type == HUGETLBFS_MAGIC;
	memo_keep(e->memo, e, f);
	return 0;
}

/* Whether @path, seen from @pid's root, is the very file @st describes:
 * then a " (deleted)" at its end is part of its name. */
static bool path_names_file(pid_t pid, const char *path, const struct stat *st)
{
	char *full = NULL;
	struct stat here;
	bool same;

	if (asprintf(&full, "/proc/%d/root%s", pid, path) < 0)
		return false;
	same = !stat(full, &here) && here.st_dev == st->st_dev && here.st_ino == st->st_ino;
	free(full);
	return same;
}

static bool is_sysv_name(const char *path)
{
	size_t len = strlen("/SYSV") + 8;

	if (!has_prefix(path, "/SYSV") || strlen(path) != len + strlen(DELETED_SUFFIX))
		return false;
	for (size_t i = strlen("/SYSV"); i < len; i++)
		if (!strchr("0123456789abcdef", path[i]))
			return false;
	return has_suffix(path, DELETED_SUFFIX);
}

/* Sets the kind, file path and identity of a mapping backed by a file. */
static int classify_file(pid_t pid, const struct smaps_entry *e, bool shared_anon_name,
			 const char *label, Vma *v)
{
	static const size_t cut = sizeof(DELETED_SUFFIX) - 1;
	struct mapped_file f;
	bool deleted;
	int ret;

	ret = stat_mapped_file(pid, e, label, &f);
	if (ret)
		return ret;
	deleted = has_suffix(f.path, DELETED_SUFFIX);
	if (f.hugetlbfs && !strcmp(f.path, ANON_HUGEPAGE_PATH)) {
		v->kind = VMA__KIND__ANON;
		v->flags |= MAP_ANONYMOUS;
		/* Private: pages of its own, saved as any anonymous memory's. */
		if (!(v->flags & MAP_SHARED))
			return 0;
	} else if (f.shmem && (v->flags & MAP_SHARED) &&
		   (shared_anon_name || !strcmp(f.path, "/dev/zero" DELETED_SUFFIX))) {
		v->kind = VMA__KIND__ANON;
		v->flags |= MAP_ANONYMOUS;
	} else if ((f.shmem || f.hugetlbfs) && is_sysv_name(f.path)) {
		/* SHM_HUGETLB: a file of the kernel's hugetlbfs mount. */
		v->kind = VMA__KIND__SYSV_SHM;
		v->file_path = strdup_cut(f.path, cut);
	} else if ((f.shmem || f.hugetlbfs) && deleted && has_prefix(f.path, "/memfd:")) {
		v->kind = VMA__KIND__MEMFD;
		v->file_path = strndup(f.path + strlen("/memfd:"),
				       strlen(f.path) - strlen("/memfd:") - cut);
	} else if (deleted && !path_names_file(pid, f.path, &f.st)) {
		v->kind = VMA__KIND__DELETED_FILE;
		v->file_path = strdup_cut(f.path, cut);
	} else {
		v->kind = VMA__KIND__FILE;
		v->file_path = strdup(f.path);
	}
	if (v->kind != VMA__KIND__ANON && !v->file_path) {
		pr_err("dump: pid %d vma %s: out of memory", pid, label);
		return -ENOMEM;
	}
	v->has_pgoff = true;
	v->pgoff = e->pgoff;
	v->has_file_dev = v->has_file_ino = v->has_file_size = true;
	v->file_dev = f.st.st_dev;
	v->file_ino = f.st.st_ino;
	v->file_size = f.st.st_size;
	/* A shared mapping that may be made writable: its file opened for
	 * writing, a SysV segment attached without SHM_RDONLY. */
	if (v->flags & MAP_SHARED) {
		v->has_file_writable = true;
		v->file_writable = e->vm_flags & VMF_MAYWRITE;
	}
	return 0;
}

/* A socket's mapping: only a packet socket's rings can be mapped. The
 * socket's object (its fd's) holds the rings' bytes; files/dump.c names
 * it by inode. */
static int classify_socket(pid_t pid, const struct smaps_entry *e, const char *label, Vma *v)
{
	struct mapped_file f;
	int ret = stat_mapped_file(pid, e, label, &f);

	if (ret)
		return ret;
	if (!(v->flags & MAP_SHARED) || e->pgoff) {
		pr_err("dump: pid %d vma %s: a socket mapped private or from an offset: not "
		       "supported", pid, label);
		return -EOPNOTSUPP;
	}
	v->kind = VMA__KIND__PACKET_RING;
	v->has_pgoff = v->has_file_dev = v->has_file_ino = true;
	v->pgoff = 0;
	v->file_dev = f.st.st_dev;
	v->file_ino = f.st.st_ino;
	return 0;
}

static const struct {
	const char *name;
	Vma__Kind kind;
} special_names[] = {
	{ "[heap]", VMA__KIND__HEAP },
	{ "[stack]", VMA__KIND__STACK },
	{ "[vdso]", VMA__KIND__VDSO },
	{ "[vvar]", VMA__KIND__VVAR },
	{ "[vvar_vclock]", VMA__KIND__VVAR_VCLOCK },
	{ "[vsyscall]", VMA__KIND__VSYSCALL },
};

/* Fills @v from a complete smaps entry. */
static int vma_from_entry(pid_t pid, const struct smaps_entry *e, Vma *v)
{
	const char *name = e->name;
	char label[VMA_LABEL_MAX];
	bool special = false;
	int ret;

	v->start = e->start;
	v->end = e->end;
	v->prot = (e->perms[0] == 'r' ? PROT_READ : 0) | (e->perms[1] == 'w' ? PROT_WRITE : 0) |
		  (e->perms[2] == 'x' ? PROT_EXEC : 0);
	v->flags = e->perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
	if (e->vm_flags & VMF_GROWSDOWN)
		v->flags |= MAP_GROWSDOWN;
	if (e->vm_flags & VMF_NORESERVE)
		v->flags |= MAP_NORESERVE;
	v->has_madvise = true;
	v->madvise = madvise_bits(e->vm_flags);
	/* Most mappings of a large process: private anonymous memory with
	 * nothing below to refuse, which needs no label built. */
	if (!*name && !(v->flags & MAP_SHARED) &&
	    !(e->vm_flags & (VMF_HUGETLB | VMF_SHADOW_STACK | VMF_UFFD_MISSING | VMF_IO | VMF_PFNMAP))) {
		v->kind = VMA__KIND__ANON;
		v->flags |= MAP_ANONYMOUS;
		return 0;
	}
	snprintf(label, sizeof(label), "%" PRIx64 "..%" PRIx64 "%s%s", e->start, e->end,
		 *name ? " " : "", name);

	/* Hugetlb memory is a file on a hugetlbfs mount, the kernel's own
	 * for MAP_ANONYMOUS and memfds, else a user's (a file by path or a
	 * deleted one, as on tmpfs); the page size is the mapping's. */
	if (e->vm_flags & VMF_HUGETLB) {
		if (e->kernel_page_kb <= 4 || name[0] != '/') {
			pr_err("dump: pid %d vma %s: hugetlb mapping with a page size of %" PRIu64
			       " kB and no hugetlbfs file", pid, label, e->kernel_page_kb);
			return -EIO;
		}
		v->has_huge_page_size = true;
		v->huge_page_size = e->kernel_page_kb * 1024;
		return classify_file(pid, e, false, label, v);
	}
	if (e->vm_flags & VMF_SHADOW_STACK) {
		pr_err("dump: pid %d vma %s: shadow stacks are not supported", pid, label);
		return -EOPNOTSUPP;
	}
	/* Its missing pages are not in memory but with whoever serves the
	 * userfaultfd (a lazy restore's page server, say): they would be lost. */
	if (e->vm_flags & VMF_UFFD_MISSING) {
		pr_err("dump: pid %d vma %s: registered with a userfaultfd, its missing pages are "
		       "not in memory (a lazy restore still serving them?): dump it once they are",
		       pid, label);
		return -EBUSY;
	}
	for (size_t i = 0; i < ARRAY_SIZE(special_names); i++) {
		if (!strcmp(name, special_names[i].name)) {
			v->kind = special_names[i].kind;
			special = true;
		}
	}
	if (special) {
		if (v->kind == VMA__KIND__HEAP || v->kind == VMA__KIND__STACK)
			v->flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (e->vm_flags & (VMF_IO | VMF_PFNMAP)) {
		pr_err("dump: pid %d vma %s: device memory (VmFlags io/pf) cannot be saved", pid,
		       label);
		return -EOPNOTSUPP;
	}
	if (!*name || (has_prefix(name, "[anon:") && has_suffix(name, "]"))) {
		v->kind = VMA__KIND__ANON;
		v->flags |= MAP_ANONYMOUS;
		if (*name && !(v->anon_name = strndup(name + 6, strlen(name) - 7)))
			goto err_nomem;
		if (v->flags & MAP_SHARED) {
			/* An unnamed anonymous mapping is private: a shared one has a file. */
			pr_err("dump: pid %d vma %s: shared mapping without a file", pid, label);
			return -EOPNOTSUPP;
		}
		return 0;
	}
	if (has_prefix(name, "[anon_shmem:") && has_suffix(name, "]")) {
		v->anon_name = strndup(name + 12, strlen(name) - 13);
		if (!v->anon_name)
			goto err_nomem;
		ret = classify_file(pid, e, true, label, v);
		if (!ret && v->kind != VMA__KIND__ANON) {
			pr_err("dump: pid %d vma %s: named shared memory is not anonymous", pid, label);
			return -EOPNOTSUPP;
		}
		return ret;
	}
	if (aio_is_ring(pid, e->start, e->end, name)) {
		v->kind = VMA__KIND__AIO;
		return aio_ring_read(pid, v);
	}
	if (name[0] == '/')
		return classify_file(pid, e, false, label, v);
	if (has_prefix(name, "socket:["))
		return classify_socket(pid, e, label, v);
	pr_err("dump: pid %d vma %s: unsupported kind of mapping", pid, label);
	return -EOPNOTSUPP;

err_nomem:
	pr_err("dump: pid %d vma %s: out of memory", pid, label);
	return -ENOMEM;
}

static void vma_free(Vma *v)
{
	if (!v)
		return;
	free(v->file_path);
	free(v->anon_name);
	free(v->guards);
	free(v);
}

void vma_list_free(struct vma_list *list)
{
	for (size_t i = 0; i < list->nr; i++)
		vma_free(list->vmas[i]);
	free(list->vmas);
	free(list->resident);
	free(list->guarded);
	memset(list, 0, sizeof(*list));
}

static int list_add(struct vma_list *list, Vma *v, uint64_t resident, bool guarded)
{
	if (list->nr == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		Vma **vmas = reallocarray(list->vmas, cap, sizeof(*vmas));
		uint64_t *res;
		bool *guard;

		if (!vmas)
			return -ENOMEM;
		list->vmas = vmas;
		res = reallocarray(list->resident, cap, sizeof(*res));
		if (!res)
			return -ENOMEM;
		list->resident = res;
		guard = reallocarray(list->guarded, cap, sizeof(*guard));
		if (!guard)
			return -ENOMEM;
		list->guarded = guard;
		list->cap = cap;
	}
	list->vmas[list->nr] = v;
	list->resident[list->nr] = resident;
	list->guarded[list->nr] = guarded;
	list->nr++;
	return 0;
}

/* Turns the entry read so far into a Vma at the end of @list. */
static int finish_entry(pid_t pid, const struct smaps_entry *e, struct vma_list *list)
{
	Vma *v;
	int ret;

	if (!e->has_vm_flags) {
		pr_err("dump: pid %d vma %" PRIx64 "..%" PRIx64 ": smaps shows no VmFlags", pid,
		       e->start, e->end);
		return -EIO;
	}
	if (list->nr && list->vmas[list->nr - 1]->end > e->start) {
		pr_err("dump: pid %d vma %" PRIx64 "..%" PRIx64 ": smaps lists it out of order",
		       pid, e->start, e->end);
		return -EIO;
	}
	v = malloc(sizeof(*v));
	if (!v)
		goto err_nomem;
	vma__init(v);
	ret = vma_from_entry(pid, e, v);
	if (ret) {
		vma_free(v);
		return ret;
	}
	if (list_add(list, v, (e->rss_kb + e->swap_kb + e->hugetlb_kb) * 1024,
		     e->vm_flags & VMF_MAYBE_GUARD)) {
		vma_free(v);
		goto err_nomem;
	}
	return 0;

err_nomem:
	pr_err("dump: pid %d: out of memory for its mappings", pid);
	return -ENOMEM;
}

/* " 1234 kB" */
static bool parse_kb(const char *text, unsigned long long *kb)
{
	char *end;

	errno = 0;
	*kb = strtoull(text, &end, 10);
	return !errno && end != text && has_prefix(end, " kB");
}

/* The "Key: value" @line of an entry, into @e when it is one of the few
 * keys used: told apart by their first letter first, since most of an
 * entry's 25 lines are none of them (Size, Pss, Private_Dirty, ...). */
static void parse_field(const char *line, struct smaps_entry *e)
{
	unsigned long long kb;

	switch (line[0]) {
	case 'R':
		if (has_prefix(line, "Rss:") && parse_kb(line + strlen("Rss:"), &kb))
			e->rss_kb = kb;
		break;
	case 'S':
		if (has_prefix(line, "Swap:") && parse_kb(line + strlen("Swap:"), &kb))
			e->swap_kb = kb;
		else if (has_prefix(line, "Shared_Hugetlb:") &&
			 parse_kb(line + strlen("Shared_Hugetlb:"), &kb))
			e->hugetlb_kb += kb;
		break;
	case 'P':
		if (has_prefix(line, "Private_Hugetlb:") &&
		    parse_kb(line + strlen("Private_Hugetlb:"), &kb))
			e->hugetlb_kb += kb;
		break;
	case 'K':
		if (has_prefix(line, "KernelPageSize:") &&
		    parse_kb(line + strlen("KernelPageSize:"), &kb))
			e->kernel_page_kb = kb;
		break;
	case 'V':
		if (has_prefix(line, "VmFlags:")) {
			e->vm_flags = parse_vm_flags(line + strlen("VmFlags:"));
			e->has_vm_flags = true;
		}
		break;
	}
}

/* What read_smaps() has of the entry being read. */
struct smaps_reader {
	pid_t pid;
	struct vma_list *list;
	struct mapped_file_memo *memo;
	struct smaps_entry e;
	char *name;		/* e.name's copy: the line's bytes are reused */
	bool in_entry;
};

/* One line, its newline cut. A key line starts with a capital letter
 * (Size:, Rss:, VmFlags:, ...), a header with a hex digit: 24 of an
 * entry's 25 lines are told apart at their first byte. */
static int take_line(struct smaps_reader *r, char *line)
{
	struct smaps_entry next;
	int ret;

	if (line[0] >= 'A' && line[0] <= 'Z') {
		if (r->in_entry)
			parse_field(line, &r->e);
		return 0;
	}
	memset(&next, 0, sizeof(next));
	if (!parse_header(line, &next))
		return 0;
	if (r->in_entry && (ret = finish_entry(r->pid, &r->e, r->list)))
		return ret;
	r->e = next;
	free(r->name);
	r->name = strdup(next.name);
	if (!r->name) {
		pr_err("dump: pid %d: out of memory for its mappings", r->pid);
		return -ENOMEM;
	}
	r->e.name = r->name;
	r->e.memo = r->memo;	/* NULL (no memory): every file looked up */
	r->in_entry = true;
	return 0;
}

#define SMAPS_CHUNK (1u << 20)

/* Reads in chunks of a MiB and cuts the lines in place: no line is copied
 * out of the buffer (getline() copied each of 1.25 million). */
static int read_smaps(pid_t pid, FILE *f, struct vma_list *list)
{
	_cleanup_free_ char *buf = malloc(SMAPS_CHUNK + 1);
	_cleanup_free_ struct mapped_file_memo *memo = calloc(1, sizeof(*memo));
	struct smaps_reader r = { .pid = pid, .list = list, .memo = memo };
	size_t have = 0;
	int ret = 0;

	if (!buf) {
		pr_err("dump: pid %d: out of memory for its mappings", pid);
		return -ENOMEM;
	}
	for (;;) {
		size_t n = fread(buf + have, 1, SMAPS_CHUNK - have, f);
		char *line = buf, *end = buf + have + n, *nl;

		while (!ret && (nl = memchr(line, '\n', (size_t)(end - line)))) {
			*nl = '\0';
			ret = take_line(&r, line);
			line = nl + 1;
		}
		have = (size_t)(end - line);
		if (ret)
			break;
		if (!n) {
			/* A last line without its newline. */
			line[have] = '\0';
			ret = have ? take_line(&r, line) : 0;
			break;
		}
		/* No line of smaps is near a MiB: a path is at most 4 KiB. */
		if (have == SMAPS_CHUNK) {
			pr_err("dump: pid %d: a line of /proc/%d/smaps is over %u bytes", pid, pid,
			       SMAPS_CHUNK);
			ret = -EIO;
			break;
		}
		memmove(buf, line, have);
	}
	if (!ret && ferror(f))
		ret = pr_errno_ret("dump: pid %d: cannot read /proc/%d/smaps", pid, pid);
	if (!ret && r.in_entry)
		ret = finish_entry(pid, &r.e, list);
	free(r.name);
	return ret;
}

/* Tests: this kernel names no mapping, so CRYO_TEST_ANON_NAME names the
 * unnamed private anonymous ones, as a kernel that names would show them.
 * Once a list, off the per-mapping path. */
static int test_names(struct vma_list *list)
{
	const char *name = getenv("CRYO_TEST_ANON_NAME");

	for (size_t i = 0; name && i < list->nr; i++) {
		Vma *v = list->vmas[i];

		if (v->kind == VMA__KIND__ANON && !v->anon_name && !v->file_path &&
		    (v->flags & MAP_PRIVATE) && !(v->anon_name = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

int vma_list_parse(pid_t pid, FILE *smaps, struct vma_list *out)
{
	struct vma_list list = { 0 };
	int ret;

	ret = read_smaps(pid, smaps, &list);
	if (!ret)
		ret = test_names(&list);
	if (ret) {
		vma_list_free(&list);
		return ret;
	}
	*out = list;
	return 0;
}

int vma_list_read(pid_t pid, struct vma_list *out)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	/* read_smaps() reads a MiB at a time into its own buffer, which
	 * smaps fills with as many entries as fit: no copy through stdio's. */
	setvbuf(f, NULL, _IONBF, 0);
	return vma_list_parse(pid, f, out);
}

int vma_madvise_at(pid_t pid, uint64_t addr, uint32_t *madvise)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	struct smaps_entry e;
	bool in_it = false;
	char path[64];
	size_t cap = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	while (getline(&line, &cap, f) > 0) {
		memset(&e, 0, sizeof(e));
		if (parse_header(line, &e)) {
			in_it = e.start <= addr && addr < e.end;
		} else if (in_it && has_prefix(line, "VmFlags:")) {
			*madvise = madvise_bits(parse_vm_flags(line + strlen("VmFlags:")));
			return 0;
		}
	}
	if (ferror(f))
		return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	pr_err("dump: pid %d: %s shows no VmFlags for the mapping at %#" PRIx64, pid, path, addr);
	return -EIO;
}

/* The file objects of one dump (struct files_dump_set): made by
 * files_dump_start() for the processes of the dump, handed to each
 * files_dump() and files_dump_mappings(), and written out once, as
 * files.img and locks.img, by files_dump_finish(). It finds the object of
 * an open file description seen before (by inode, then in kcmp's order)
 * and links the members of each group. Reading a task's fds is dump.c. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/dump_set.h"

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

int files_dump_start(struct image_dir *dir, const pid_t *pids, size_t n,
		     struct files_dump_set **out)
{
	struct files_dump_set *set = calloc(1, sizeof(*set));

	if (set && n)
		set->pids = malloc(n * sizeof(*set->pids));
	if (!set || (n && !set->pids)) {
		free(set);
		pr_err("dump: out of memory for the files of %zu processes", n);
		return -ENOMEM;
	}
	if (n) {
		memcpy(set->pids, pids, n * sizeof(*set->pids));
		qsort(set->pids, n, sizeof(*set->pids), cmp_pid);
	}
	set->nr_pids = n;
	set->dir = dir;
	set->self_pidfd = -1;
	set->socket_locks = -1;
	/* Its grace period passes while the parasites run. */
	proc_locks_start(&set->proc_locks);
	*out = set;
	return 0;
}

void files_dump_allow_external_unix(struct files_dump_set *set)
{
	set->ext_unix_sk = true;
}

bool file_dump_ext_unix_sk(const struct file_dump *d)
{
	return d->set->ext_unix_sk;
}

void *file_dump_kind_state(const struct file_dump *d, FileEntry__Kind kind,
			   void *(*make)(const struct file_dump *d), void (*drop)(void *state))
{
	struct files_dump_set *set = d->set;
	struct kind_state *ks;

	for (size_t i = 0; i < set->nr_kind_states; i++)
		if (set->kind_states[i].kind == kind)
			return set->kind_states[i].state;
	if (set->nr_kind_states == sizeof(set->kind_states) / sizeof(set->kind_states[0])) {
		pr_err("dump: more kinds keep a state for the dump than cryo has room for");
		return NULL;
	}
	ks = &set->kind_states[set->nr_kind_states];
	ks->state = make(d);
	if (!ks->state)
		return NULL;
	ks->kind = kind;
	ks->drop = drop;
	set->nr_kind_states++;
	return ks->state;
}

void files_dump_skip_in_flight(struct files_dump_set *set)
{
	set->skip_in_flight = true;
}

bool file_dump_skip_in_flight(const struct file_dump *d)
{
	return d->set->skip_in_flight;
}

void files_dump_allow_orphan_pts(struct files_dump_set *set)
{
	set->orphan_pts = true;
}

bool file_dump_orphan_pts(const struct file_dump *d)
{
	return d->set->orphan_pts;
}

void files_dump_free(struct files_dump_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nr_objs; i++)
		protobuf_c_message_free_unpacked(&set->objs[i].fe->base, NULL);
	for (size_t i = 0; i < set->cap_buckets; i++) {
		free(set->buckets[i].objs);
		free(set->buckets[i].by_id);
	}
	free(set->objs);
	free(set->buckets);
	free(set->groups);
	free(set->pids);
	free(set->cttys);
	free(set->holders);
	for (size_t i = 0; i < set->nr_kind_states; i++)
		set->kind_states[i].drop(set->kind_states[i].state);
	locks_forget(set);
	proc_locks_free(&set->proc_locks);
	in_flight_forget(set);
	image_abort(set->queues);
	free(set);
}

/* Whether a socket may hold a lock here: sockets are one device (sockfs). */
static int sockets_locked(struct files_dump_set *set)
{
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	ret = fstat(fd, &st) ? -errno : locks_on_device(&set->proc_locks, st.st_dev);
	close(fd);
	return ret;
}

bool dump_set_socket_locks(struct files_dump_set *set)
{
	if (set->socket_locks < 0)
		set->socket_locks = sockets_locked(set) ? 1 : 0;
	return set->socket_locks;
}

void files_dump_set_tree_devpts(struct files_dump_set *set, dev_t devpts)
{
	set->tree_devpts = devpts;
}

void files_dump_set_net(struct files_dump_set *set, struct net_run *net)
{
	set->net = net;
}

void files_dump_set_ghost_limit(struct files_dump_set *set, uint64_t limit)
{
	set->ghost_limit = limit;
}

uint64_t file_dump_ghost_limit(const struct file_dump *d)
{
	return d->set->ghost_limit;
}

void files_dump_allow_link_remap(struct files_dump_set *set)
{
	set->link_remap = true;
}

bool file_dump_link_remap(const struct file_dump *d)
{
	return d->set->link_remap;
}

void files_dump_allow_evasive_devices(struct files_dump_set *set)
{
	set->evasive_devices = true;
}

bool file_dump_evasive_devices(const struct file_dump *d)
{
	return d->set->evasive_devices;
}

bool file_dump_has_pid(const struct file_dump *d, pid_t pid)
{
	const struct files_dump_set *set = d->set;

	return pid == d->p->pid ||
	       (set->nr_pids && bsearch(&pid, set->pids, set->nr_pids, sizeof(pid), cmp_pid));
}

size_t file_dump_pids(const struct file_dump *d, const pid_t **pids)
{
	*pids = d->set->pids;
	return d->set->nr_pids;
}

/* ---- objects by inode ---------------------------------------------------------- */

static size_t hash2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h ^ (h >> 29));
}

static int buckets_grow(struct files_dump_set *set)
{
	size_t cap = set->cap_buckets ? set->cap_buckets * 2 : 64;
	struct inode_bucket *b = calloc(cap, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap_buckets; i++) {
		struct inode_bucket *old = &set->buckets[i];
		size_t j;

		if (!old->objs)
			continue;
		for (j = hash2(old->ino, old->dev) & (cap - 1); b[j].objs; j = (j + 1) & (cap - 1))
			;
		b[j] = *old;
	}
	free(set->buckets);
	set->buckets = b;
	set->cap_buckets = cap;
	return 0;
}

struct inode_bucket *bucket_get(struct files_dump_set *set, dev_t dev, ino_t ino)
{
	size_t mask, j;

	if ((set->nr_buckets + 1) * 2 > set->cap_buckets && buckets_grow(set))
		return NULL;
	mask = set->cap_buckets - 1;
	for (j = hash2(ino, dev) & mask; set->buckets[j].objs; j = (j + 1) & mask)
		if (set->buckets[j].dev == dev && set->buckets[j].ino == ino)
			return &set->buckets[j];
	set->buckets[j].objs = malloc(4 * sizeof(size_t));
	if (!set->buckets[j].objs)
		return NULL;
	set->buckets[j].dev = dev;
	set->buckets[j].ino = ino;
	set->buckets[j].cap = 4;
	set->nr_buckets++;
	return &set->buckets[j];
}

int bucket_search(struct files_dump_set *set, const struct inode_bucket *b,
		  const struct fd_probe *p, size_t *pos, struct dump_obj **found)
{
	size_t lo = 0, hi = b->nr;

	*found = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct dump_obj *o = &set->objs[b->objs[mid]];
		long r = syscall(SYS_kcmp, p->pid, o->pid, KCMP_FILE, p->fd, o->fd);

		if (r == 0) {
			*found = o;
			return 0;
		}
		if (r != 1 && r != 2) {
			int err = r < 0 ? errno : EINVAL;

			pr_fd_err(p, "cannot compare with pid %d fd %d (kcmp): %s", o->pid, o->fd,
				  r < 0 ? strerror(err) : "no order");
			return -err;
		}
		/* 1: ours orders before theirs. */
		if (r == 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return 0;
}

static int bucket_insert(struct inode_bucket *b, size_t pos, size_t obj)
{
	if (b->nr == b->cap) {
		size_t *bigger = reallocarray(b->objs, b->cap * 2, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		b->objs = bigger;
		b->cap *= 2;
	}
	memmove(b->objs + pos + 1, b->objs + pos, (b->nr - pos) * sizeof(*b->objs));
	b->objs[pos] = obj;
	b->nr++;
	return 0;
}

int bucket_note(struct inode_bucket *b, FileEntry *fe)
{
	if (b->nr_by_id == b->cap_by_id) {
		size_t cap = b->cap_by_id ? b->cap_by_id * 2 : 4;
		FileEntry **bigger = reallocarray(b->by_id, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		b->by_id = bigger;
		b->cap_by_id = cap;
	}
	if (b->nr_by_id && b->by_id[0]->kind != fe->kind)
		b->mixed_kinds = true;
	b->by_id[b->nr_by_id++] = fe;
	return 0;
}

int obj_new(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	    struct dump_obj **out)
{
	struct dump_obj *o;
	FileEntry *fe;

	if (set->nr_objs == set->cap_objs) {
		size_t cap = set->cap_objs ? set->cap_objs * 2 : 64;
		struct dump_obj *bigger = reallocarray(set->objs, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		set->objs = bigger;
		set->cap_objs = cap;
	}
	if (set->nr_objs >= UINT32_MAX)
		return -EOVERFLOW;
	fe = malloc(sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	file_entry__init(fe);
	fe->id = set->nr_objs + 1;
	fe->kind = kind->type;
	fe->flags = p->flags;
	fe->pos = p->pos;
	o = &set->objs[set->nr_objs++];
	o->fe = fe;
	o->pid = p->pid;
	o->fd = p->fd;
	o->pending = false;
	*out = o;
	return 0;
}

int obj_add(struct files_dump_set *set, const struct fd_probe *p, const struct file_kind *kind,
	    struct inode_bucket *b, size_t pos, struct dump_obj **out)
{
	int ret = obj_new(set, p, kind, out);

	if (!ret && (bucket_insert(b, pos, set->nr_objs - 1) || bucket_note(b, (*out)->fe)))
		ret = -ENOMEM;
	return ret;
}

uint32_t inode_holder(const struct files_dump_set *set, const struct inode_bucket *b,
		      FileEntry__Kind kind)
{
	if (b->mapped)
		return b->mapped;
	for (size_t i = 0; i < b->nr; i++) {
		const FileEntry *fe = set->objs[b->objs[i]].fe;

		if (fe->kind == kind)
			return fe->has_inode_of ? fe->inode_of : fe->id;
	}
	return 0;
}

/* ---- groups -------------------------------------------------------------------- */

static int groups_grow(struct files_dump_set *set)
{
	size_t cap = set->cap_groups ? set->cap_groups * 2 : 16;
	struct dump_group *g = calloc(cap, sizeof(*g));

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap_groups; i++) {
		const struct dump_group *old = &set->groups[i];
		size_t j;

		if (!old->type)
			continue;
		for (j = hash2(old->key, old->type) & (cap - 1); g[j].type; j = (j + 1) & (cap - 1))
			;
		g[j] = *old;
	}
	free(set->groups);
	set->groups = g;
	set->cap_groups = cap;
	return 0;
}

int file_dump_join_group(const struct file_dump *d, uint64_t key)
{
	struct files_dump_set *set = d->set;
	FileEntry *fe = d->fe;
	struct dump_group *g;
	size_t mask, j;

	if (!key || fe->has_inode_of) {
		pr_fd_err(d->p, "cannot join group %#llx: %s", (unsigned long long)key,
			  key ? "it is another open of an inode" : "0 names no group");
		return -EINVAL;
	}
	if ((set->nr_groups + 1) * 2 > set->cap_groups && groups_grow(set))
		return -ENOMEM;
	mask = set->cap_groups - 1;
	for (j = hash2(key, fe->kind) & mask; set->groups[j].type; j = (j + 1) & mask) {
		g = &set->groups[j];
		if (g->type == fe->kind && g->key == key) {
			fe->has_group_of = true;
			fe->group_of = g->leader;
			g->nr++;
			return 0;
		}
	}
	set->groups[j] = (struct dump_group){ .type = fe->kind, .key = key, .leader = fe->id,
					      .nr = 1 };
	set->nr_groups++;
	return 0;
}

/* Asks the kind of group @g whether its members can be made again; @next
 * chains each member to the next one of its group (by index, 0 ends). */
static int check_group_members(const struct files_dump_set *set, const struct dump_group *g,
			       const struct file_kind *kind, const uint32_t *next)
{
	_cleanup_free_ FileEntry **members = calloc(g->nr + 1, sizeof(*members));
	const struct dump_obj *o = &set->objs[g->leader - 1];
	const char *why;
	size_t n = 0;

	if (!members)
		return -ENOMEM;
	for (size_t i = g->leader - 1; n < g->nr; i = next[i]) {
		members[n++] = set->objs[i].fe;
		if (!next[i])
			break;
	}
	why = kind->group_incomplete(members, n);
	if (!why)
		return 0;
	pr_err("dump: pid %d fd %d (%s file %u): %s", o->pid, o->fd, kind->name, g->leader, why);
	return -EOPNOTSUPP;
}

/* Chains the members of each group in one pass, so that finding them is
 * not a walk of every object per group (a tree of 10,000 socketpairs). */
static int chain_group_members(const struct files_dump_set *set, uint32_t **next_out)
{
	_cleanup_free_ uint32_t *last = calloc(set->nr_objs + 1, sizeof(*last));
	uint32_t *next = calloc(set->nr_objs + 1, sizeof(*next));

	if (!last || !next) {
		free(next);
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->nr_objs; i++) {
		const FileEntry *fe = set->objs[i].fe;
		size_t leader = fe->has_group_of ? fe->group_of - 1 : i;

		if (leader >= set->nr_objs)
			continue;
		if (leader != i)
			next[last[leader] ? last[leader] : leader] = (uint32_t)i;
		last[leader] = leader != i ? (uint32_t)i : 0;
	}
	*next_out = next;
	return 0;
}

/* A group that lacks members: the others are held by processes outside
 * the dump, and restore could not make it again. */
static int check_groups(const struct files_dump_set *set)
{
	_cleanup_free_ uint32_t *next = NULL;

	for (size_t i = 0; i < set->cap_groups; i++) {
		const struct dump_group *g = &set->groups[i];
		const struct file_kind *kind = g->type ? file_kind_of(g->type) : NULL;
		const struct dump_obj *o;

		if (kind && kind->group_incomplete) {
			int ret = next ? 0 : chain_group_members(set, &next);

			if (!ret)
				ret = check_group_members(set, g, kind, next);
			if (ret)
				return ret;
		}
		if (!kind || !kind->group_size || g->nr == kind->group_size)
			continue;
		o = &set->objs[g->leader - 1];
		pr_err("dump: pid %d fd %d (%s file %u): one of %u objects made together, but "
		       "the dump holds %u of them (the others are outside it)", o->pid, o->fd,
		       kind->name, g->leader, kind->group_size, g->nr);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

static int write_files(struct files_dump_set *set)
{
	struct image_writer *w;
	int ret;

	ret = image_open_write(set->dir, IMG_FILES, 0, &w);
	if (ret)
		return ret;
	for (size_t i = 0; i < set->nr_objs && !ret; i++)
		ret = image_write_record(w, &set->objs[i].fe->base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* An object made for another task's need (file_dump_find_holder()) whose
 * kind dumps it with a table that holds it: some table must have. */
static int check_pending(const struct files_dump_set *set)
{
	for (size_t i = 0; i < set->nr_objs; i++) {
		const struct dump_obj *o = &set->objs[i];

		if (o->pending) {
			pr_err("dump: pid %d fd %d (%s file %u): no fd table holding it was dumped",
			       o->pid, o->fd, file_kind_of(o->fe->kind)->name, o->fe->id);
			return -EINVAL;
		}
	}
	return 0;
}

int files_dump_finish(struct files_dump_set *set, const pid_t *live, size_t n)
{
	int ret = check_groups(set);

	if (!ret)
		ret = check_pending(set);
	if (!ret)
		ret = ctty_check(set);
	if (!ret && set->queues) {
		ret = image_finish(set->queues);
		set->queues = NULL;
	}
	if (!ret)
		ret = write_files(set);
	if (!ret)
		ret = locks_write(set, live, n);
	if (!ret)
		pr_info("dump: %zu file objects", set->nr_objs);
	return ret;
}

/* Unit tests of cgroups_v1.img's checks (task/cgroup_image.c): a sane set
 * of hierarchies loads (a setting --cgroup-props chose too); each kind of
 * damage is refused, naming it. */
#include "harness.h"
#include "test_images_util.h"
#include "images/proto/cgroup.pb-c.h"

struct member {
	int pid, tid;
	const char *path;
};

struct hierarchy {
	const char *controllers;
	struct member members[2];
	const char *cgroup;		/* one cgroup of the tree's own, or NULL */
	const char *file, *value;	/* its one setting */
};

/* Writes @h (@n records) as cgroups_v1.img, reads it back: the error and,
 * in *@msg, what was logged. */
static int read_hierarchies(const struct hierarchy *h, size_t n, char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct image_writer *w;

	*msg = NULL;
	if (!tmp || image_dir_create(tmp, &dir) || image_open_write(dir, IMG_CGROUPS_V1, 0, &w))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		CgroupV1Hierarchy rec = CGROUP_V1_HIERARCHY__INIT;
		CgroupV1Member members[2], *mptrs[2];
		CgroupEntry cg = CGROUP_ENTRY__INIT, *cgptr = &cg;
		CgroupSetting set = CGROUP_SETTING__INIT, *setptr = &set;

		rec.controllers = (char *)h[i].controllers;
		for (size_t m = 0; m < 2 && h[i].members[m].path; m++) {
			cgroup_v1_member__init(&members[m]);
			members[m].pid = h[i].members[m].pid;
			members[m].has_tid = h[i].members[m].tid != 0;
			members[m].tid = h[i].members[m].tid;
			members[m].path = (char *)h[i].members[m].path;
			mptrs[m] = &members[m];
			rec.n_members++;
		}
		rec.members = mptrs;
		if (h[i].cgroup) {
			cg.path = (char *)h[i].cgroup;
			set.file = (char *)h[i].file;
			set.value = (char *)h[i].value;
			cg.settings = &setptr;
			cg.n_settings = 1;
			rec.cgroups = &cgptr;
			rec.n_cgroups = 1;
		}
		image_write_record(w, &rec.base);
	}
	return image_finish_and_read(w, dir, IMG_CGROUPS_V1, 0, msg);
}

TEST(sane_v1_hierarchies_load)
{
	static const struct hierarchy h[] = {
		{ "cpu,cpuacct", { { 10, 0, "/a/b" }, { 10, 11, "/a" } }, "/a", "cpu.shares",
		  "512" },
		{ .controllers = "name=systemd", .members = { { 10, 0, "/" } } },
		{ "devices", { { 10, 0, "/d" } }, "/d", "devices.list", "c 1:3 rwm\na *:* r" },
		{ "memory", { { 10, 0, "/m" } }, "/m", "memory.oom_control", "1" },
	};
	_cleanup_free_ char *msg = NULL;
	int ret = read_hierarchies(h, ARRAY_SIZE(h), &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg);
}

TEST(damaged_v1_hierarchies_are_refused_by_name)
{
	/* A hierarchy of members only; one of process 10 in /a, with a
	 * cgroup and its setting. */
#define M(c, ...) { .controllers = (c), .members = { __VA_ARGS__ } }
#define S(c, cg, f, v) { .controllers = (c), .members = { { 10, 0, "/a" } }, .cgroup = (cg), \
			 .file = (f), .value = (v) }
	static const struct {
		struct hierarchy h[2];
		size_t n;
		const char *cause;
	} cases[] = {
		{ { M("name=a,name=b", { 10, 0, "/" }) }, 1, "not controllers or one name" },
		{ { M("Cpu", { 10, 0, "/" }) }, 1, "not controllers or one name" },
		{ { M("cpu,", { 10, 0, "/" }) }, 1, "not controllers or one name" },
		{ { M("cpu", { 10, 0, "/" }), M("cpuacct,cpu", { 10, 0, "/" }) }, 2,
		  "shares a controller" },
		{ { M("pids", { 10, 0, "/a" }, { 10, 0, "/b" }) }, 1, "listed twice" },
		{ { M("pids", { 0, 0, "/a" }) }, 1, "a bad pid" },
		{ { M("pids", { 10, 0, "/a/../b" }) }, 1, "or path" },
		{ { S("pids", "/a", "cpu.shares", "5") }, 1,
		  "of another controller" },
		{ { S("pids", "/a", "cgroup.procs", "5") }, 1, "not a setting" },
		{ { S("devices", "/a", "devices.allow", "a") }, 1, "not a setting" },
		{ { S("pids", "/a", "pids/../../x", "5") }, 1, "not a setting" },
		{ { S("pids", "/a", "pids.max", "5\n6") }, 1, "a bad value" },
		{ { S("devices", "/a", "devices.list", "x 1:3 rwm") }, 1,
		  "a bad value" },
		{ { S("devices", "/a", "devices.list", "c 1:3 rwx") }, 1,
		  "a bad value" },
		{ { S("pids", "/", "pids.max", "5") }, 1, "clean absolute path" },
	};
#undef M
#undef S

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *msg;
		int ret = read_hierarchies(cases[i].h, cases[i].n, &msg);
		bool ok = ret == -EBADMSG && msg && strstr(msg, cases[i].cause);

		if (!ok)
			harness_fail(__FILE__, __LINE__, "case %zu: want \"%s\", got %d: %s", i,
				     cases[i].cause, ret, msg ? msg : "");
		free(msg);
		if (!ok)
			return;
	}
}

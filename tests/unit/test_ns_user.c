/* userns.img (src/ns/user.c, user_image.c): what a dump writes loads back
 * as it was, and ids translate through its maps; no map, overlapping or
 * overflowing lines and kinds that are not namespaces are refused, naming
 * the file. Images are written by hand. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/log.h"
#include "harness.h"
#include "images/proto/user_ns.pb-c.h"
#include "ns/user.h"
#include "test_images_util.h"

static void extent(UserNsExtent *e, uint32_t inside, uint32_t outside, uint32_t count)
{
	user_ns_extent__init(e);
	e->inside = inside;
	e->outside = outside;
	e->count = count;
}

static int write_one(const char *tmp, const UserNs *msg)
{
	struct image_dir *dir;
	struct image_writer *w;
	int ret = image_dir_create(tmp, &dir);

	if (ret)
		return ret;
	ret = image_open_write(dir, IMG_USERNS, 0, &w);
	if (!ret)
		ret = image_write_record(w, &msg->base);
	if (!ret)
		ret = image_finish(w);
	else
		image_abort(w);
	image_dir_close(dir);
	return ret;
}

static int load(const char *tmp, struct ns_user_set **set, char *said, size_t size)
{
	struct image_dir *dir;
	int ret = image_dir_open(tmp, &dir);

	if (ret)
		return ret;
	said[0] = '\0';
	log_capture_errors(said, size);
	ret = ns_user_load(dir, set);
	log_capture_errors(NULL, 0);
	image_dir_close(dir);
	return ret;
}

TEST(user_namespace_loads_as_written_and_maps_ids)
{
	_cleanup_tree_ char *tmp = make_temp_dir(), *none = make_temp_dir();
	UserNsExtent root = USER_NS_EXTENT__INIT, rest = USER_NS_EXTENT__INIT;
	UserNsExtent *uids[] = { &root, &rest }, *gids[] = { &root };
	UserNs u = USER_NS__INIT;
	struct ns_user_set *set = NULL;
	uint32_t id = 0;
	char said[512];

	CHECK(tmp && none, "scratch directories");
	extent(&root, 0, 100000, 1);
	extent(&rest, 1000, 101000, 10);
	u.n_uid_map = 2;
	u.uid_map = uids;
	u.n_gid_map = 1;
	u.gid_map = gids;
	u.setgroups_allow = false;
	u.owner_uid = 7;
	u.owned_kinds = CLONE_NEWNET | CLONE_NEWUTS;
	CHECK(!write_one(tmp, &u), "write");
	CHECK(!load(tmp, &set, said, sizeof(said)) && set, "refused: %s", said);
	CHECK(set->nr_uid == 2 && set->nr_gid == 1 && !set->setgroups_allow && set->owner == 7 &&
	      set->owned_kinds == (CLONE_NEWNET | CLONE_NEWUTS) && set->fd == -1,
	      "loaded other values");
	CHECK(!ns_user_inside(set, false, 101009, &id) && id == 1009, "uid 101009 is %u", id);
	CHECK(!ns_user_inside(set, true, 100000, &id) && id == 0, "gid 100000 is %u", id);
	CHECK(ns_user_inside(set, false, 101010, &id) == -ERANGE, "uid 101010 mapped");
	CHECK(ns_user_inside(set, true, 101000, &id) == -ERANGE, "gid 101000 mapped");
	ns_user_free(set);
	CHECK(!load(none, &set, said, sizeof(said)) && !set, "a dump without one loads one");
}

TEST(user_namespace_images_out_of_range_are_refused)
{
	UserNsExtent a = USER_NS_EXTENT__INIT, b = USER_NS_EXTENT__INIT;
	UserNsExtent *two[] = { &a, &b }, *one[] = { &a };
	struct {
		const char *what, *said;
		size_t nr_uid;
		uint32_t b_inside, b_count, kinds;
	} cases[] = {
		{ "no uid map", "0 uid_map lines", 0, 0, 1, 0 },
		{ "overlapping lines", "lines 0 and 1 overlap", 2, 5, 1, 0 },
		{ "a line past 2^32", "out of range", 2, 4294967295u, 2, 0 },
		{ "an empty line", "out of range", 2, 50, 0, 0 },
		{ "a kind that is no namespace", "not namespace kinds", 1, 0, 1, CLONE_VM },
	};
	char said[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_tree_ char *tmp = make_temp_dir();
		UserNs u = USER_NS__INIT;
		struct ns_user_set *set = NULL;

		CHECK(tmp, "scratch directory");
		extent(&a, 0, 100000, 10);
		extent(&b, cases[i].b_inside, 300000, cases[i].b_count);
		u.n_uid_map = cases[i].nr_uid;
		u.uid_map = two;
		u.n_gid_map = 1;
		u.gid_map = one;
		u.owned_kinds = cases[i].kinds;
		CHECK(!write_one(tmp, &u), "%s: write", cases[i].what);
		CHECK(load(tmp, &set, said, sizeof(said)) == -EBADMSG && !set, "%s: loaded",
		      cases[i].what);
		CHECK(strstr(said, "userns.img") && strstr(said, cases[i].said), "%s: said: %s",
		      cases[i].what, said);
	}
}

/* utsns.img and timens.img (src/ns/image.c, uts.c, time.c): what a dump
 * writes loads back as it was; a name longer than the kernel keeps, a
 * clock below 0 or with a nanosecond count of a second or more, and a
 * second record are refused, naming the file. Images are written by hand. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "harness.h"
#include "images/proto/own_ns.pb-c.h"
#include "ns/ns.h"
#include "test_images_util.h"

static int write_one(const char *tmp, enum image_kind kind, const ProtobufCMessage *msg,
		     int copies)
{
	struct image_dir *dir;
	struct image_writer *w;
	int ret = image_dir_create(tmp, &dir);

	if (ret)
		return ret;
	ret = image_open_write(dir, kind, 0, &w);
	for (int i = 0; !ret && i < copies; i++)
		ret = image_write_record(w, msg);
	if (!ret)
		ret = image_finish(w);
	else
		image_abort(w);
	image_dir_close(dir);
	return ret;
}

static int load(const char *tmp, struct ns_own *own, char *said, size_t size)
{
	struct image_dir *dir;
	int ret = image_dir_open(tmp, &dir);

	if (ret)
		return ret;
	said[0] = '\0';
	log_capture_errors(said, size);
	ret = ns_own_load(dir, own);
	log_capture_errors(NULL, 0);
	image_dir_close(dir);
	return ret;
}

TEST(own_namespaces_load_as_written)
{
	_cleanup_tree_ char *uts = make_temp_dir(), *time = make_temp_dir(),
			    *neither = make_temp_dir();
	UtsNs u = UTS_NS__INIT;
	TimeNs t = TIME_NS__INIT;
	struct ns_own own;
	char said[512];

	CHECK(uts && time && neither, "scratch directories");
	u.nodename = "host";
	u.domainname = "example.test";
	t.monotonic_sec = 1000000;
	t.monotonic_nsec = 5;
	t.boottime_sec = 2000000;
	t.boottime_nsec = 999999999;
	CHECK(!write_one(uts, IMG_UTSNS, &u.base, 1), "write");
	CHECK(!write_one(time, IMG_TIMENS, &t.base, 1), "write");
	CHECK(!load(uts, &own, said, sizeof(said)), "refused: %s", said);
	CHECK(own.uts && !own.time && !strcmp(own.nodename, "host") &&
	      !strcmp(own.domainname, "example.test"), "loaded %s/%s", own.nodename,
	      own.domainname);
	CHECK(!load(time, &own, said, sizeof(said)), "refused: %s", said);
	CHECK(own.time && !own.uts && own.monotonic.tv_sec == 1000000 &&
	      own.monotonic.tv_nsec == 5 && own.boottime.tv_sec == 2000000 &&
	      own.boottime.tv_nsec == 999999999, "clocks changed");
	CHECK(!load(neither, &own, said, sizeof(said)) && !ns_own_any(&own),
	      "a dump in cryo's namespaces asks for some");
}

TEST(own_namespace_images_out_of_range_are_refused)
{
	_cleanup_tree_ char *long_name = make_temp_dir(), *nsec = make_temp_dir(),
			    *negative = make_temp_dir(), *two = make_temp_dir();
	char name[NS_UTS_NAME_MAX + 2], said[512];
	UtsNs u = UTS_NS__INIT;
	TimeNs t = TIME_NS__INIT;
	struct ns_own own;

	CHECK(long_name && nsec && negative && two, "scratch directories");
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	u.nodename = name;
	u.domainname = "";
	CHECK(!write_one(long_name, IMG_UTSNS, &u.base, 1), "write");
	CHECK(load(long_name, &own, said, sizeof(said)) == -EBADMSG, "a 65-byte name loaded");
	CHECK(strstr(said, "utsns.img") && strstr(said, "longer than 64"), "said: %s", said);

	t.monotonic_nsec = 1000000000;
	CHECK(!write_one(nsec, IMG_TIMENS, &t.base, 1), "write");
	CHECK(load(nsec, &own, said, sizeof(said)) == -EBADMSG, "a second of nanoseconds loaded");
	CHECK(strstr(said, "timens.img") && strstr(said, "out of range"), "said: %s", said);

	t.monotonic_nsec = 0;
	t.boottime_sec = -1;
	CHECK(!write_one(negative, IMG_TIMENS, &t.base, 1), "write");
	CHECK(load(negative, &own, said, sizeof(said)) == -EBADMSG, "a clock below 0 loaded");

	t.boottime_sec = 1;
	CHECK(!write_one(two, IMG_TIMENS, &t.base, 2), "write");
	CHECK(load(two, &own, said, sizeof(said)) == -EBADMSG, "two records loaded");
	CHECK(strstr(said, "2 records, not one"), "said: %s", said);
}

/* The names of the namespace kinds, and namespace ids in pstree.img
 * (NsIds): to and from struct ns_ids, and the checks restore makes before
 * it trusts them. Nothing here touches a
 * process, so the image fuzzer links it alone. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/cleanup.h"
#include "images/proto/own_ns.pb-c.h"
#include "ns/ns.h"

/* Where each kind lives in NsIds: its has_ flag and its value. */
static const struct {
	size_t has, value;
} fields[NS_NR_KINDS] = {
#define NS_FIELD(kind, field) [kind] = { offsetof(NsIds, has_##field), offsetof(NsIds, field) }
	NS_FIELD(NS_PID, pid),
	NS_FIELD(NS_PID_FOR_CHILDREN, pid_for_children),
	NS_FIELD(NS_MNT, mnt),
	NS_FIELD(NS_NET, net),
	NS_FIELD(NS_IPC, ipc),
	NS_FIELD(NS_UTS, uts),
	NS_FIELD(NS_USER, user),
	NS_FIELD(NS_CGROUP, cgroup),
	NS_FIELD(NS_TIME, time),
	NS_FIELD(NS_TIME_FOR_CHILDREN, time_for_children),
#undef NS_FIELD
};

const char *ns_kind_name(enum ns_kind kind)
{
	static const char *const names[NS_NR_KINDS] = {
		[NS_PID] = "pid", [NS_PID_FOR_CHILDREN] = "pid_for_children",
		[NS_MNT] = "mnt", [NS_NET] = "net", [NS_IPC] = "ipc", [NS_UTS] = "uts",
		[NS_USER] = "user", [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
		[NS_TIME_FOR_CHILDREN] = "time_for_children",
	};

	return (unsigned int)kind < NS_NR_KINDS ? names[kind] : "?";
}

void ns_ids_to_image(const struct ns_ids *ids, NsIds *msg)
{
	for (int k = 0; k < NS_NR_KINDS; k++) {
		*(protobuf_c_boolean *)((char *)msg + fields[k].has) = ids->ino[k] != 0;
		*(uint64_t *)((char *)msg + fields[k].value) = ids->ino[k];
	}
}

void ns_ids_from_image(const NsIds *msg, struct ns_ids *ids)
{
	ids->pid_for_children_unborn = false;
	for (int k = 0; k < NS_NR_KINDS; k++) {
		bool has = msg && *(const protobuf_c_boolean *)((const char *)msg + fields[k].has);

		ids->ino[k] = has ? *(const uint64_t *)((const char *)msg + fields[k].value) : 0;
	}
}

int ns_ids_differ(const struct ns_ids *a, const struct ns_ids *b)
{
	for (int k = 0; k < NS_NR_KINDS; k++)
		if (a->ino[k] && b->ino[k] && a->ino[k] != b->ino[k])
			return k;
	return -1;
}

int ns_ids_zero_in_image(const NsIds *msg)
{
	for (int k = 0; msg && k < NS_NR_KINDS; k++)
		if (*(const protobuf_c_boolean *)((const char *)msg + fields[k].has) &&
		    !*(const uint64_t *)((const char *)msg + fields[k].value))
			return k;
	return -1;
}

/* ---- utsns.img and timens.img --------------------------------------------- */

static int one_record(const struct image *img)
{
	if (img->nr_records == 1)
		return 0;
	image_error(img->path, 0, "%zu records, not one", img->nr_records);
	return -EBADMSG;
}

static int utsns_check(const struct image *img, const struct image_dir *dir, int id)
{
	const UtsNs *u;

	(void)dir;
	(void)id;
	if (one_record(img))
		return -EBADMSG;
	u = (const UtsNs *)img->records[0].msg;
	if (strlen(u->nodename) > NS_UTS_NAME_MAX || strlen(u->domainname) > NS_UTS_NAME_MAX) {
		image_error(img->path, img->records[0].offset, "a host or domain name longer "
			    "than %d bytes", NS_UTS_NAME_MAX);
		return -EBADMSG;
	}
	return 0;
}

static int timens_check(const struct image *img, const struct image_dir *dir, int id)
{
	const TimeNs *t;

	(void)dir;
	(void)id;
	if (one_record(img))
		return -EBADMSG;
	t = (const TimeNs *)img->records[0].msg;
	/* A clock never reads below 0, and the kernel keeps its offsets
	 * within about a tenth of KTIME_MAX's seconds. */
	if (t->monotonic_sec < 0 || t->boottime_sec < 0 || t->monotonic_nsec >= 1000000000u ||
	    t->boottime_nsec >= 1000000000u || t->monotonic_sec > NS_TIME_SEC_MAX ||
	    t->boottime_sec > NS_TIME_SEC_MAX) {
		image_error(img->path, img->records[0].offset, "a clock out of range (monotonic "
			    "%lld.%09u, boottime %lld.%09u)", (long long)t->monotonic_sec,
			    t->monotonic_nsec, (long long)t->boottime_sec, t->boottime_nsec);
		return -EBADMSG;
	}
	return 0;
}

static const struct image_kind_desc ns_own_kinds[] = {
	{ IMG_UTSNS, "utsns", "utsns.img", &uts_ns__descriptor, utsns_check },
	{ IMG_TIMENS, "timens", "timens.img", &time_ns__descriptor, timens_check },
};

const struct image_kind_set ns_own_image_kinds = { "ns-own", ns_own_kinds,
						 ARRAY_SIZE(ns_own_kinds) };

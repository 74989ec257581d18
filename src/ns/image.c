/* The names of the namespace kinds, and namespace ids in pstree.img
 * (NsIds): to and from struct ns_ids, and the checks restore makes before
 * it trusts them. Nothing here touches a
 * process, so the image fuzzer links it alone. */
#include <stddef.h>

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

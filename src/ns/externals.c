/* criu's --external specs for mounts, veth ends, the lower devices of
 * macvlans and ipvlans and network namespaces, and the namespaces given by
 * key, checked and kept in a struct ns_externals (the run's options);
 * ns/mnt_restore.c, ns/net_link.c, ns/net_devices.c and ns/net.c look
 * names up in it. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/externals.h"

static int add(struct ns_external *list, size_t *nr, const char *key, size_t key_len,
	       const char *val, const char *spec)
{
	if (*nr == NS_EXTERNALS_MAX) {
		pr_err("--external %s: more than %d of its kind", spec, NS_EXTERNALS_MAX);
		return -E2BIG;
	}
	list[*nr].key = strndup(key, key_len);
	list[*nr].val = strdup(val);
	if (!list[*nr].key || !list[*nr].val) {
		free(list[*nr].key);
		free(list[*nr].val);
		return -ENOMEM;
	}
	(*nr)++;
	return 0;
}

static bool device_name_ok(const char *name, size_t len)
{
	return len && len < IFNAMSIZ && !memchr(name, '/', len) && !memchr(name, ' ', len) &&
	       !memchr(name, ':', len);
}

static int add_veth(struct ns_externals *x, const char *in, size_t in_len, const char *out,
		    const char *spec)
{
	if (!device_name_ok(in, in_len) || !device_name_ok(out, strlen(out))) {
		pr_err("%s: cryo takes veth[INSIDE]:OUTSIDE (--external) or INSIDE=OUTSIDE "
		       "(--veth-pair), each a device name", spec);
		return -EINVAL;
	}
	return add(x->veth, &x->nr_veth, in, in_len, out, spec);
}

/* macvlan[IN]:LOWER or ipvlan[IN]:LOWER, kept as "KIND:IN" -> LOWER. */
static int add_lower(struct ns_externals *x, const char *spec, size_t kind_len)
{
	const char *close_bracket = strchr(spec, ']');
	const char *in = spec + kind_len + 1;
	size_t in_len = close_bracket ? (size_t)(close_bracket - in) : 0;
	char key[48];

	if (!close_bracket || close_bracket[1] != ':' || !device_name_ok(in, in_len) ||
	    !device_name_ok(close_bracket + 2, strlen(close_bracket + 2))) {
		pr_err("--external %s: cryo takes %.*s[INSIDE]:LOWER, each a device name", spec,
		       (int)kind_len, spec);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s:%.*s", (int)kind_len, spec, (int)in_len, in);
	return add(x->lower, &x->nr_lower, key, strlen(key), close_bracket + 2, spec);
}

/* net[INODE]:KEY: a network namespace left to its owner, named by inode. */
static int add_net(struct ns_externals *x, const char *spec)
{
	const char *close_bracket = strchr(spec, ']');
	size_t digits = strspn(spec + 4, "0123456789");

	if (!digits || spec + 4 + digits != close_bracket || close_bracket[1] != ':' ||
	    !close_bracket[2]) {
		pr_err("--external %s: cryo takes net[INODE]:KEY (the namespace's inode, a key "
		       "not empty)", spec);
		return -EINVAL;
	}
	return add(x->net, &x->nr_net, spec + 4, digits, close_bracket + 2, spec);
}

int ns_external_add(struct ns_externals *x, const char *spec)
{
	const char *close_bracket = strchr(spec, ']');
	bool veth = !strncmp(spec, "veth[", 5);
	size_t open_len = veth ? 5 : 4;

	if (!strncmp(spec, "macvlan[", 8))
		return add_lower(x, spec, 7);
	if (!strncmp(spec, "ipvlan[", 7))
		return add_lower(x, spec, 6);
	if (!strncmp(spec, "net[", 4))
		return add_net(x, spec);
	if ((!veth && strncmp(spec, "mnt[", 4)) || !close_bracket || close_bracket[1] != ':' ||
	    close_bracket == spec + open_len || (!veth && close_bracket[2] != '/')) {
		pr_err("--external %s: cryo takes mnt[MOUNTPOINT]:PATH (an absolute path), "
		       "veth[INSIDE]:OUTSIDE, macvlan[INSIDE]:LOWER, ipvlan[INSIDE]:LOWER or "
		       "net[INODE]:KEY", spec);
		return -EINVAL;
	}
	if (veth)
		return add_veth(x, spec + 5, (size_t)(close_bracket - spec - 5), close_bracket + 2,
				spec);
	return add(x->mnt, &x->nr_mnt, spec + 4, (size_t)(close_bracket - spec - 4),
		   close_bracket + 2, spec);
}

int ns_veth_pair_add(struct ns_externals *x, const char *spec)
{
	const char *sep = strchr(spec, '=');

	if (!sep) {
		pr_err("%s: cryo takes veth[INSIDE]:OUTSIDE (--external) or INSIDE=OUTSIDE "
		       "(--veth-pair), each a device name", spec);
		return -EINVAL;
	}
	return add_veth(x, spec, (size_t)(sep - spec), sep + 1, spec);
}

static const char *find(const struct ns_external *list, size_t nr, const char *key)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(list[i].key, key))
			return list[i].val;
	return NULL;
}

const char *ns_external_mnt(const struct ns_externals *x, const char *key)
{
	return x ? find(x->mnt, x->nr_mnt, key) : NULL;
}

const char *ns_external_veth(const struct ns_externals *x, const char *inside)
{
	return x ? find(x->veth, x->nr_veth, inside) : NULL;
}

const char *ns_external_lower(const struct ns_externals *x, const char *kind, const char *inside)
{
	char key[48];

	snprintf(key, sizeof(key), "%s:%s", kind, inside);
	return x ? find(x->lower, x->nr_lower, key) : NULL;
}

const char *ns_external_net(const struct ns_externals *x, unsigned long long ino)
{
	char key[24];

	snprintf(key, sizeof(key), "%llu", ino);
	return x ? find(x->net, x->nr_net, key) : NULL;
}

int ns_external_fd_add(struct ns_externals *x, const char *key, int fd)
{
	int ret = add(x->ns_fd, &x->nr_ns_fd, key, strlen(key), "", key);

	if (!ret)
		x->ns_fd_fd[x->nr_ns_fd - 1] = fd;
	return ret;
}

int ns_external_fd(const struct ns_externals *x, const char *key)
{
	for (size_t i = 0; x && i < x->nr_ns_fd; i++)
		if (!strcmp(x->ns_fd[i].key, key))
			return x->ns_fd_fd[i];
	return -1;
}

int ns_join_add(struct ns_externals *x, const char *spec)
{
	static const char *const kinds[] = { "net", "ipc", "uts" };
	const char *colon = strchr(spec, ':'), *path;
	size_t len = colon ? (size_t)(colon - spec) : 0;
	char proc[64], kind[8] = "";
	bool known = false;
	char *end;
	long pid;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (len == strlen(kinds[i]) && !strncmp(spec, kinds[i], len))
			known = true;
	if (!colon || !colon[1] || !known) {
		pr_err("--join-ns %s: cryo joins net, ipc or uts namespaces, given as NS:PATH or "
		       "NS:PID (criu's user, mnt, time and cgroup ones are not supported)", spec);
		return -EINVAL;
	}
	memcpy(kind, spec, len);
	path = colon + 1;
	if (strchr(path, ',')) {
		pr_err("--join-ns %s: extra options are a user namespace's, which cryo does not "
		       "join", spec);
		return -EINVAL;
	}
	if (ns_join_path(x, kind)) {
		pr_err("--join-ns %s: a %s namespace to join is given twice", spec, kind);
		return -EINVAL;
	}
	pid = strtol(path, &end, 10);
	if (!*end && pid > 0) {
		snprintf(proc, sizeof(proc), "/proc/%ld/ns/%s", pid, kind);
		path = proc;
	} else if (path[0] != '/') {
		pr_err("--join-ns %s: give an absolute path or a pid", spec);
		return -EINVAL;
	}
	return add(x->join, &x->nr_join, kind, len, path, spec);
}

const char *ns_join_path(const struct ns_externals *x, const char *kind)
{
	return x ? find(x->join, x->nr_join, kind) : NULL;
}

static void free_list(struct ns_external *list, size_t *nr)
{
	for (size_t i = 0; i < *nr; i++) {
		free(list[i].key);
		free(list[i].val);
	}
	*nr = 0;
}

void ns_externals_free(struct ns_externals *x)
{
	free_list(x->mnt, &x->nr_mnt);
	free_list(x->veth, &x->nr_veth);
	free_list(x->lower, &x->nr_lower);
	free_list(x->net, &x->nr_net);
	free_list(x->ns_fd, &x->nr_ns_fd);
	free_list(x->join, &x->nr_join);
}

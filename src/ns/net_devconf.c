/* The per-device sysctls of a tree's own network namespace
 * (net/ipv4/conf/DEV/KEY, net/ipv6/conf/DEV/KEY for all, default, the
 * loopback and each saved device): read at dump, written back at restore
 * once the devices are made. The namespace-wide ones are net.c's; the
 * check of what the image holds is net_image.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/textfile.h"
#include "ns/sysctl.h"
#include "ns/net.h"

struct devconf {
	const char *who;
	NetSysctl *list;
	size_t n;
};

static bool namespace_wide(const char *name)
{
	for (size_t i = 0; net_ns_sysctls[i]; i++)
		if (!strcmp(name, net_ns_sysctls[i]))
			return true;
	return false;
}

static int add(struct devconf *c, const char *name, char *value)
{
	NetSysctl *list = realloc(c->list, (c->n + 1) * sizeof(*list));

	if (!list) {
		free(value);
		return -ENOMEM;
	}
	c->list = list;
	net_sysctl__init(&list[c->n]);
	list[c->n].name = strdup(name);
	list[c->n].value = value;
	if (!list[c->n].name) {
		free(value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/* Every key of net/@family/conf/@dev that its owner may write. */
static int read_device(struct devconf *c, const char *family, const char *dev)
{
	char dir_path[96], name[384];
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	snprintf(dir_path, sizeof(dir_path), "/proc/sys/net/%s/conf/%s", family, dev);
	dir = opendir(dir_path);
	/* IPv6 may be off in the kernel, or a device may have no IPv6 conf. */
	if (!dir)
		return errno == ENOENT ? 0 : pr_errno_ret("dump: %s: cannot list %s", c->who,
							  dir_path);
	while (!ret && (e = readdir(dir))) {
		struct stat st;
		char *value;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "net/%s/conf/%s/%s", family, dev, e->d_name);
		/* Read-only ones (mc_forwarding) say what the kernel does. */
		if (namespace_wide(name) || fstatat(dirfd(dir), e->d_name, &st, 0) ||
		    !(st.st_mode & S_IWUSR))
			continue;
		ret = read_text_at(dirfd(dir), e->d_name, &value);
		/* stable_secret reads EIO while no secret is set: nothing to keep. */
		if (ret == -EIO && !strcmp(e->d_name, "stable_secret")) {
			ret = 0;
			continue;
		}
		if (ret) {
			pr_err("dump: %s: cannot read /proc/sys/%s: %s", c->who, name,
			       strerror(-ret));
			break;
		}
		value[strcspn(value, "\n")] = '\0';
		ret = add(c, name, value);
	}
	closedir(dir);
	return ret;
}

int net_devconf_dump(const char *who, const struct net_dev *devs, size_t n_devs,
		     NetSysctl **out, size_t *n)
{
	static const char *const families[] = { "ipv4", "ipv6" };
	static const char *const first[] = { "all", "default", "lo" };
	struct devconf c = { .who = who };
	int ret = 0;

	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; !ret && i < 3; i++)
			ret = read_device(&c, families[f], first[i]);
		for (size_t i = 0; !ret && i < n_devs; i++)
			ret = read_device(&c, families[f], devs[i].name);
	}
	*out = c.list;
	*n = c.n;
	return ret;
}

/* Writes @s unless it already has its value: a write marks an IPv4 key
 * as set by hand (a later change of default no longer reaches it), and
 * some keys refuse writes in some states whatever the value. */
static int write_one(const NetSysctl *s)
{
	const char *dev = s->name + strlen("net/ipv4/conf/");
	char who[64], path[192], *now = NULL;
	int ret;

	snprintf(who, sizeof(who), "network namespace, device %.*s", (int)strcspn(dev, "/"), dev);
	snprintf(path, sizeof(path), "/proc/sys/%s", s->name);
	ret = read_text_file(path, &now);
	if (ret == -ENOENT)
		pr_err("restore: %s: this kernel has no sysctl %s", who, s->name);
	else if (ret)
		pr_err("restore: %s: cannot read %s: %s", who, path, strerror(-ret));
	if (ret)
		return ret;
	now[strcspn(now, "\n")] = '\0';
	if (strcmp(now, s->value))
		ret = ns_sysctl_write(who, s->name, s->value);
	free(now);
	return ret;
}

int net_devconf_restore(const NetNs *ns)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < ns->n_dev_sysctls; i++)
		ret = write_one(ns->dev_sysctls[i]);
	return ret;
}

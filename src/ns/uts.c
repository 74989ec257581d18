/* UTS namespaces: a tree's host and domain names (utsns.img), read at dump
 * from inside its namespace, set again in the new one restore makes. When
 * the namespace is made is own.c's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/own_ns.pb-c.h"
#include "ns/ns.h"
#include "ns/user.h"

/* The names as @pid sees them: cryo steps into its namespace and back. */
static int read_names(pid_t pid, struct utsname *u)
{
	_cleanup_close_ int mine = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int theirs = -1;
	char path[64];
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (mine < 0 || theirs < 0)
		return pr_errno_ret("dump: pid %d: cannot open its UTS namespace (%s)", pid, path);
	if (setns(theirs, CLONE_NEWUTS))
		return pr_errno_ret("dump: pid %d: cannot enter its UTS namespace", pid);
	if (uname(u))
		ret = pr_errno_ret("dump: pid %d: cannot read its host name (uname)", pid);
	if (setns(mine, CLONE_NEWUTS))
		ret = pr_errno_ret("dump: cannot go back to cryo's UTS namespace");
	return ret;
}

int ns_uts_dump(pid_t pid, struct image_dir *dir)
{
	UtsNs msg = UTS_NS__INIT;
	struct utsname u;
	int ret = read_names(pid, &u);

	if (ret)
		return ret;
	msg.nodename = u.nodename;
	msg.domainname = u.domainname;
	ret = image_write_single(dir, IMG_UTSNS, 0, &msg.base);
	if (!ret)
		pr_info("dump: pid %d: its own UTS namespace: host name '%s', domain name '%s'",
			pid, u.nodename, u.domainname);
	return ret;
}

int ns_uts_load(const struct image_dir *dir, struct ns_own *own)
{
	struct image *img;
	const UtsNs *u;
	int ret;

	if (faccessat(dir->fd, "utsns.img", F_OK, 0) && errno == ENOENT)
		return 0;
	ret = image_read(dir, IMG_UTSNS, 0, &img);
	if (ret)
		return ret;
	u = (const UtsNs *)img->records[0].msg;
	own->uts = true;
	snprintf(own->nodename, sizeof(own->nodename), "%s", u->nodename);
	snprintf(own->domainname, sizeof(own->domainname), "%s", u->domainname);
	image_free(img);
	return 0;
}

int ns_uts_make(const struct ns_own *own)
{
	if (ns_user_unshare(own->userns, CLONE_NEWUTS))
		return pr_errno_ret("restore: cannot make a UTS namespace (unshare)");
	if (sethostname(own->nodename, strlen(own->nodename)))
		return pr_errno_ret("restore: cannot set the host name '%s' in the new UTS "
				    "namespace", own->nodename);
	if (setdomainname(own->domainname, strlen(own->domainname)))
		return pr_errno_ret("restore: cannot set the domain name '%s' in the new UTS "
				    "namespace", own->domainname);
	return 0;
}

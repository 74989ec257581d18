/* Negative tests (test_negative.c says what they check): what dump refuses
 * in a program's namespaces and IPC objects (a child in a UTS or IPC
 * namespace of its own, what a network namespace of the tree holds, an
 * overlay mount, POSIX message queues it cannot save, a SysV segment
 * attached outside the dump), each naming the cause while the program runs
 * on. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/sched.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* The first child of @pid; 0, with why, when it has none. */
static pid_t first_child(pid_t pid)
{
	char path[64];
	int child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "re");
	if (!f) {
		fail_why("cannot open %s", path);
		return 0;
	}
	if (fscanf(f, "%d", &child) != 1 || child <= 0) {
		fail_why("no child in %s", path);
		child = 0;
	}
	fclose(f);
	return child;
}

/* Program @name has a child in a namespace of its own: the dump must be
 * refused naming "dump: pid CHILD: " @what and @why_text, and the tree run
 * on. */
static bool child_refused(const char *name, const char *what, const char *why_text)
{
	struct prog p = { 0 };
	char expect[160];
	pid_t child;
	bool ok = start_prog(&p, name, NULL, NULL);

	child = ok ? first_child(p.pid) : 0;
	ok = ok && child > 0;
	snprintf(expect, sizeof(expect), "dump: pid %d: %s", child, what);
	ok = ok && dump_refused_unharmed(&p, expect, why_text) && prog_passes(&p);
	end_prog(&p);
	return ok;
}

/* A child in a UTS namespace of its own, not the root's: refused by name
 * (the child and the namespace), and the tree runs on. */
TEST(dump_refuses_a_child_in_its_own_uts_namespace_and_the_tree_runs_on)
{
	CHECK(child_refused("neg_own_ns", "in its own uts namespace (uts:[",
			    "]): every process of a tree must share the root's UTS namespace"),
	      "%s", why);
}

static void set_netns_case(void *what)
{
	setenv("NEG_NETNS", what, 1);
}

/* A program in a network namespace of its own holding what cryo does not
 * restore there yet: refused by name (by the namespace, or by the fd: a tap
 * with a packet queued) before any parasite runs in it, and it runs on. */
TEST(dump_refuses_what_a_trees_net_namespace_holds_and_cannot_be_restored)
{
	static const char *const netns = "dump: pid %d's network namespace (net:[";
	static const char *const cases[][3] = {
		{ "device", NULL, "has device cryo-t0 (ifb): network devices other than the "
				  "loopback, veth, bridge, dummy, macvlan, ipvlan and tun are "
				  "not supported yet" },
		{ "tunfd", "dump: pid %d fd ", "(/dev/net/tun): device cryo-t1: a packet is "
					       "queued on it to be read (the queue is not "
					       "saved): not supported" },
		{ "tunout", NULL, "device cryo-t2: a tun/tap device held by an open "
				  "/dev/net/tun of pid " },
		{ "tunlink", NULL, "device cryo-t3: a link type set by TUNSETLINK (65534): not "
				   "supported yet" },
		{ "tuncarrier", NULL, "device cryo-t4: a carrier turned off by TUNSETCARRIER "
				      "while a queue is attached: not supported yet" },
		{ "nexthop", NULL, "has nexthop object 7: nexthop objects are not supported yet" },
		{ "nft", NULL, "nftables table inet cryo_neg is owned by a process (flags owner)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prog p = { 0 };
		char expect[96];
		bool ok = start_prog(&p, "neg_in_netns", set_netns_case, (void *)cases[i][0]);

		snprintf(expect, sizeof(expect), cases[i][1] ? cases[i][1] : netns, p.pid);
		ok = ok && dump_refused_unharmed(&p, expect, cases[i][2]) && prog_passes(&p);
		end_prog(&p);
		CHECK(ok, "%s: %s", cases[i][0], why);
	}
}

/* A child in an IPC namespace of its own, apart from its root's: a tree
 * in several IPC namespaces is refused by name, and it runs on. */
TEST(dump_refuses_a_tree_in_two_ipc_namespaces_and_it_runs_on)
{
	CHECK(child_refused("neg_ipc_split", "in another IPC namespace (ipc:[",
			    "a tree in several IPC namespaces is not supported"),
	      "%s", why);
}

/* A POSIX message queue with a notification registered, in a tree's own
 * IPC namespace, is refused by name, and the program runs on with it
 * untouched and no notification fired. */
TEST(dump_refuses_a_posix_message_queue_with_a_notification)
{
	struct prog p = { 0 };
	char expect[96];

	CHECK_GOTO(start_prog(&p, "neg_ipc_leftover", NULL, NULL), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d's IPC namespace (ipc:[", p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, "POSIX message queue /cryo-leftover has a "
					 "notification registered (mq_notify): not supported"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* An fd of a POSIX message queue unlinked while open: refused by name, and
 * it runs on. */
TEST(dump_refuses_an_fd_of_an_unlinked_posix_message_queue_and_it_runs_on)
{
	struct prog p = { 0 };

	CHECK_GOTO(start_prog(&p, "neg_mqueue_fd", NULL, NULL), out, "%s", why);
	CHECK_GOTO(dump_refused_unharmed(&p, "fd 3 (/cryo-neg-",
					 "is a POSIX message queue unlinked while open: not "
					 "supported"),
		   out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* A program in a mount namespace of its own with an overlay mount, which
 * cryo cannot make again: refused by name (the mount, its kind and source),
 * and it runs on. */
TEST(dump_refuses_an_overlay_mount_of_its_own_and_it_runs_on)
{
	struct prog p = { 0 };
	char expect[96], expect2[PATH_MAX + 64];

	CHECK_GOTO(start_prog(&p, "neg_mount_overlay", NULL, NULL), out, "%s", why);
	snprintf(expect, sizeof(expect), "dump: pid %d: mount ", p.pid);
	snprintf(expect2, sizeof(expect2), " (%s/o, overlay on cryo-overlay): cryo makes again "
		 "only tmpfs", p.dir);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, expect2), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* A SysV segment also attached by a process outside the dump (here, the
 * test itself) could not be shared with it again: refused before anything
 * is written, and the program runs on. */
TEST(dump_refuses_a_sysv_segment_attached_outside_the_dump)
{
	struct prog p = { 0 };
	char img[PATH_MAX], pid[16], expect[96];
	struct cryo_run r;
	void *ours = (void *)-1;
	int id;

	CHECK_GOTO(start_prog(&p, "neg_sysv_shm", NULL, NULL), out, "%s", why);
	id = sysv_segment_of(p.pid);
	CHECK_GOTO(id >= 0, out, "the program's segment is not there: %s", strerror(errno));
	ours = shmat(id, NULL, SHM_RDONLY);
	CHECK_GOTO(ours != (void *)-1, out, "shmat: %s", strerror(errno));
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img);
	snprintf(expect, sizeof(expect), "SysV segment %d (key %#x) has 2 attachments, 1 of them "
		 "in the dump", id, 0x5f000000 | p.pid);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(names_pid(r.out, p.pid), out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (ours != (void *)-1)
		shmdt(ours);
	if (p.pid && (id = sysv_segment_of(p.pid)) >= 0)
		shmctl(id, IPC_RMID, NULL);
	end_prog(&p);
}

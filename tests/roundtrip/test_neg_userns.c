/* Negative tests (test_negative.c says what they check) of user and
 * cgroup namespaces: the shapes dump refuses by name, the tree running on
 * unharmed (a user namespace two levels below cryo's, a tree in two user or
 * two cgroup namespaces, threads without a pid namespace of the user
 * namespace), a restore whose maps reach beyond the ids of the images'
 * owner, and a lazy restore of a container whose pid namespace is its user
 * namespace's. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

static void set_mode(void *mode)
{
	setenv("NEG_USERNS_MODE", mode, 1);
}

static bool refused_in_mode(const char *mode, const char *key, const char *key2)
{
	struct prog p = { 0 };
	char expect[128];
	bool ok = start_prog(&p, "neg_userns", set_mode, (void *)mode);

	snprintf(expect, sizeof(expect), key, p.pid);
	ok = ok && dump_refused_unharmed(&p, expect, key2) && prog_passes(&p);
	end_prog(&p);
	return ok;
}

TEST(dump_refuses_a_user_namespace_two_levels_down_and_it_runs_on)
{
	CHECK(refused_in_mode("nested", "dump: pid %d: in user namespace user:[",
			      "only a user namespace one level below cryo's is supported"),
	      "%s", why);
}

TEST(dump_refuses_a_tree_in_two_user_namespaces_and_it_runs_on)
{
	CHECK(refused_in_mode("split", "in another user namespace (user:[",
			      "a tree in several user namespaces is not supported"), "%s", why);
}

TEST(dump_refuses_a_tree_in_two_cgroup_namespaces_and_it_runs_on)
{
	CHECK(refused_in_mode("cgroup-split", "in another cgroup namespace (cgroup:[",
			      "a tree in several cgroup namespaces is not supported"), "%s", why);
}

TEST(dump_refuses_threads_in_a_user_namespace_without_its_pid_namespace)
{
	CHECK(refused_in_mode("threads", "dump: pid %d: has 2 threads in its own user namespace",
			      "their tids could not be chosen from inside: not supported yet"),
	      "%s", why);
}

/* In the child before exec: uid 1000 with every capability root has here,
 * kept across the exec as ambient ones: cryo fully privileged, not root. */
static void become_privileged_user(void *arg)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	int last = CAP_LAST_CAP;

	(void)arg;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) || syscall(SYS_capget, &hdr, caps))
		_exit(125);
	for (int i = 0; i < 2; i++)
		caps[i].effective = caps[i].inheritable = caps[i].permitted;
	if (syscall(SYS_capset, &hdr, caps))
		_exit(125);
	for (int cap = 0; cap <= last; cap++)
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* Images of uid 1000 whose user namespace maps root onto uid 100000: no
 * process of uid 1000 could have made it, so a fully privileged cryo run by
 * uid 1000 refuses the maps by name and creates nothing. */
TEST(restore_refuses_maps_beyond_the_image_owners_ids)
{
	char img[PATH_MAX], path[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	struct dirent *de;
	pid_t image_pid = 0;
	int status;
	DIR *d;

	CHECK_GOTO(start_prog(&p, "prog_userns", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	run_cryo(&r, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the program runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	/* Its child, killed with it, comes to this subreaper to be reaped. */
	end_children(0, NULL, 0);
	d = opendir(img);
	CHECK_GOTO(d && !chown(img, OTHER_UID, OTHER_UID), out, "cannot give %s away", img);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			pathf(path, "%s/%s", img, de->d_name);
			if (chown(path, OTHER_UID, OTHER_UID))
				break;
		}
	closedir(d);
	run_cryo_with(&r, become_privileged_user, NULL, CRYO_ARGS("restore", "-D", img, "-d"));
	CHECK_GOTO(refused(&r, "userns.img: its uid_map maps 0-65535 onto 100000-165535",
			   "owned by uid 1000, who holds only uid 1000: refused", NULL),
		   out, "%s (status %d)", why, r.status);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

/* The container's processes are born in its user namespace, where a
 * userfaultfd cannot follow their forks: --lazy-pages is refused by name,
 * before anything is created. */
TEST(restore_refuses_a_lazy_container_whose_pid_namespace_is_its_user_namespaces)
{
	char img[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_container", NULL, NULL), out, "%s", why);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	pathf(img, "%s/img", p.dir);
	run_cryo(&r, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, WAIT_MS, &status), out, "the container runs after its dump");
	image_pid = p.pid;
	p.pid = 0;
	run_cryo(&r, "restore", "-D", img, "-d", "--lazy-pages");
	CHECK_GOTO(refused(&r, "restore: --lazy-pages: the tree's pid namespace belongs to its user "
			   "namespace", "cannot follow their forks with a userfaultfd: not supported",
			   NULL),
		   out, "%s (status %d)", why, r.status);
	CHECK_GOTO(nothing_restored(&p, image_pid, 0), out, "%s", why);
out:
	end_prog(&p);
}

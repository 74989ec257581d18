/* The table of test programs (see programs.h). A new prog_*.c or neg_*.c
 * gets a line here: test_roundtrip fails for a binary that has none, so no
 * program is ever silently left out. Keep it in name order. */
#include <sched.h>
#include <string.h>

#include "programs.h"

const char *const cycle_names[NR_CYCLES] = { "once", "twice", "thrice", "leave-running",
					     "lazy" };

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The lazy-only programs: the page server's background pass is slowed
 * down (one page every 20 ms), so that they meet pages not served yet. */
#define LAZY_TRICKLE "CRYO_TEST_LAZY_TRICKLE=1"

const struct test_program test_programs[] = {
	{ .name = "neg_big_memory" },
	{ .name = "neg_clone_files" },
	/* Its jailed grandchild shares fs info and the fd table (test_proc_refusals). */
	{ .name = "neg_clone_fs_files_chroot", .binary = "prog_clone_share", .args = LIST("files") },
	/* A child sharing fs info with a thread that has its own (test_proc_refusals). */
	{ .name = "neg_clone_fs_thread", .binary = "prog_clone_share", .args = LIST("thread") },
	{ .name = "neg_clone_fs_thread_parent", .binary = "prog_clone_share",
	  .args = LIST("thread_parent") },
	{ .name = "neg_epoll_lost_target" },
	{ .name = "neg_epoll_thread_pidfd" },
	{ .name = "neg_fanotify" },
	{ .name = "neg_in_netns", .namespaces = CLONE_NEWNET },
	{ .name = "neg_ipc_leftover", .namespaces = CLONE_NEWIPC },
	{ .name = "neg_ipc_split" },
	/* prog_ghost_files, dumped with no option (test_state_refusals). */
	{ .name = "neg_link_remap", .binary = "prog_ghost_files" },
	{ .name = "neg_userns", .namespaces = CLONE_NEWUSER },
	{ .name = "neg_mqueue_fd" },
	{ .name = "neg_own_ns" },
	{ .name = "neg_mount_overlay", .namespaces = CLONE_NEWNS },
	{ .name = "neg_pidfd_thread_shared" },
	{ .name = "neg_ping" },
	{ .name = "neg_unix_accept_data" },
	{ .name = "neg_unix_rights" },
	{ .name = "neg_packet_ring_unheld" },
	{ .name = "neg_flock_mapped" },
	{ .name = "neg_unix_rights_pidfd" },
	{ .name = "neg_pty_full" },
	{ .name = "neg_sysv_shm" },
	{ .name = "neg_sysv_shm_hugetlb" },
	{ .name = "neg_sysv_shm_hugetlb_unattached", .binary = "neg_sysv_shm_hugetlb",
	  .args = LIST("unattached"), .namespaces = CLONE_NEWIPC },
	{ .name = "neg_thread_creds" },
	{ .name = "neg_traced_child" },
	{ .name = "neg_tcp_port", .dump.options = LIST("--tcp-established") },
	{ .name = "neg_udp_port" },
	{ .name = "neg_vfork_parent" },
	/* Memory changed between pre-dumps and the dump (test_predump). */
	{ .name = "prog_predump" },
	/* ... and write tracking across them (test_track_mem). */
	{ .name = "prog_track_mem" },
	{ .name = "prog_aio", .cycles = CYCLES_ALL },
	{ .name = "prog_attrs", .cycles = CYCLES_ALL },
	{ .name = "prog_cgroupns", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWCGROUP },
	{ .name = "prog_clone_files", .cycles = CYCLES_ALL },
	{ .name = "prog_clone_share", .cycles = CYCLES_ALL },
	{ .name = "prog_counter", .cycles = CYCLES_ALL },
	/* 20 MiB written on every tick: enough to go through the parasite's
	 * vmsplice (mem/pagesplice.c), and changed right after a release. */
	{ .name = "prog_counter_pages", .binary = "prog_counter", .args = LIST("pages", "20"),
	  .cycles = CYCLES_ALL, .expect = EXPECT_SPLICED_BUT_RSEQ },
	/* The same, its pages in two files on two writer threads (a large
	 * task's, from 64 MiB on) at every dump but -R's, which never
	 * splices: restored from two files in each cycle (lazily too), and
	 * dumped again from what was restored. */
	{ .name = "prog_counter_two_files", .binary = "prog_counter", .args = LIST("pages", "20"),
	  .cycles = CYCLES_ALL, .dump.env = LIST("CRYO_TEST_TWO_FILES_MIN=1"),
	  .expect = EXPECT_SPLICED_BUT_RSEQ | EXPECT_TWO_PAGES_FILES },
	{ .name = "prog_cow_shared", .cycles = CYCLES_ALL },
	{ .name = "prog_cow_siblings", .cycles = CYCLES_ALL },
	{ .name = "prog_deleted_maps", .cycles = CYCLES_ALL },
	{ .name = "prog_epoll_flags", .cycles = CYCLES_ALL },
	{ .name = "prog_epoll_moved", .cycles = CYCLES_ALL },
	{ .name = "prog_epoll_shared", .cycles = CYCLES_ALL },
	{ .name = "prog_epoll_in_flight", .cycles = CYCLES_ALL },
	{ .name = "prog_fanotify", .cycles = CYCLES_ALL },
	{ .name = "prog_fd_owner", .cycles = CYCLES_ALL },
	{ .name = "prog_fds", .cycles = CYCLES_ALL },
	{ .name = "prog_many_sockets", .cycles = CYCLES_ALL },
	{ .name = "prog_many_sockets_flock", .binary = "prog_many_sockets", .args = LIST("flock"),
	  .cycles = CYCLES_ALL },
	{ .name = "prog_ghost_files", .cycles = CYCLES_ALL,
	  .dump.options = LIST("--link-remap") },
	/* 10 pages, 11 restored (the child's copy of a private page), 2 of
	 * a SysV segment (reserved whole) and 9 of hugetlbfs files (pages and
	 * reservations). */
	{ .name = "prog_hugetlb", .cycles = CYCLES_ALL, .huge_pages = 26 },
	/* Without its child: its private memory goes through vmsplice. */
	{ .name = "prog_hugetlb_alone", .binary = "prog_hugetlb", .args = LIST("alone"),
	  .cycles = CYCLE_ONCE, .huge_pages = 26 },
	{ .name = "prog_ipc_ns", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWIPC },
	/* Its page counts are checked by test_everyday's statistics test. */
	{ .name = "prog_known_pages", .cycles = CYCLES_ALL },
	{
		.name = "prog_lazy_events",
		.cycles = CYCLE_LAZY,
		.restore.env = LIST(LAZY_TRICKLE),
		.expect = EXPECT_DUMP_REFUSED_WHILE_LAZY,
	},
	{
		/* The server's copies fail after 100. */
		.name = "prog_lazy_fail_fork",
		.cycles = CYCLE_LAZY,
		.restore.env = LIST(LAZY_TRICKLE, "CRYO_TEST_LAZY_FAIL_AFTER=100"),
		.expect = EXPECT_KILLED_WHEN_SERVING_FAILS,
	},
	{
		.name = "prog_lazy_fork",
		.cycles = CYCLE_LAZY,
		.restore.env = LIST(LAZY_TRICKLE),
		.expect = EXPECT_DUMP_REFUSED_WHILE_LAZY,
	},
	{ .name = "prog_leases", .cycles = CYCLES_ALL },
	{ .name = "prog_locks", .cycles = CYCLES_ALL },
	/* Turns ksmd on while it runs, if it was off, and off again. */
	{ .name = "prog_ksm", .cycles = CYCLES_ALL },
	{ .name = "prog_map_runs", .cycles = CYCLES_ALL },
	{ .name = "prog_mem_advice", .cycles = CYCLES_ALL },
	{ .name = "prog_membarrier", .cycles = CYCLES_ALL },
	{ .name = "prog_memfd_past_end", .cycles = CYCLES_ALL },
	{ .name = "prog_memory", .cycles = CYCLES_ALL },
	{ .name = "prog_net_devices", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET },
	/* Its peer holds a tap of the same name in another namespace. */
	{ .name = "prog_net_tun_fd", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET,
	  .peer = "peer_tun_namesake" },
	{
		/* Not left running: the peer ends with the original's verdict. */
		.name = "prog_net_macvlan",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.namespaces = CLONE_NEWNET,
		.restore.options = LIST("--external", "macvlan[cmv0]:cryo-mvp0"),
		.peer = "peer_macvlan",
	},
	{ .name = "prog_net_ns", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET },
	{ .name = "prog_net_routes", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET },
	{ .name = "prog_net_filter", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET },
	/* Rules of iptables-nft and iptables-legacy. */
	{ .name = "prog_net_iptables", .needs = "iptables-legacy-save", .cycles = CYCLES_ALL,
	  .namespaces = CLONE_NEWNET },
	{ .name = "prog_net_tcp", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET,
	  .dump.options = LIST("--tcp-established") },
	/* The network lock by iptables, in the tree's own namespace. */
	{ .name = "prog_net_tcp_iptables", .binary = "prog_net_tcp", .needs = "iptables-restore",
	  .args = LIST("iptables"), .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET,
	  .dump.options = LIST("--tcp-established", "--network-lock", "iptables"),
	  .restore.options = LIST("--network-lock", "iptables") },
	{
		/* Not left running: the peer ends with the original's verdict. */
		.name = "prog_net_veth",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.namespaces = CLONE_NEWNET,
		.restore.options = LIST("--external", "veth[cvi]:cryo-vo0"),
		.peer = "peer_veth",
	},
	{ .name = "prog_netlink", .cycles = CYCLES_ALL },
	{ .name = "prog_packet", .cycles = CYCLES_ALL },
	{ .name = "prog_packet_ring", .cycles = CYCLES_ALL },
	{ .name = "prog_pidfd", .cycles = CYCLES_ALL },
	{ .name = "prog_pidfd_identity", .cycles = CYCLES_ALL },
	{ .name = "prog_pidfd_shared", .cycles = CYCLES_ALL },
	{ .name = "prog_pty", .cycles = CYCLES_ALL },
	{ .name = "prog_pty_lines", .cycles = CYCLES_ALL },
	{ .name = "prog_pty_session", .cycles = CYCLES_ALL },
	{ .name = "prog_raw_sockets", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET },
	{ .name = "prog_regs", .cycles = CYCLES_ALL },
	{ .name = "prog_sched", .cycles = CYCLES_ALL },
	{ .name = "prog_root_cwd", .cycles = CYCLES_ALL },
	{ .name = "prog_removed_dir_shared", .cycles = CYCLES_ALL },
	{ .name = "prog_seccomp", .cycles = CYCLES_ALL },
	{ .name = "prog_seccomp_no_nnp", .cycles = CYCLES_ALL },
	{ .name = "prog_shmem", .cycles = CYCLES_ALL },
	{ .name = "prog_signals", .cycles = CYCLES_ALL },
	{ .name = "prog_sock_filter", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNET,
	  .dump.options = LIST("--tcp-established") },
	{ .name = "prog_sleep", .cycles = CYCLES_ALL },
	{ .name = "prog_sparse", .cycles = CYCLES_ALL },
	{ .name = "prog_stopped", .cycles = CYCLES_ALL },
	{ .name = "prog_stopped_threads", .cycles = CYCLES_ALL },
	{ .name = "prog_stopped_vdso", .cycles = CYCLES_ALL },
	{
		/* The vDSO seed case, every restore as on another kernel. */
		.name = "prog_stopped_vdso_proxy",
		.cycles = CYCLES_ALL,
		.restore.env = LIST("CRYO_TEST_VDSO_PROXY=1"),
		.expect = EXPECT_VDSO_MOVED,
	},
	{
		.name = "prog_tcp_conn",
		.cycles = CYCLES_ALL,
		.dump.options = LIST("--tcp-established"),
	},
	{
		/* The network lock by iptables: local connections. */
		.name = "prog_tcp_conn_iptables",
		.binary = "prog_tcp_conn",
		.needs = "iptables-restore",
		.cycles = CYCLES_ALL,
		.dump.options = LIST("--tcp-established", "--network-lock", "iptables"),
		.restore.options = LIST("--network-lock", "iptables"),
	},
	{
		/* Not left running: the original's connections stay open. */
		.name = "prog_tcp_close",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--tcp-close"),
		.restore.options = LIST("--tcp-close"),
	},
	{
		/* The original keeps the connection the dump leaves out. */
		.name = "prog_tcp_accept_skip",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--tcp-established", "--skip-in-flight"),
	},
	{ .name = "prog_tcp_bound", .cycles = CYCLES_ALL },
	{ .name = "prog_tcp_listen", .cycles = CYCLES_ALL },
	/* A pid namespace's init. */
	{ .name = "prog_pidns_init", .cycles = CYCLES_ALL,
	  .namespaces = CLONE_NEWPID },
	/* Its own mounts, made again in a new mount namespace. */
	{ .name = "prog_mntns", .cycles = CYCLES_ALL,
	  .namespaces = CLONE_NEWPID | CLONE_NEWNS },
	{ .name = "prog_mntns_only", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNS },
	/* Ptys of devpts instances of its own mounts. */
	{ .name = "prog_mntns_pty", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWNS },
	/* Started by test_clone, which makes a shared mount for it. */
	{ .name = "prog_mntns_slave", .namespaces = CLONE_NEWNS },
	/* criu's --skip-mnt, --enable-fs and --empty-ns: test_criu_ns_opts and
	 * test_neg_mnt_opts start them. */
	{ .name = "prog_ns_opts", .args = LIST("mounts"), .namespaces = CLONE_NEWNS },
	{ .name = "prog_ns_opts_hold_skipped", .binary = "prog_ns_opts",
	  .args = LIST("mounts", "hold-skipped"), .namespaces = CLONE_NEWNS },
	{ .name = "prog_ns_opts_below_skipped", .binary = "prog_ns_opts",
	  .args = LIST("mounts", "below-skipped"), .namespaces = CLONE_NEWNS },
	{ .name = "prog_ns_opts_thread_in_skipped", .binary = "prog_ns_opts",
	  .args = LIST("mounts", "thread-in-skipped"), .namespaces = CLONE_NEWNS },
	{ .name = "prog_ns_opts_bound_in_skipped", .binary = "prog_ns_opts",
	  .args = LIST("mounts", "bound-in-skipped"), .namespaces = CLONE_NEWNS },
	{ .name = "prog_ns_opts_net", .binary = "prog_ns_opts", .args = LIST("net"),
	  .namespaces = CLONE_NEWNET },
	{ .name = "prog_pidns_proc", .cycles = CYCLES_ALL,
	  .namespaces = CLONE_NEWPID | CLONE_NEWNS },
	{
		/* Not left running: the original's check deletes the drops that
		 * hold the states, so a copy restored after it moves on at once. */
		.name = "prog_tcp_states",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--tcp-established"),
	},
	{
		/* Not left running: the client cannot talk to two copies. */
		.name = "prog_tcp_peer",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--tcp-established"),
		.peer = "peer_tcp_client",
	},
	{
		/* The network lock by iptables, the peer outside the dump. */
		.name = "prog_tcp_peer_iptables",
		.binary = "prog_tcp_peer",
		.needs = "iptables-restore",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--tcp-established", "--network-lock", "iptables"),
		.restore.options = LIST("--network-lock", "iptables"),
		.peer = "peer_tcp_client",
	},
	{
		/* Two processes' connections, locked by the dump in one run. */
		.name = "prog_tcp_tree",
		.cycles = CYCLES_ALL,
		.dump.options = LIST("--tcp-established"),
	},
	{ .name = "prog_thread_creds", .cycles = CYCLES_ALL },
	{ .name = "prog_thread_fs", .cycles = CYCLES_ALL },
	{ .name = "prog_precopy_writes", .cycles = CYCLES_ALL, .expect = EXPECT_PRE_COPIED },
	/* Its pre-copy leaves no room: the frozen pass's pages move the rest. */
	{ .name = "prog_precopy_moved", .binary = "prog_precopy_writes",
	  .cycles = CYCLE_LEAVE_RUNNING, .dump.env = LIST("CRYO_TEST_PRECOPY_NO_ROOM=1"),
	  .expect = EXPECT_PRE_COPIED | EXPECT_PRE_COPY_MOVED },
	{ .name = "prog_threads", .cycles = CYCLES_ALL },
	/* The same with 20 MiB: vmspliced, all 65 threads' rseq pages but
	 * the parasite's thread's with the rest. */
	{ .name = "prog_threads_spliced", .binary = "prog_threads", .args = LIST("pages", "20"),
	  .cycles = CYCLE_ONCE | CYCLE_TWICE,
	  .expect = EXPECT_SPLICED_BUT_RSEQ | EXPECT_ONE_PAGE_COPIED },
	{ .name = "prog_timens", .cycles = CYCLES_ALL },
	{ .name = "prog_timens_userns", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWUSER },
	{ .name = "prog_tree", .cycles = CYCLES_ALL },
	{ .name = "prog_ttys", .cycles = CYCLES_ALL },
	{ .name = "prog_udp_kinds", .cycles = CYCLES_ALL },
	{ .name = "prog_udp_seed", .cycles = CYCLES_ALL },
	{ .name = "prog_udp_shared", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_accept", .cycles = CYCLES_ALL },
	{
		/* The original keeps the connections the dump drops. */
		.name = "prog_unix_accept_skip",
		.cycles = CYCLES_ALL & ~CYCLE_LEAVE_RUNNING,
		.dump.options = LIST("--skip-in-flight"),
	},
	{ .name = "prog_unix_creds", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_kinds", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_pairs", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_passcred", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_rights", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_rights_kinds", .cycles = CYCLES_ALL },
	{
		.name = "prog_unix_rights_tcp",
		.cycles = CYCLES_ALL,
		.dump.options = LIST("--tcp-established"),
	},
	{ .name = "prog_unix_rights_tree", .cycles = CYCLES_ALL },
	{ .name = "prog_unix_tree", .cycles = CYCLES_ALL },
	{ .name = "prog_userns", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWUSER },
	{ .name = "prog_userns_all", .cycles = CYCLES_ALL,
	  .namespaces = CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS |
			CLONE_NEWCGROUP },
	/* A whole container: its pid namespace is its user namespace's. Lazy
	 * restore is refused for it (test_neg_userns). */
	{ .name = "prog_container", .cycles = CYCLES_ALL & ~CYCLE_LAZY,
	  .namespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
			CLONE_NEWNS | CLONE_NEWCGROUP },
	{ .name = "prog_uts", .cycles = CYCLES_ALL, .namespaces = CLONE_NEWUTS },
	{ .name = "prog_vdso", .cycles = CYCLES_ALL },
	{
		/* Every restore is as on a kernel whose vDSO differs. */
		.name = "prog_vdso_proxy",
		.cycles = CYCLES_ALL,
		.restore.env = LIST("CRYO_TEST_VDSO_PROXY=1"),
		.expect = EXPECT_VDSO_MOVED,
	},
};

const size_t nr_test_programs = sizeof(test_programs) / sizeof(test_programs[0]);

const struct test_program *test_program(const char *name)
{
	for (size_t i = 0; i < nr_test_programs; i++)
		if (!strcmp(test_programs[i].name, name))
			return &test_programs[i];
	return NULL;
}

/* The workloads of `make bench`: each row's name, its program in the bench
 * build directory with its arguments, and whether it is mostly pages (run
 * again with images in memory and lazily). Running them is runner.c's. */
#include <string.h>

#include "workloads.h"

const struct workload workloads[] = {
	{ "anon 256 MiB", "wl_anon", { "256" }, true },
	{ "anon 1 GiB", "wl_anon", { "1024" }, true },
	{ "anon 4 GiB", "wl_anon", { "4096" }, true },
	{ "anon 1 GiB, 1% of pages written a second", "wl_anon", { "1024", "1" }, true },
	{ "1 TiB PROT_NONE, 4 windows, 16 MiB", "wl_sparse", { "windows" }, false },
	{ "1 TiB NORESERVE rw, 16 MiB scattered", "wl_sparse", { "scattered" }, false },
	{ "10,000 mappings", "wl_maps", { "10000" }, false },
	{ "50,000 mappings", "wl_maps", { "50000" }, false },
	{ "tree of 100 processes, 1 MiB each", "wl_tree", { "100" }, false },
	{ "tree of 500 processes, 1 MiB each", "wl_tree", { "500" }, false },
	{ "64 threads, 1 MiB each", "wl_threads", { "64" }, false },
	{ "10,000 fds, 2,500 pipe ends", "wl_fds", { "10000", "2500" }, false },
	{ "10,000 unix socketpairs, data queued, 10 processes (5,000 shared by 2)", "wl_unix_pairs",
	  { "10000", "10" }, false },
	{ "1,000 TCP connections, 64 KiB unread each end", "wl_tcp", { "1000", "64" }, false },
	{ "container of 50 processes (user, net, mount, UTS, IPC namespaces), 10 sockets each",
	  "wl_container", { "50", "10" }, false },
};
const size_t nr_workloads = sizeof(workloads) / sizeof(workloads[0]);

const char *dump_option(const struct workload *w)
{
	return !strcmp(w->prog, "wl_tcp") ? "--tcp-established" : NULL;
}

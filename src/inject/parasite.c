/* Loading, starting and curing a parasite: an anonymous area is mapped in
 * the task by remote mmap, the blob copied in, a unix stream channel
 * connected by remote socket and connect, and the worker thread started at
 * the blob's entry on the area's own stack. Curing reverses every step. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/procfs.h"
#include "common/procmap.h"
#include "inject/internal.h"
#include "inject/parasite-abi.h"
#include "ns/enter.h"

#define AREA_PAGE 4096UL
#define ARGS_AREA_SIZE AREA_PAGE
#define STACK_SIZE (64UL * 1024)
/* Room for the saved state's signal frame (frame and xstate). */
#define FRAME_AREA_SIZE (INJ_XSTATE_MAX + 2 * AREA_PAGE)
/* In the args page: the socket address the remote connect() reads, and the
 * remote-syscall gadget. */
#define ARGS_ADDR_OFFSET 64
#define GADGET_OFFSET 512

/* syscall; mov $15 (rt_sigreturn), %eax; syscall */
static const unsigned char syscall_gadget[] = { 0x0f, 0x05, 0xb8, 0x0f, 0x00, 0x00, 0x00,
						0x0f, 0x05 };

#define X86_EFLAGS_TF 0x100UL
#define X86_EFLAGS_DF 0x400UL

static unsigned long page_align(unsigned long n)
{
	return (n + AREA_PAGE - 1) & ~(AREA_PAGE - 1);
}

static int write_remote(pid_t pid, unsigned long addr, const void *data, size_t len)
{
	struct iovec local = { (void *)data, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* A remote syscall at the area's gadget when it exists, else through the
 * bootstrap trampoline; a negative errno result becomes the return value. */
static int call_remote(struct inj_task *task, long *result, long nr, unsigned long a1,
		       unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
		       unsigned long a6)
{
	const unsigned long args[6] = { a1, a2, a3, a4, a5, a6 };
	bool at_gadget = task->safe_ip != 0;
	int ret = at_gadget ? remote_syscall(task, result, nr, args) :
			      bootstrap_syscall(task, result, nr, args);

	/* Once the thread waits at the gadget, the stack frame is not needed,
	 * unless it is the way back that unmaps the area. */
	if (at_gadget && !task->unmap_frame)
		bootstrap_put_back_stack(task);
	if (!ret && *result < 0 && *result > -4096)
		return (int)*result;
	return ret;
}

/* Abstract unix names live in a network namespace: the listening socket is
 * made in the task's, so that its connect() finds it. */
static int listen_in_task_netns(pid_t pid, struct sockaddr_un *addr, socklen_t *addr_len)
{
	static unsigned int counter;
	uint64_t nonce = 0;
	int sock, back, ret, left;

	/* Pids alone may repeat: two cryos dumping the inits of two pid
	 * namespaces that share a network namespace both see pid 1, and
	 * themselves by small pids of their own namespaces. */
	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		nonce = (uint64_t)time(NULL);

	ret = ns_enter(pid, "net", CLONE_NEWNET, &back);
	if (ret)
		return ret;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* sun_path[0] stays '\0': an abstract name, nothing on any filesystem. */
	*addr_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		    snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
			     "cryo-inject-%d-%d-%u-%016" PRIx64, getpid(), pid, counter++, nonce);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)addr, *addr_len) || listen(sock, 1))
		ret = -errno;
	left = ns_leave(back, CLONE_NEWNET);
	if (left && !ret)
		ret = left;
	if (ret) {
		if (sock >= 0)
			close(sock);
		return ret;
	}
	return sock;
}

/* Accepts the task's connection and makes sure no other process raced in. */
static int accept_task(int listen_sock, pid_t pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int sock = accept4(listen_sock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (sock < 0)
		return -errno;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != pid) {
		close(sock);
		return -EACCES;
	}
	return sock;
}

static int connect_channel(struct inj_parasite *p, unsigned long args_addr)
{
	struct inj_task *task = p->task;
	struct sockaddr_un addr;
	socklen_t addr_len = 0;
	_cleanup_close_ int listen_sock = -1;
	long result;
	int ret;

	listen_sock = listen_in_task_netns(task->pid, &addr, &addr_len);
	if (listen_sock < 0)
		return listen_sock;
	ret = write_remote(task->pid, args_addr + ARGS_ADDR_OFFSET, &addr, addr_len);
	if (ret)
		return ret;
	ret = call_remote(task, &result, SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0,
			  0, 0);
	if (ret)
		return ret;
	p->remote_fd = (int)result;
	ret = call_remote(task, &result, SYS_connect, p->remote_fd, args_addr + ARGS_ADDR_OFFSET,
			  addr_len, 0, 0, 0);
	if (ret)
		return ret;
	p->sock = accept_task(listen_sock, task->pid);
	return p->sock < 0 ? p->sock : 0;
}

/* Writes the gadget into the area; from then on, remote syscalls and the
 * parasite can always fall back to the task. Their way back is the stack's
 * call frame that unmaps the area when bootstrap.c armed it, else a frame
 * of the saved state written into the area (which then stays behind). */
static int arm_fallback(struct inj_parasite *p, unsigned long args_addr,
			unsigned long frame_addr)
{
	struct inj_task *task = p->task;
	size_t size = sigframe_size(task->orig_regs);
	void *frame = NULL;
	int ret = 0;

	if (!task->unmap_frame) {
		frame = aligned_alloc(64, (size + 63) & ~63UL);
		ret = frame ? sigframe_build(task->orig_regs, task->orig_sigmask, frame_addr, frame,
					     size) :
			      -ENOMEM;
		if (!ret)
			ret = write_remote(task->pid, frame_addr, frame, size);
	}
	if (!ret)
		ret = write_remote(task->pid, args_addr + GADGET_OFFSET, syscall_gadget,
				   sizeof(syscall_gadget));
	free(frame);
	if (ret)
		return ret;
	task->safe_ip = args_addr + GADGET_OFFSET;
	task->safe_sp = (task->unmap_frame ? task->unmap_frame : frame_addr) + sizeof(uint64_t);
	return 0;
}

/* Where the area goes, chosen while no thread of the task runs, so that
 * the way back can unmap it before it exists: the highest gap, but the one
 * the stack grows into, with a free page either side; 0 if none. */
#define AREA_LOWEST 0x10000UL
#define USER_TOP 0x7ffffffff000UL

/* From the maps text, where the kernel has no PROCMAP_QUERY. */
static unsigned long free_range_of_text(pid_t pid, size_t size)
{
	_cleanup_free_ char *line = NULL;
	unsigned long prev_end = AREA_LOWEST, found = 0;
	size_t cap = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		struct proc_maps_line m;

		if (!proc_maps_line_parse(line, &m) || m.start >= USER_TOP)
			break;
		if (m.start > prev_end && m.start - prev_end >= size + 2 * AREA_PAGE &&
		    strcmp(m.name, "[stack]"))
			found = m.start - AREA_PAGE - size;
		prev_end = m.end;
	}
	fclose(f);
	return found;
}

/* The same gap found from the top down with PROCMAP_QUERY (procmap.h), so
 * that a task of 50,000 mappings below its libraries costs a few dozen
 * queries rather than its 2.4 MB of maps text. A mapping's gap is free
 * when the first mapping ending above (its start - @need) is itself;
 * otherwise that one is the next with a gap that may be large enough (the
 * ones between it and this one have less room below them). */
static unsigned long free_range(pid_t pid, size_t size)
{
	const uint64_t need = size + 2 * AREA_PAGE;
	_cleanup_close_ int fd = proc_open(pid, "maps");
	char name[16], below_name[16];
	struct proc_maps_line v, below;
	int ret = fd < 0 ? fd : proc_mapping_below(fd, USER_TOP, need, &v, name, sizeof(name));

	while (!ret && v.start >= AREA_LOWEST + need) {
		ret = proc_mapping_from(fd, v.start - need, &below, below_name,
					sizeof(below_name));
		if (ret)
			break;
		if (below.start < v.start) {
			v = below;
			v.name = strcpy(name, below_name);
			continue;
		}
		if (strcmp(v.name, "[stack]"))
			return v.start - AREA_PAGE - size;
		ret = proc_mapping_below(fd, v.start, need, &v, name, sizeof(name));
	}
	return ret == -EOPNOTSUPP ? free_range_of_text(pid, size) : 0;
}

/* Maps the area, at a place the way back unmaps if it can be armed. */
static int map_area(struct inj_parasite *p)
{
	struct inj_task *task = p->task;
	unsigned long want = free_range(task->pid, p->size);
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	long result;
	int ret;

	if (want && bootstrap_arm_unmap(task, want, p->size) == 0)
		flags |= MAP_FIXED_NOREPLACE;
	else
		want = 0;
	inj_debug("pid %d: the parasite's area goes %s%s", task->pid,
		  want ? "at a place the way back unmaps" : "where the kernel puts it",
		  want ? "" : " (a dumper killed meanwhile leaves it)");
	ret = call_remote(task, &result, SYS_mmap, want, p->size,
			  PROT_READ | PROT_WRITE | PROT_EXEC, flags, (unsigned long)-1, 0);
	if (ret)
		return ret;
	p->base = (unsigned long)result;
	/* A kernel that takes the flag for a hint may have put it elsewhere. */
	if (want && p->base != want)
		ret = bootstrap_arm_unmap(task, p->base, p->size);
	return ret;
}

static int start_worker(struct inj_parasite *p, const struct inj_blob *blob,
			unsigned long args_addr)
{
	struct inj_task *task = p->task;
	struct inj_parasite_args args = {
		.channel_fd = p->remote_fd,
		.sigreturn_sp = task->safe_sp,
	};
	struct user_regs_struct regs = task->orig_regs->gp;
	struct iovec iov = { &regs, sizeof(regs) };
	int ret;

	ret = write_remote(task->pid, args_addr, &args, sizeof(args));
	if (ret)
		return ret;
	regs.rip = p->base + blob->entry;
	/* As if just called: the return-address slot below a 16-byte aligned top. */
	regs.rsp = p->base + p->size - 8;
	regs.rdi = args_addr;
	regs.orig_rax = -1;
	/* The C calling convention wants DF clear; a trap flag would stop us. */
	regs.eflags &= ~(X86_EFLAGS_DF | X86_EFLAGS_TF);
	if (ptrace(PTRACE_SETREGSET, task->worker, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	ret = block_worker_signals(task);
	if (ret)
		return ret;
	if (ptrace(PTRACE_CONT, task->worker, NULL, NULL) < 0)
		return -errno;
	return 0;
}

/* Undoes in the task what a start or a run left there, while the worker is
 * in a ptrace stop: the parasite's fd, then its area. */
static int unload(struct inj_parasite *p)
{
	long result;
	int ret = 0, err;

	if (p->remote_fd >= 0) {
		ret = call_remote(p->task, &result, SYS_close, p->remote_fd, 0, 0, 0, 0, 0);
		p->remote_fd = -1;
	}
	/* The gadget goes with the area: unmapping runs where the task's own code is. */
	p->task->safe_ip = p->task->safe_sp = 0;
	if (p->base) {
		err = call_remote(p->task, &result, SYS_munmap, p->base, p->size, 0, 0, 0, 0);
		if (err && !ret)
			ret = err;
		p->base = 0;
		/* Later calls return through the saved state's frame alone. */
		if (!err)
			p->task->unmap_frame = 0;
	}
	return ret;
}

static void free_parasite(struct inj_parasite *p)
{
	if (p->sock >= 0)
		close(p->sock);
	p->task->parasite = NULL;
	free(p);
}

int inj_parasite_start(struct inj_task *task, const struct inj_blob *blob,
		       struct inj_parasite **out)
{
	struct inj_parasite *p;
	unsigned long args_addr;
	int ret;

	if (task->parasite)
		return -EBUSY;
	if (!blob->size || blob->size > blob->mem_size || blob->entry >= blob->size) {
		inj_err("pid %d: malformed parasite blob (size %zu, mapped size %zu, entry %#zx)",
			task->pid, blob->size, blob->mem_size, blob->entry);
		return -EINVAL;
	}
	ret = prepare_worker(task);
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->task = task;
	p->sock = -1;
	p->remote_fd = -1;
	p->size = page_align(blob->mem_size) + ARGS_AREA_SIZE + FRAME_AREA_SIZE + STACK_SIZE;

	ret = map_area(p);
	if (ret)
		goto err;
	args_addr = p->base + page_align(blob->mem_size);
	ret = write_remote(task->pid, p->base, blob->bytes, blob->size);
	if (!ret)
		ret = arm_fallback(p, args_addr, args_addr + ARGS_AREA_SIZE);
	if (ret)
		goto err;
	ret = connect_channel(p, args_addr);
	if (ret)
		goto err;
	ret = start_worker(p, blob, args_addr);
	if (ret)
		goto err;
	task->parasite = p;
	inj_debug("pid %d: parasite running in thread %d at %#lx (%zu bytes)", task->pid,
		  task->worker, p->base, p->size);
	*out = p;
	return 0;
err:
	inj_err("pid %d: cannot start the parasite: %s", task->pid, strerror(-ret));
	task->parasite = p;
	unload(p);
	free_parasite(p);
	return ret;
}

int inj_parasite_cure(struct inj_parasite *p)
{
	struct inj_task *task = p->task;
	int ret = 0, err;

	/* The parasite is stopped in its read after answering FINI, or wherever
	 * it is if it cannot answer; its end of the channel is closed from here. */
	if (!p->broken && !p->worker_stopped && channel_finish(p))
		p->broken = true;
	if (!p->worker_stopped) {
		ret = park_worker(task, true);
		if (ret)
			goto out;
	}
	ret = unload(p);
	err = restore_worker(task);
	if (err && !ret)
		ret = err;
out:
	if (ret)
		inj_err("pid %d: cannot cure the parasite: %s", task->pid, strerror(-ret));
	free_parasite(p);
	return ret;
}

pid_t inj_parasite_thread(const struct inj_parasite *p)
{
	return p->task->worker;
}

unsigned long inj_parasite_base(const struct inj_parasite *p)
{
	return p->base;
}

size_t inj_parasite_size(const struct inj_parasite *p)
{
	return p->size;
}

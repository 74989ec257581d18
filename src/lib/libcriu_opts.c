/* libcriu's option setters, each in its local form (a caller's criu_opts)
 * and its global one: they only fill the criu_opts message of the request;
 * whether cryo can honour an option is for `cryo swrk` to say, by name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"

__attribute__((visibility("hidden"))) criu_opts *libcryo_global_opts;

int criu_local_init_opts(criu_opts **out)
{
	criu_opts *opts = calloc(1, sizeof(*opts));

	if (!opts)
		return -ENOMEM;
	opts->rpc = malloc(sizeof(*opts->rpc));
	opts->service_binary = strdup(LIBCRYO_DEFAULT_BINARY);
	if (!opts->rpc || !opts->service_binary) {
		free(opts->rpc);
		free(opts->service_binary);
		free(opts);
		return -ENOMEM;
	}
	criu_opts__init(opts->rpc);
	opts->comm = CRIU_COMM_BIN;
	opts->service_fd = -1;
	*out = opts;
	return 0;
}

void criu_local_free_opts(criu_opts *opts)
{
	if (!opts)
		return;
	/* Every field was malloc'd, as protobuf-c's unpacking would have. */
	protobuf_c_message_free_unpacked(&opts->rpc->base, NULL);
	free(opts->service_address);
	free(opts->service_binary);
	free(opts);
}

int criu_init_opts(void)
{
	criu_local_free_opts(libcryo_global_opts);
	libcryo_global_opts = NULL;
	return criu_local_init_opts(&libcryo_global_opts) ? -1 : 0;
}

void criu_free_opts(void)
{
	criu_local_free_opts(libcryo_global_opts);
	libcryo_global_opts = NULL;
}

static int set_string(char **field, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Appends @value to a repeated field (@items, @n), as its own copy. */
static int add_item(void ***items, size_t *n, void *value)
{
	void **grown;

	if (!value)
		return -ENOMEM;
	grown = realloc(*items, (*n + 1) * sizeof(**items));
	if (!grown) {
		free(value);
		return -ENOMEM;
	}
	grown[(*n)++] = value;
	*items = grown;
	return 0;
}

#define ADD_ITEM(opts, field, value) \
	add_item((void ***)&(opts)->rpc->field, &(opts)->rpc->n_##field, (value))

/* ---- the service ---------------------------------------------------------- */
int criu_local_set_service_address(criu_opts *opts, const char *path)
{
	opts->comm = CRIU_COMM_SK;
	return set_string(&opts->service_address, path ? path : "criu_service.socket");
}

void criu_local_set_service_fd(criu_opts *opts, int fd)
{
	opts->comm = CRIU_COMM_FD;
	opts->service_fd = fd;
}

int criu_local_set_service_binary(criu_opts *opts, const char *path)
{
	opts->comm = CRIU_COMM_BIN;
	return set_string(&opts->service_binary, path ? path : LIBCRYO_DEFAULT_BINARY);
}

int criu_set_service_address(const char *path)
{
	return criu_local_set_service_address(libcryo_global_opts, path);
}

void criu_set_service_fd(int fd)
{
	criu_local_set_service_fd(libcryo_global_opts, fd);
}

int criu_set_service_binary(const char *path)
{
	return criu_local_set_service_binary(libcryo_global_opts, path);
}

/* ---- scalar options, local and global ------------------------------------- */
#define SCALAR_OPT(name, field, type)                                       \
	void criu_local_set_##name(criu_opts *opts, type value)             \
	{                                                                   \
		opts->rpc->has_##field = true;                              \
		opts->rpc->field = value;                                   \
	}                                                                   \
	void criu_set_##name(type value)                                    \
	{                                                                   \
		criu_local_set_##name(libcryo_global_opts, value);          \
	}

SCALAR_OPT(pid, pid, int)
SCALAR_OPT(leave_running, leave_running, bool)
SCALAR_OPT(ext_unix_sk, ext_unix_sk, bool)
SCALAR_OPT(tcp_established, tcp_established, bool)
SCALAR_OPT(tcp_skip_in_flight, tcp_skip_in_flight, bool)
SCALAR_OPT(tcp_close, tcp_close, bool)
SCALAR_OPT(weak_sysctls, weak_sysctls, bool)
SCALAR_OPT(evasive_devices, evasive_devices, bool)
SCALAR_OPT(shell_job, shell_job, bool)
SCALAR_OPT(skip_file_rwx_check, skip_file_rwx_check, bool)
SCALAR_OPT(unprivileged, unprivileged, bool)
SCALAR_OPT(orphan_pts_master, orphan_pts_master, bool)
SCALAR_OPT(file_locks, file_locks, bool)
SCALAR_OPT(track_mem, track_mem, bool)
SCALAR_OPT(auto_dedup, auto_dedup, bool)
SCALAR_OPT(force_irmap, force_irmap, bool)
SCALAR_OPT(link_remap, link_remap, bool)
SCALAR_OPT(log_level, log_level, int)
SCALAR_OPT(cpu_cap, cpu_cap, unsigned int)
SCALAR_OPT(manage_cgroups, manage_cgroups, bool)
SCALAR_OPT(timeout, timeout, unsigned int)
SCALAR_OPT(auto_ext_mnt, auto_ext_mnt, bool)
SCALAR_OPT(ext_sharing, ext_sharing, bool)
SCALAR_OPT(ext_masters, ext_masters, bool)
SCALAR_OPT(ghost_limit, ghost_limit, unsigned int)
SCALAR_OPT(pidfd_store_sk, pidfd_store_sk, int)
SCALAR_OPT(mntns_compat_mode, mntns_compat_mode, bool)
SCALAR_OPT(work_dir_fd, work_dir_fd, int)

/* images_dir_fd is required: it has no has_ flag. */
void criu_local_set_images_dir_fd(criu_opts *opts, int fd)
{
	opts->rpc->images_dir_fd = fd;
}

void criu_set_images_dir_fd(int fd)
{
	criu_local_set_images_dir_fd(libcryo_global_opts, fd);
}

void criu_local_set_empty_ns(criu_opts *opts, int namespaces)
{
	opts->rpc->has_empty_ns = true;
	opts->rpc->empty_ns = (uint32_t)namespaces;
}

void criu_set_empty_ns(int namespaces)
{
	criu_local_set_empty_ns(libcryo_global_opts, namespaces);
}

void criu_local_set_manage_cgroups_mode(criu_opts *opts, enum criu_cg_mode mode)
{
	opts->rpc->has_manage_cgroups_mode = true;
	opts->rpc->manage_cgroups_mode = (CriuCgMode)mode;
}

void criu_set_manage_cgroups_mode(enum criu_cg_mode mode)
{
	criu_local_set_manage_cgroups_mode(libcryo_global_opts, mode);
}

int criu_local_set_pre_dump_mode(criu_opts *opts, enum criu_pre_dump_mode mode)
{
	if (mode != CRIU_PRE_DUMP_SPLICE && mode != CRIU_PRE_DUMP_READ)
		return -1;
	opts->rpc->has_pre_dump_mode = true;
	opts->rpc->pre_dump_mode = (CriuPreDumpMode)mode;
	return 0;
}

int criu_set_pre_dump_mode(enum criu_pre_dump_mode mode)
{
	return criu_local_set_pre_dump_mode(libcryo_global_opts, mode);
}

int criu_local_set_network_lock(criu_opts *opts, enum criu_network_lock_method method)
{
	if (method < CRIU_NETWORK_LOCK_IPTABLES || method > CRIU_NETWORK_LOCK_SKIP)
		return -1;
	opts->rpc->has_network_lock = true;
	opts->rpc->network_lock = (CriuNetworkLockMethod)method;
	return 0;
}

int criu_set_network_lock(enum criu_network_lock_method method)
{
	return criu_local_set_network_lock(libcryo_global_opts, method);
}

/* ---- string options --------------------------------------------------------- */
#define STRING_OPT(local, global, field)                                    \
	int local(criu_opts *opts, const char *value)                       \
	{                                                                   \
		return set_string(&opts->rpc->field, value) ? -ENOMEM : 0;  \
	}                                                                   \
	int global(const char *value)                                       \
	{                                                                   \
		return local(libcryo_global_opts, value);                   \
	}

STRING_OPT(criu_local_set_parent_images, criu_set_parent_images, parent_img)
STRING_OPT(criu_local_set_log_file, criu_set_log_file, log_file)
STRING_OPT(criu_local_set_root, criu_set_root, root)
STRING_OPT(criu_local_set_freeze_cgroup, criu_set_freeze_cgroup, freeze_cgroup)
STRING_OPT(criu_local_set_lsm_profile, criu_set_lsm_profile, lsm_profile)
STRING_OPT(criu_local_set_lsm_mount_context, criu_set_lsm_mount_context, lsm_mount_context)

int criu_local_add_cg_props(criu_opts *opts, const char *stream)
{
	return set_string(&opts->rpc->cgroup_props, stream);
}

int criu_local_add_cg_props_file(criu_opts *opts, const char *path)
{
	return set_string(&opts->rpc->cgroup_props_file, path);
}

int criu_local_add_cg_yard(criu_opts *opts, const char *path)
{
	return set_string(&opts->rpc->cgroup_yard, path);
}

/* ---- repeated options -------------------------------------------------------- */
#define STRING_LIST_OPT(local, global, field)                               \
	int local(criu_opts *opts, const char *value)                       \
	{                                                                   \
		return ADD_ITEM(opts, field, strdup(value));                \
	}                                                                   \
	int global(const char *value)                                       \
	{                                                                   \
		return local(libcryo_global_opts, value);                   \
	}

STRING_LIST_OPT(criu_local_add_enable_fs, criu_add_enable_fs, enable_fs)
STRING_LIST_OPT(criu_local_add_skip_mnt, criu_add_skip_mnt, skip_mnt)
STRING_LIST_OPT(criu_local_add_irmap_path, criu_add_irmap_path, irmap_scan_paths)
STRING_LIST_OPT(criu_local_add_external, criu_add_external, external)

int criu_local_add_cg_dump_controller(criu_opts *opts, const char *name)
{
	return ADD_ITEM(opts, cgroup_dump_controller, strdup(name));
}

int criu_local_set_exec_cmd(criu_opts *opts, int argc, char *argv[])
{
	for (int i = 0; i < argc; i++)
		if (ADD_ITEM(opts, exec_cmd, strdup(argv[i])))
			return -ENOMEM;
	return 0;
}

int criu_set_exec_cmd(int argc, char *argv[])
{
	return criu_local_set_exec_cmd(libcryo_global_opts, argc, argv);
}

int criu_local_add_unix_sk(criu_opts *opts, unsigned int inode)
{
	UnixSk *sk = malloc(sizeof(*sk));

	if (sk) {
		unix_sk__init(sk);
		sk->inode = inode;
	}
	return ADD_ITEM(opts, unix_sk_ino, sk);
}

int criu_add_unix_sk(unsigned int inode)
{
	return criu_local_add_unix_sk(libcryo_global_opts, inode);
}

/* A submessage of two strings, both copied; NULL when out of memory. */
#define PAIR(type, init, a_field, a, b_field, b)                            \
	({                                                                  \
		type *m = malloc(sizeof(*m));                               \
		if (m) {                                                    \
			init(m);                                            \
			m->a_field = (a) ? strdup(a) : NULL;                \
			m->b_field = (b) ? strdup(b) : NULL;                \
			if (((a) && !m->a_field) || ((b) && !m->b_field)) { \
				free(m->a_field);                           \
				free(m->b_field);                           \
				free(m);                                    \
				m = NULL;                                   \
			}                                                   \
		}                                                           \
		m;                                                          \
	})

int criu_local_add_ext_mount(criu_opts *opts, const char *key, const char *val)
{
	return ADD_ITEM(opts, ext_mnt, PAIR(ExtMountMap, ext_mount_map__init, key, key, val, val));
}

int criu_add_ext_mount(const char *key, const char *val)
{
	return criu_local_add_ext_mount(libcryo_global_opts, key, val);
}

int criu_local_add_veth_pair(criu_opts *opts, const char *in, const char *out)
{
	return ADD_ITEM(opts, veths, PAIR(CriuVethPair, criu_veth_pair__init, if_in, in, if_out,
					  out));
}

int criu_add_veth_pair(const char *in, const char *out)
{
	return criu_local_add_veth_pair(libcryo_global_opts, in, out);
}

int criu_local_add_cg_root(criu_opts *opts, const char *ctrl, const char *path)
{
	return ADD_ITEM(opts, cg_root, PAIR(CgroupRoot, cgroup_root__init, ctrl, ctrl, path, path));
}

int criu_add_cg_root(const char *ctrl, const char *path)
{
	return criu_local_add_cg_root(libcryo_global_opts, ctrl, path);
}

int criu_local_add_inherit_fd(criu_opts *opts, int fd, const char *key)
{
	InheritFd *m = malloc(sizeof(*m));

	if (m) {
		inherit_fd__init(m);
		m->fd = fd;
		m->key = strdup(key);
		if (!m->key) {
			free(m);
			m = NULL;
		}
	}
	return ADD_ITEM(opts, inherit_fd, m);
}

int criu_add_inherit_fd(int fd, const char *key)
{
	return criu_local_add_inherit_fd(libcryo_global_opts, fd, key);
}

int criu_local_join_ns_add(criu_opts *opts, const char *ns, const char *ns_file,
			   const char *extra_opt)
{
	JoinNamespace *m = PAIR(JoinNamespace, join_namespace__init, ns, ns, ns_file, ns_file);

	if (m && extra_opt && !(m->extra_opt = strdup(extra_opt))) {
		free(m->ns);
		free(m->ns_file);
		free(m);
		m = NULL;
	}
	return ADD_ITEM(opts, join_ns, m);
}

int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt)
{
	return criu_local_join_ns_add(libcryo_global_opts, ns, ns_file, extra_opt);
}

int criu_local_set_page_server_address_port(criu_opts *opts, const char *address, int port)
{
	CriuPageServerInfo *ps = opts->rpc->ps;

	if (!ps) {
		ps = malloc(sizeof(*ps));
		if (!ps)
			return -ENOMEM;
		criu_page_server_info__init(ps);
		opts->rpc->ps = ps;
	}
	if (set_string(&ps->address, address))
		return -ENOMEM;
	ps->has_port = true;
	ps->port = port;
	return 0;
}

int criu_set_page_server_address_port(const char *address, int port)
{
	return criu_local_set_page_server_address_port(libcryo_global_opts, address, port);
}

void criu_local_set_notify_cb(criu_opts *opts, int (*cb)(char *action, criu_notify_arg_t na))
{
	opts->notify = cb;
	opts->rpc->has_notify_scripts = true;
	opts->rpc->notify_scripts = cb != NULL;
}

void criu_set_notify_cb(int (*cb)(char *action, criu_notify_arg_t na))
{
	criu_local_set_notify_cb(libcryo_global_opts, cb);
}

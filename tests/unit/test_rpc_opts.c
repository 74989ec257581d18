/* The mapping of criu_opts to cryo's options (src/rpc/opts.c): every field
 * of the schema, set to a value that asks for something, either takes
 * effect or makes the request fail with a message naming it. Walks the
 * schema's descriptor, so a field added to rpc.proto is covered at once. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "net/net.h"
#include "ns/externals.h"
#include "rpc/rpc.h"
#include "task/cpuinfo.h"

/* Fields a request may set and cryo honours (or, for file_locks and the
 * socket permissions, that change nothing cryo does). */
static const char *const accepted[] = {
	"images_dir_fd", "images_dir", "pid", "leave_running", "shell_job", "log_level",
	"log_file", "work_dir_fd", "log_to_stderr", "notify_scripts", "rst_sibling",
	"tcp_established", "tcp_close", "ext_unix_sk", "file_locks", "pre_dump_mode", "network_lock",
	"ghost_limit", "tcp_skip_in_flight", "manage_cgroups", "manage_cgroups_mode", "link_remap",
	/* runc's: a terminal's slave without its master is saved from its
	 * slaves (orphan_pts_master); --evasive-devices; cgroups runc put cryo in, with cgroups
	 * not managed (as criu, they then change nothing). */
	"orphan_pts_master", "evasive_devices", "cg_root",
	/* Taken as --external veth[IN]:OUT. */
	"veths",
	/* criu's cgroup options: what a dump saves, and the yard. */
	"cgroup_props", "cgroup_props_file", "cgroup_dump_controller", "cgroup_yard",
	/* As --timeout and --leave-stopped. */
	"timeout", "leave_stopped",
	/* --enable-fs (skip_mnt is refused here: "x" is no mount point). */
	"enable_fs",
	/* As --cpu-cap. */
	"cpu_cap",
	/* Incremental dumps: --prev-images-dir, --track-mem. */
	"parent_img", "track_mem",
};

static bool is_accepted(const char *name)
{
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (!strcmp(accepted[i], name))
			return true;
	return false;
}

/* An enum value other than the field's default. */
static int other_enum_value(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCEnumDescriptor *e = f->descriptor;
	int def = f->default_value ? *(const int *)f->default_value : 0;

	for (unsigned int i = 0; i < e->n_values; i++)
		if (e->values[i].value != def)
			return e->values[i].value;
	return def;
}

/* A submessage with its required fields filled. */
static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	d->message_init(m);
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REQUIRED && f->type == PROTOBUF_C_TYPE_STRING)
			*(char **)((char *)m + f->offset) = strdup("x");
	}
	return m;
}

/* Sets @f of @o to a value that asks for something. */
static void set_asking(CriuOpts *o, const ProtobufCFieldDescriptor *f, int dir_fd)
{
	char *base = (char *)o;
	void *value = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		void **items = calloc(1, sizeof(void *));

		items[0] = f->type == PROTOBUF_C_TYPE_STRING ? (void *)strdup("x") :
							       (void *)new_message(f->descriptor);
		*(size_t *)(base + f->quantifier_offset) = 1;
		*(void ***)value = items;
		return;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = true;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)value = true;
		break;
	case PROTOBUF_C_TYPE_ENUM:
		*(int *)value = other_enum_value(f);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
		/* Fds name the directory; a number is 1 more than its default. */
		*(int32_t *)value = strstr(f->name, "fd") ? dir_fd :
				    (f->default_value ? *(const int32_t *)f->default_value : 0) + 1;
		break;
	case PROTOBUF_C_TYPE_STRING:
		/* config_file: one that exists (a missing one asks for nothing). */
		*(char **)value = strdup(!strcmp(f->name, "log_file") ? "test.log" :
					 !strcmp(f->name, "config_file") ? "/proc/self/status" : "x");
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)value = new_message(f->descriptor);
		break;
	default:
		break;
	}
}

static CriuOpts *base_opts(int dir_fd)
{
	CriuOpts *o = malloc(sizeof(*o));

	criu_opts__init(o);
	o->images_dir_fd = dir_fd;
	o->has_pid = true;
	o->pid = 1;
	return o;
}

/* runc's --pre-dump and --parent-path: parent_img, track_mem and
 * pre_dump_mode reach cryo's options, for PRE_DUMP and DUMP alike. */
TEST(incremental_dump_options_reach_cryos_options)
{
	struct rpc_conn conn = { .fd_owner = getpid() };
	struct rpc_action *a = malloc(sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CriuOpts *o = base_opts(dir_fd);
	char why[RPC_ERRMSG_MAX] = "";

	CHECK_GOTO(dir_fd >= 0 && a, out, "cannot open /tmp");
	o->parent_img = strdup("../pre");
	o->has_track_mem = o->track_mem = true;
	o->has_pre_dump_mode = true;
	o->pre_dump_mode = CRIU_PRE_DUMP_MODE__VM_READ;
	CHECK_GOTO(!rpc_map_opts(&conn, o, CRIU_REQ_TYPE__PRE_DUMP, a, why, sizeof(why)), out,
		   "refused: %s", why);
	CHECK_GOTO(a->opts.prev_images_dir && !strcmp(a->opts.prev_images_dir, "../pre") &&
		   a->opts.track_mem && a->opts.pre_dump_mode == PRE_DUMP_READ &&
		   a->opts.pid == 1, out, "parent %s track %d mode %d pid %d",
		   a->opts.prev_images_dir ? a->opts.prev_images_dir : "(none)",
		   a->opts.track_mem, a->opts.pre_dump_mode, a->opts.pid);
	ns_externals_free(&a->opts.externals);
out:
	protobuf_c_message_free_unpacked(&o->base, NULL);
	free(a);
	if (dir_fd >= 0)
		close(dir_fd);
}

TEST(every_option_has_its_effect_or_is_refused_by_name)
{
	const ProtobufCMessageDescriptor *d = &criu_opts__descriptor;
	struct rpc_conn conn = { .fd_owner = getpid() };
	struct rpc_action *a = malloc(sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned int refused = 0;

	CHECK(dir_fd >= 0 && a, "cannot open /tmp");
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		CriuOpts *o = base_opts(dir_fd);
		char why[RPC_ERRMSG_MAX] = "";
		int ret;

		set_asking(o, f, dir_fd);
		ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
		protobuf_c_message_free_unpacked(&o->base, NULL);
		ns_externals_free(&a->opts.externals);
		if (is_accepted(f->name)) {
			CHECK_GOTO(!ret, out, "option %s refused: %s", f->name, why);
			continue;
		}
		refused++;
		CHECK_GOTO(ret, out, "option %s was accepted, but cryo does nothing with it", f->name);
		CHECK_GOTO(strstr(why, f->name), out, "option %s refused without its name: %s",
			   f->name, why);
	}
	/* The walk covered criu's whole schema (about 80 options), and some of
	 * it asks for what cryo lacks. */
	CHECK_GOTO(d->n_fields > 70 && refused > 0 && refused < d->n_fields, out,
		   "%u of %u options refused", refused, d->n_fields);
out:
	close(dir_fd);
	free(a);
}

static ExtMountMap *ext_mnt(const char *key, const char *val)
{
	ExtMountMap *m = malloc(sizeof(*m));

	ext_mount_map__init(m);
	m->key = strdup(key);
	m->val = strdup(val);
	return m;
}

/* @o's one inherit_fd: @inh, with @key and @fd; @o frees it. */
static void give_inherit_fd(CriuOpts *o, InheritFd *inh, const char *key, int fd)
{
	inherit_fd__init(inh);
	inh->key = strdup(key);
	inh->fd = fd;
	o->n_inherit_fd = 1;
	o->inherit_fd = malloc(sizeof(*o->inherit_fd));
	o->inherit_fd[0] = inh;
}

/* What runc sets on every checkpoint and restore reaches cryo's options;
 * what cryo cannot take of them is refused by name. */
TEST(runcs_options_reach_cryos_options)
{
	struct rpc_conn conn = { .fd_owner = getpid() }, swrk = { .fd_owner = getpid(),
								  .swrk = true };
	struct rpc_action *a = malloc(sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CriuOpts *o = base_opts(dir_fd);
	InheritFd *inh = malloc(sizeof(*inh));
	char why[RPC_ERRMSG_MAX] = "";
	int ret;

	o->root = strdup("/srv/rootfs");
	o->freeze_cgroup = strdup("/sys/fs/cgroup/freezer/c1");
	o->has_empty_ns = true;
	o->empty_ns = CLONE_NEWNET;
	o->n_ext_mnt = 2;
	o->ext_mnt = malloc(2 * sizeof(*o->ext_mnt));
	o->ext_mnt[0] = ext_mnt("/etc/hosts", "/etc/hosts");
	o->ext_mnt[1] = ext_mnt("/proc/keys", "/dev/null");
	o->has_orphan_pts_master = o->orphan_pts_master = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret, out, "%s", why);
	CHECK_GOTO(!strcmp(a->opts.root, "/srv/rootfs") &&
		   !strcmp(a->opts.freeze_cgroup, "/sys/fs/cgroup/freezer/c1") &&
		   a->opts.empty_ns == CLONE_NEWNET && a->opts.nr_ext_mnt == 2 &&
		   !strcmp(a->opts.ext_mnt[1].key, "/proc/keys") &&
		   !strcmp(a->opts.ext_mnt[1].val, "/dev/null"), out, "runc's dump options");

	give_inherit_fd(o, inh, "pipe:[4242]", 1);
	ret = rpc_map_opts(&swrk, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.nr_inherit_fd == 1 && a->opts.inherit_fd[0].fd == 1 &&
		   !a->opts.freeze_cgroup, out, "runc's restore options: %s", why);
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "inherit_fd"), out, "inherit_fd through a service: %s",
		   why);
	free(inh->key);
	inh->key = strdup("tty[88:0]");
	ret = rpc_map_opts(&swrk, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "inherit_fd"), out, "inherit_fd of a tty: %s", why);

	o->empty_ns = CLONE_NEWNET | CLONE_NEWIPC;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "empty_ns"), out, "empty_ns of IPC: %s", why);
	o->empty_ns = CLONE_NEWNET;
	free(o->root);
	o->root = strdup("rootfs");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "root"), out, "a relative root: %s", why);
out:
	protobuf_c_message_free_unpacked(&o->base, NULL);
	close(dir_fd);
	free(a);
}

static CriuVethPair *veth_pair(const char *in, const char *out)
{
	CriuVethPair *v = malloc(sizeof(*v));

	criu_veth_pair__init(v);
	v->if_in = strdup(in);
	v->if_out = strdup(out);
	return v;
}

/* criu's veths are --veth-pair IN=OUT: the end inside whose peer is made
 * outside under that name; a network namespace outside is named by its
 * inode at dump and given by key at restore. */
TEST(veths_and_network_namespaces_name_what_is_outside)
{
	struct rpc_conn conn = { .fd_owner = getpid() };
	struct rpc_conn swrk = { .fd_owner = getpid(), .swrk = true };
	struct rpc_action *a = malloc(sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CriuOpts *o = base_opts(dir_fd);
	InheritFd *inh = malloc(sizeof(*inh));
	char why[RPC_ERRMSG_MAX] = "";
	int ret;

	o->n_veths = 2;
	o->veths = malloc(2 * sizeof(*o->veths));
	o->veths[0] = veth_pair("rpcv0", "rpch0");
	o->veths[1] = veth_pair("rpcv1", "rpch1");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret, out, "veths refused: %s", why);
	CHECK_GOTO(ns_external_veth(&a->opts.externals, "rpcv0") &&
		   !strcmp(ns_external_veth(&a->opts.externals, "rpcv0"), "rpch0") &&
		   ns_external_veth(&a->opts.externals, "rpcv1") &&
		   !strcmp(ns_external_veth(&a->opts.externals, "rpcv1"), "rpch1") &&
		   !ns_external_veth(&a->opts.externals, "rpcv2"), out,
		   "the outside names are not the ones given");
	ns_externals_free(&a->opts.externals);
	free(o->veths[1]->if_out);
	o->veths[1]->if_out = strdup("a-name-longer-than-ifnamsiz");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret == -EINVAL && strstr(why, "veths"), out, "a too long name: %d %s", ret,
		   why);
	ns_externals_free(&a->opts.externals);
	free(o->veths[1]->if_out);
	o->veths[1]->if_out = strdup("h:1");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "veths"), out, "a name with ':': %s", why);
	ns_externals_free(&a->opts.externals);
	for (size_t i = 0; i < o->n_veths; i++)
		protobuf_c_message_free_unpacked(&o->veths[i]->base, NULL);
	o->n_veths = 0;
	/* runc's for a network namespace given by path (podman's bridge): the
	 * namespace's inode and key at dump, the key and the namespace's fd at
	 * restore. Any other external is refused by name. */
	o->n_external = 1;
	o->external = malloc(sizeof(*o->external));
	o->external[0] = strdup("net[4026532999]:extRootNetNS");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret, out, "net[INODE]:KEY refused: %s", why);
	CHECK_GOTO(ns_external_net(&a->opts.externals, 4026532999ULL) &&
		   !strcmp(ns_external_net(&a->opts.externals, 4026532999ULL), "extRootNetNS") &&
		   !ns_external_net(&a->opts.externals, 4026532998ULL), out,
		   "the namespace's key is not the one given");
	ns_externals_free(&a->opts.externals);
	free(o->external[0]);
	o->external[0] = strdup("pid[4026532999]:extRootPidNS");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret == -EOPNOTSUPP && strstr(why, "external"), out, "a pid namespace: %s",
		   why);
	ns_externals_free(&a->opts.externals);
	free(o->external[0]);
	o->n_external = 0;
	give_inherit_fd(o, inh, "extRootNetNS", 1);
	ret = rpc_map_opts(&swrk, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.nr_inherit_fd == 1 &&
		   !strcmp(a->opts.inherit_fd[0].key, "extRootNetNS"), out,
		   "a namespace's key in inherit_fd: %s", why);
out:
	ns_externals_free(&a->opts.externals);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	close(dir_fd);
	free(a);
}

TEST(options_reach_cryos_options)
{
	struct rpc_conn conn = { .fd_owner = getpid() };
	struct rpc_action *a = malloc(sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CriuOpts *o = base_opts(dir_fd);
	char why[RPC_ERRMSG_MAX] = "";
	int ret;

	o->has_leave_running = o->leave_running = true;
	o->has_shell_job = o->shell_job = true;
	o->has_log_level = true;
	o->log_level = 9;
	o->log_file = strdup("dump.log");
	o->has_ghost_limit = true;
	o->ghost_limit = 4096;
	o->has_link_remap = o->link_remap = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret, out, "%s", why);
	CHECK_GOTO(a->opts.pid == 1 && a->opts.leave_running && a->opts.shell_job &&
		   !a->opts.restore_detached && a->opts.ghost_limit == 4096 && a->opts.link_remap,
		   out, "dump options");
	CHECK_GOTO(a->opts.verbosity == 4, out, "log level %d", a->opts.verbosity);
	CHECK_GOTO(a->opts.timeout_s == DUMP_TIMEOUT_S && !a->opts.leave_stopped &&
		   !a->opts.evasive_devices && a->opts.status_fd == -1, out,
		   "defaults: timeout %d stopped %d evasive %d status fd %d", a->opts.timeout_s,
		   a->opts.leave_stopped, a->opts.evasive_devices, a->opts.status_fd);
	/* criu's timeout, leave_stopped and evasive_devices. */
	o->has_timeout = true;
	o->timeout = 3;
	o->has_leave_stopped = o->leave_stopped = true;
	o->has_evasive_devices = o->evasive_devices = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.timeout_s == 3 && a->opts.leave_stopped &&
		   a->opts.evasive_devices, out, "timeout, leave_stopped, evasive_devices: %s", why);
	o->has_timeout = o->has_leave_stopped = o->leave_stopped = false;
	o->has_evasive_devices = o->evasive_devices = false;
	CHECK_GOTO(!strcmp(a->opts.images_dir, "/tmp") && !strcmp(a->opts.log_file,
		   "/tmp/dump.log"), out, "dirs %s %s", a->opts.images_dir, a->opts.log_file);

	/* criu's cgroup options, as --cgroup-props, --cgroup-props-file,
	 * --cgroup-dump-controller, --cgroup-yard. */
	o->cgroup_props = strdup("\"cpu\": - \"strategy\": \"merge\" - \"properties\": []");
	o->cgroup_props_file = strdup("/etc/props.yaml");
	o->cgroup_yard = strdup("/run/yard");
	o->n_cgroup_dump_controller = 1;
	o->cgroup_dump_controller = malloc(sizeof(char *));
	o->cgroup_dump_controller[0] = strdup("cpu,cpuacct");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.cgroup_props && strstr(a->opts.cgroup_props, "merge") &&
			   !strcmp(a->opts.cgroup_props_file, "/etc/props.yaml") &&
			   !strcmp(a->opts.cgroup_yard, "/run/yard") &&
			   a->opts.nr_cgroup_dump_controllers == 1 &&
			   !strcmp(a->opts.cgroup_dump_controllers[0], "cpu,cpuacct"),
		   out, "cgroup options: %s", why);

	CHECK_GOTO(!a->opts.skip_in_flight, out, "skip_in_flight without tcp_skip_in_flight");
	o->has_tcp_skip_in_flight = o->tcp_skip_in_flight = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.skip_in_flight, out, "tcp_skip_in_flight: %s", why);
	o->has_tcp_skip_in_flight = o->tcp_skip_in_flight = false;

	o->has_network_lock = true;
	o->network_lock = CRIU_NETWORK_LOCK_METHOD__SKIP;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.network_lock == NET_LOCK_SKIP, out, "network_lock SKIP: %s",
		   why);
	o->network_lock = CRIU_NETWORK_LOCK_METHOD__IPTABLES;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.network_lock == NET_LOCK_IPTABLES, out,
		   "network_lock IPTABLES: %s", why);
	o->network_lock = CRIU_NETWORK_LOCK_METHOD__NFTABLES;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.network_lock == NET_LOCK_NFTABLES, out,
		   "network_lock NFTABLES: %s", why);

	/* --skip-mnt and --enable-fs, read at dump as criu reads them. */
	o->n_skip_mnt = o->n_enable_fs = 1;
	o->skip_mnt = malloc(sizeof(*o->skip_mnt));
	o->skip_mnt[0] = strdup("/run/secrets");
	o->enable_fs = malloc(sizeof(*o->enable_fs));
	o->enable_fs[0] = strdup("nfs");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.nr_skip_mnt == 1 && !strcmp(a->opts.skip_mnt[0], "/run/secrets") &&
		   a->opts.nr_enable_fs == 1 && !strcmp(a->opts.enable_fs[0], "nfs"), out,
		   "skip_mnt and enable_fs: %s", why);
	o->skip_mnt[0][0] = 'x';
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "skip_mnt") && strstr(why, "not an absolute"), out,
		   "a relative skip_mnt: %s", why);
	o->skip_mnt[0][0] = '/';
	free(o->enable_fs[0]);
	o->enable_fs[0] = strdup("nfs,,ext4");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "enable_fs") && strstr(why, "not a list"), out,
		   "an enable_fs of an empty type: %s", why);
	free(o->enable_fs[0]);
	o->enable_fs[0] = strdup("nfs");

	o->has_rst_sibling = o->rst_sibling = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.restore_detached && a->opts.restore_sibling &&
		   !a->opts.leave_running, out, "restore options: %s", why);

	CHECK_GOTO(!a->opts.manage_cgroups, out, "a cgroup mode without manage_cgroups");
	o->has_manage_cgroups = o->manage_cgroups = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.manage_cgroups && !strcmp(a->opts.manage_cgroups, "soft"), out,
		   "manage_cgroups: %s", why);
	o->has_manage_cgroups_mode = true;
	o->manage_cgroups_mode = CRIU_CG_MODE__STRICT;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.manage_cgroups && !strcmp(a->opts.manage_cgroups, "strict"),
		   out, "manage_cgroups_mode STRICT: %s", why);
	o->manage_cgroups_mode = CRIU_CG_MODE__IGNORE;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.manage_cgroups && !strcmp(a->opts.manage_cgroups, "ignore"),
		   out, "manage_cgroups_mode IGNORE: %s", why);
	o->has_manage_cgroups_mode = o->has_manage_cgroups = o->manage_cgroups = false;

	/* cg_root as --cgroup-root: a controller's ("" the unified
	 * hierarchy's), or none for every hierarchy; a relative path refused. */
	o->n_cg_root = 3;
	o->cg_root = calloc(3, sizeof(*o->cg_root));
	for (size_t i = 0; i < 3; i++) {
		o->cg_root[i] = malloc(sizeof(*o->cg_root[i]));
		cgroup_root__init(o->cg_root[i]);
		o->cg_root[i]->ctrl = i < 2 ? strdup(i ? "" : "name=systemd") : NULL;
		o->cg_root[i]->path = strdup(i ? "/b" : "/a");
	}
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.nr_cgroup_roots == 3 &&
		   !strcmp(a->opts.cgroup_roots[0].controller, "name=systemd") &&
		   !a->opts.cgroup_roots[1].any && !a->opts.cgroup_roots[1].controller[0] &&
		   a->opts.cgroup_roots[2].any && !strcmp(a->opts.cgroup_roots[2].path, "/b"),
		   out, "cg_root: %s", why);
	o->cg_root[2]->path[0] = 'x';
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "cg_root") && strstr(why, "absolute"), out,
		   "a relative cg_root: %s", why);
	for (size_t i = 0; i < 3; i++)
		protobuf_c_message_free_unpacked(&o->cg_root[i]->base, NULL);
	free(o->cg_root);
	o->cg_root = NULL;
	o->n_cg_root = 0;

	free(o->log_file);
	o->log_file = strdup("../escape.log");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "log_file"), out, "a log_file with '/': %s", why);

	o->has_pid = false;
	free(o->log_file);
	o->log_file = NULL;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "pid"), out, "a dump without pid: %s", why);

	o->has_pid = true;
	o->images_dir_fd = 1000;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "images_dir_fd"), out, "a closed images_dir_fd: %s", why);
out:
	protobuf_c_message_free_unpacked(&o->base, NULL);
	close(dir_fd);
	free(a);
}


/* criu's status_fd (an fd of the client's, opened again through /proc)
 * and exec_cmd reach a restore as restore's --status-fd and --exec-cmd; a
 * dump refuses both, as the command line does, and exec_cmd with
 * rst_sibling (the root is then not cryo's child). cpu_cap is --cpu-cap. */
TEST(status_fd_exec_cmd_and_cpu_cap_reach_a_restore)
{
	struct rpc_conn conn = { .fd_owner = getpid() };
	struct rpc_action *a = calloc(1, sizeof(*a));
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CriuOpts *o = base_opts(dir_fd);
	char why[RPC_ERRMSG_MAX] = "", byte = 'x';
	int ret, pipefd[2] = { -1, -1 };

	CHECK_GOTO(a && !pipe2(pipefd, O_CLOEXEC), out, "pipe");
	o->has_status_fd = true;
	o->status_fd = pipefd[1];
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.status_fd >= 0 && a->opts.status_fd != pipefd[1], out,
		   "status_fd: %s", why);
	/* The same pipe, opened again. */
	CHECK_GOTO(write(a->opts.status_fd, "", 1) == 1 && read(pipefd[0], &byte, 1) == 1 &&
		   byte == '\0', out, "the status fd is not the client's pipe");
	close(a->opts.status_fd);
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "status_fd") && strstr(why, "dump has no server"), out,
		   "status_fd at dump: %s", why);
	o->status_fd = 999;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "status_fd") && strstr(why, "fd 999"), out,
		   "a closed status_fd: %s", why);
	CHECK_GOTO(a->opts.status_fd == -1, out, "status fd %d after a refusal", a->opts.status_fd);
	o->has_status_fd = false;

	o->n_exec_cmd = 2;
	o->exec_cmd = calloc(2, sizeof(char *));
	o->exec_cmd[0] = strdup("sleep");
	o->exec_cmd[1] = strdup("1");
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->exec_argv && !strcmp(a->exec_argv[0], "sleep") &&
		   !strcmp(a->exec_argv[1], "1") && !a->exec_argv[2], out, "exec_cmd: %s", why);
	free(a->exec_argv);
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__DUMP, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "exec_cmd") && strstr(why, "restore only"), out,
		   "exec_cmd at dump: %s", why);
	o->has_rst_sibling = o->rst_sibling = true;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(ret && strstr(why, "exec_cmd") && strstr(why, "rst_sibling"), out,
		   "exec_cmd with rst_sibling: %s", why);
	CHECK_GOTO(!a->exec_argv, out, "exec_cmd kept after a refusal");

	o->has_rst_sibling = o->rst_sibling = false;
	o->n_exec_cmd = 0;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && !a->opts.cpu_cap_given, out, "without cpu_cap: %s", why);
	o->has_cpu_cap = true;
	o->cpu_cap = CPU_CAP_FPU | CPU_CAP_INS | 8;
	ret = rpc_map_opts(&conn, o, CRIU_REQ_TYPE__RESTORE, a, why, sizeof(why));
	CHECK_GOTO(!ret && a->opts.cpu_cap_given && a->opts.cpu_cap == (CPU_CAP_FPU | CPU_CAP_INS),
		   out, "cpu_cap %#x: %s", a->opts.cpu_cap, why);
out:
	if (o->exec_cmd)
		o->n_exec_cmd = 2;
	protobuf_c_message_free_unpacked(&o->base, NULL);
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	close(dir_fd);
	free(a);
}

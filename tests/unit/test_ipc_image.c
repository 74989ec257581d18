/* The checks of a tree's IPC namespace's images on their own: ipc-ns.img
 * names only an IPC namespace's sysctls (restore writes each to
 * /proc/sys/NAME), once each, with numbers for values; semaphore sets and
 * queues have ascending ids and values the kernel takes; messages have a
 * positive type; POSIX queues have plain names, sorted, and limits and
 * priorities the kernel takes. And net-ns.img, whose sysctls restore
 * writes the same way, and its rtnetlink messages (addresses, routes,
 * rules), which restore sends to the kernel. */
#include <string.h>

#include "common/log.h"
#include "harness.h"
#include "images/image.h"
#include "images/proto/ipc_ns.pb-c.h"
#include "ipc/posix_mq.h"
#include "ipc/sysv_objects.h"
#include "images/proto/net_ns.pb-c.h"
#include "ns/ipc.h"
#include "ns/net.h"
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

typedef int (*check_fn)(const struct image *img, const struct image_dir *dir, int id);

/* @check over the @nr records @msgs, its error kept in @errors. */
static int run_check(check_fn check, ProtobufCMessage **msgs, size_t nr, char *errors,
		     size_t size)
{
	struct image_record records[4];
	struct image img = { .path = "x.img", .nr_records = nr, .records = records };
	int ret;

	for (size_t i = 0; i < nr; i++)
		records[i] = (struct image_record){ i * 16, msgs[i] };
	errors[0] = '\0';
	log_capture_errors(errors, size);
	ret = check(&img, NULL, 3);
	log_capture_errors(NULL, 0);
	return ret;
}

static int check_sysctls(const char *name1, const char *value1, const char *name2,
			 const char *value2, char *errors, size_t size)
{
	IpcSysctl a = IPC_SYSCTL__INIT, b = IPC_SYSCTL__INIT, *list[2] = { &a, &b };
	IpcNs ns = IPC_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	a.name = (char *)name1;
	a.value = (char *)value1;
	b.name = (char *)name2;
	b.value = (char *)value2;
	ns.sysctls = list;
	ns.n_sysctls = 2;
	return run_check(ipc_ns_image_check, msgs, 1, errors, size);
}

TEST(ipc_ns_image_takes_the_namespaces_sysctls_and_nothing_else)
{
	char errors[256];

	CHECK(!check_sysctls("kernel/sem", "250\t64000\t40\t128", "kernel/msg_next_id", "-1",
			     errors, sizeof(errors)), "refused: %s", errors);
	CHECK(check_sysctls("kernel/sem", "1", "kernel/core_pattern", "1", errors,
			    sizeof(errors)) < 0, "took kernel/core_pattern");
	CHECK(strstr(errors, "not an IPC namespace's sysctl"), "said: %s", errors);
	CHECK(check_sysctls("kernel/../kernel/msgmax", "1", "kernel/sem", "1", errors,
			    sizeof(errors)) < 0, "took a path with ..");
	CHECK(check_sysctls("kernel/msgmax", "1", "kernel/msgmax", "2", errors,
			    sizeof(errors)) < 0, "took a sysctl twice");
	CHECK(strstr(errors, "saved twice"), "said: %s", errors);
	CHECK(check_sysctls("kernel/msgmax", "1\n2", "kernel/sem", "1", errors,
			    sizeof(errors)) < 0, "took a value with a newline");
	CHECK(strstr(errors, "not numbers"), "said: %s", errors);
}

TEST(semaphore_sets_must_be_ascending_with_values_the_kernel_takes)
{
	uint32_t values[2] = { 1, 32767 }, too_big[1] = { 32768 };
	SysvSem a = SYSV_SEM__INIT, b = SYSV_SEM__INIT;
	ProtobufCMessage *msgs[2] = { &a.base, &b.base };
	char errors[256];

	a.id = 3;
	a.n_values = 2;
	a.values = values;
	a.mode = 0640;
	b = a;
	b.id = 65539;
	CHECK(!run_check(sysv_sem_image_check, msgs, 2, errors, sizeof(errors)), "refused: %s",
	      errors);
	b.id = 3;
	CHECK(run_check(sysv_sem_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took one id twice");
	b.id = 9;
	b.n_values = 1;
	b.values = too_big;
	CHECK(run_check(sysv_sem_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took 32768");
	CHECK(strstr(errors, "SEMVMX"), "said: %s", errors);
	b.n_values = 0;
	CHECK(run_check(sysv_sem_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took an empty set");
	b.n_values = 2;
	b.values = values;
	b.mode = 01777;
	CHECK(run_check(sysv_sem_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took the sticky bit");
}

TEST(queues_and_messages_are_checked)
{
	SysvMsgQueue q = SYSV_MSG_QUEUE__INIT;
	SysvMsg m = SYSV_MSG__INIT;
	ProtobufCMessage *queues[1] = { &q.base }, *messages[1] = { &m.base };
	char errors[256];

	q.id = 0;
	q.qbytes = 16384;
	q.nr_messages = 1;
	q.nr_bytes = 5;
	CHECK(!run_check(sysv_msg_image_check, queues, 1, errors, sizeof(errors)), "refused: %s",
	      errors);
	q.nr_messages = 0;
	CHECK(run_check(sysv_msg_image_check, queues, 1, errors, sizeof(errors)) < 0,
	      "took bytes without a message");
	q.nr_messages = 1;
	q.qbytes = 1ULL << 40;
	CHECK(run_check(sysv_msg_image_check, queues, 1, errors, sizeof(errors)) < 0,
	      "took a size limit of 2^40");
	m.type = 1;
	CHECK(!run_check(sysv_msg_data_image_check, messages, 1, errors, sizeof(errors)),
	      "refused: %s", errors);
	m.type = 0;
	CHECK(run_check(sysv_msg_data_image_check, messages, 1, errors, sizeof(errors)) < 0,
	      "took type 0");
	CHECK(strstr(errors, "not positive"), "said: %s", errors);
}

TEST(posix_queues_need_plain_sorted_names_and_limits_the_kernel_takes)
{
	PosixMq a = POSIX_MQ__INIT, b = POSIX_MQ__INIT;
	PosixMqMsg m = POSIX_MQ_MSG__INIT;
	ProtobufCMessage *msgs[2] = { &a.base, &b.base }, *messages[1] = { &m.base };
	char errors[256];

	a.name = "alpha";
	a.maxmsg = 10;
	a.msgsize = 8192;
	a.mode = 0600;
	b = a;
	b.name = "beta";
	CHECK(!run_check(posix_mq_image_check, msgs, 2, errors, sizeof(errors)), "refused: %s",
	      errors);
	b.name = "../beta";
	CHECK(run_check(posix_mq_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took a name with a slash");
	CHECK(strstr(errors, "not a queue's name"), "said: %s", errors);
	b.name = "alpha";
	CHECK(run_check(posix_mq_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took a name twice");
	b.name = "beta";
	b.nr_messages = 11;
	CHECK(run_check(posix_mq_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took more messages than the queue holds");
	b.nr_messages = 0;
	b.msgsize = 0;
	CHECK(run_check(posix_mq_image_check, msgs, 2, errors, sizeof(errors)) < 0,
	      "took a message size of 0");
	m.prio = 32768;
	CHECK(run_check(posix_mq_data_image_check, messages, 1, errors, sizeof(errors)) < 0,
	      "took priority 32768");
}

static int check_net(const char *name, const char *value, uint32_t mtu, char *errors,
		     size_t size)
{
	NetSysctl a = NET_SYSCTL__INIT, *list[1] = { &a };
	NetNs ns = NET_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	a.name = (char *)name;
	a.value = (char *)value;
	ns.sysctls = list;
	ns.n_sysctls = 1;
	ns.lo_mtu = mtu;
	return run_check(net_ns_image_check, msgs, 1, errors, size);
}

TEST(net_ns_image_takes_the_namespaces_sysctls_and_nothing_else)
{
	char errors[256];

	CHECK(!check_net("net/ipv4/ip_local_port_range", "20000\t29999", 65536, errors,
			 sizeof(errors)), "refused: %s", errors);
	CHECK(!check_net("net/ipv4/ip_local_reserved_ports", "", 65536, errors, sizeof(errors)),
	      "refused an empty list: %s", errors);
	CHECK(check_net("kernel/core_pattern", "1", 65536, errors, sizeof(errors)) < 0,
	      "took kernel/core_pattern");
	CHECK(strstr(errors, "not a network namespace's sysctl"), "said: %s", errors);
	CHECK(check_net("net/ipv4/ip_forward", "|sh", 65536, errors, sizeof(errors)) < 0,
	      "took a value that is not numbers");
	CHECK(check_net("net/ipv4/ip_forward", "1", 10, errors, sizeof(errors)) < 0,
	      "took a loopback MTU of 10");
}

/* An RTM_NEWADDR of 10.1.2.3/24 on @index, with one more attribute of
 * @extra_type (0: none) and @extra_len bytes, into @buf; its length. */
static size_t address_message(char *buf, uint32_t index, uint16_t extra_type, size_t extra_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	static const uint8_t addr[4] = { 10, 1, 2, 3 }, zeros[16];

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = index;
	mnl_attr_put(nlh, IFA_LOCAL, 4, addr);
	mnl_attr_put_strz(nlh, IFA_LABEL, "lo:x");
	if (extra_type)
		mnl_attr_put(nlh, extra_type, extra_len, zeros);
	return nlh->nlmsg_len;
}

static int check_rtnl(char *buf, size_t len, char *errors, size_t size)
{
	ProtobufCBinaryData msg = { len, (uint8_t *)buf };
	NetNs ns = NET_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	ns.lo_mtu = 65536;
	ns.has_lo_index = true;
	ns.lo_index = 1;
	ns.n_rtnl = 1;
	ns.rtnl = &msg;
	return run_check(net_ns_image_check, msgs, 1, errors, size);
}

TEST(net_ns_image_takes_only_loopback_addresses_with_attributes_cryo_restores)
{
	char errors[256], buf[256];
	size_t len = address_message(buf, 1, 0, 0);

	CHECK(!check_rtnl(buf, len, errors, sizeof(errors)), "refused: %s", errors);
	len = address_message(buf, 2, 0, 0);
	CHECK(check_rtnl(buf, len, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "on a device not saved"), "said: %s", errors);
	len = address_message(buf, 1, IFA_MULTICAST, 4);
	CHECK(check_rtnl(buf, len, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "an attribute cryo does not restore"), "said: %s", errors);
	len = address_message(buf, 1, IFA_FLAGS, 2);
	CHECK(check_rtnl(buf, len, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not of 4 bytes"), "said: %s", errors);
	len = address_message(buf, 1, 0, 0);
	/* An attribute header that says 8 bytes, of which 4 are there. */
	((struct nlmsghdr *)buf)->nlmsg_len += 4;
	memcpy(buf + len, &(struct nlattr){ .nla_len = 8, .nla_type = IFA_FLAGS }, 4);
	CHECK(check_rtnl(buf, len + 4, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "runs past its end"), "said: %s", errors);
	CHECK(check_rtnl(buf, len, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "its length is not its header's"), "said: %s", errors);
	len = address_message(buf, 1, 0, 0);
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWLINK;
	CHECK(check_rtnl(buf, len, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not an address, a route, a neighbour or a rule"), "said: %s", errors);
}

/* A veth saved with its index: addresses on it are taken; a device of
 * another kind, or a pair whose other end is missing, is refused. */
TEST(net_ns_image_takes_addresses_on_saved_veths_and_checks_them)
{
	char errors[256], buf[256];
	size_t len = address_message(buf, 5, 0, 0);
	ProtobufCBinaryData msg = { len, (uint8_t *)buf };
	NetDevice dev = NET_DEVICE__INIT, *devs[1] = { &dev };
	NetNs ns = NET_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	ns.lo_mtu = 65536;
	ns.has_lo_index = true;
	ns.lo_index = 1;
	ns.n_rtnl = 1;
	ns.rtnl = &msg;
	ns.n_devices = 1;
	ns.devices = devs;
	dev.index = 5;
	dev.name = "ve0";
	dev.kind = "veth";
	dev.mtu = 1500;
	CHECK(!run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)), "refused: %s",
	      errors);
	dev.kind = "ifb";
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not a kind of device cryo restores"), "said: %s", errors);
	dev.kind = "veth";
	dev.has_peer_index = true;
	dev.peer_index = 6;
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "its peer inside is not a device"), "said: %s", errors);
}

static int check_iptables(NetIptables *a, NetIptables *b, char *errors, size_t size)
{
	NetIptables *list[2] = { a, b };
	NetNs ns = NET_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	ns.lo_mtu = 65536;
	ns.iptables = list;
	ns.n_iptables = b ? 2 : 1;
	return run_check(net_ns_image_check, msgs, 1, errors, size);
}

TEST(net_ns_image_takes_one_iptables_ruleset_per_family_and_kind)
{
	NetIptables a = NET_IPTABLES__INIT, b = NET_IPTABLES__INIT;
	char errors[256];

	a.family = 4;
	a.save = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
	b = a;
	b.legacy = true;
	CHECK(!check_iptables(&a, &b, errors, sizeof(errors)), "refused: %s", errors);
	b.legacy = false;
	CHECK(check_iptables(&a, &b, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "a second ruleset of the same family and kind"), "said: %s", errors);
	a.family = 5;
	CHECK(check_iptables(&a, NULL, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not IPv4 or IPv6"), "said: %s", errors);
	a.family = 6;
	a.save = "";
	CHECK(check_iptables(&a, NULL, errors, sizeof(errors)) < 0 && strstr(errors, "empty"),
	      "said: %s", errors);
}

/* A macvlan over a saved veth, or over a device outside (no lower index),
 * with per-device sysctls of it, and a tap: taken; a bad mode, a lower
 * device not saved, a sysctl of a device not saved or a path out of
 * conf/, bad tun flags or a veth with them: refused. */
TEST(net_ns_image_checks_macvlans_and_per_device_sysctls)
{
	char errors[256];
	NetDevice veth = NET_DEVICE__INIT, mv = NET_DEVICE__INIT, *devs[2] = { &veth, &mv };
	NetSysctl s = NET_SYSCTL__INIT, *sysctls[1] = { &s };
	NetNs ns = NET_NS__INIT;
	ProtobufCMessage *msgs[1] = { &ns.base };

	ns.lo_mtu = 65536;
	ns.has_lo_index = true;
	ns.lo_index = 1;
	ns.n_devices = 2;
	ns.devices = devs;
	veth = (NetDevice)NET_DEVICE__INIT;
	veth.index = 5;
	veth.name = "ve0";
	veth.kind = "veth";
	veth.mtu = 1500;
	mv.index = 6;
	mv.name = "mv0";
	mv.kind = "macvlan";
	mv.mtu = 1500;
	mv.has_macvlan_mode = true;
	mv.macvlan_mode = 4;	/* bridge */
	mv.has_lower_index = true;
	mv.lower_index = 5;
	ns.n_dev_sysctls = 1;
	ns.dev_sysctls = sysctls;
	s.name = "net/ipv6/conf/mv0/hop_limit";
	s.value = "33";
	CHECK(!run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)), "refused: %s",
	      errors);
	mv.has_lower_index = false;
	CHECK(!run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)),
	      "refused one over a device outside: %s", errors);
	mv.has_lower_index = true;
	mv.lower_index = 7;
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "its lower device is not a saved device"), "said: %s", errors);
	mv.lower_index = 5;
	mv.macvlan_mode = 16;	/* source: its address list is not saved */
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "mode or flags"), "said: %s", errors);
	mv.macvlan_mode = 4;
	s.name = "net/ipv6/conf/eth9/hop_limit";
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not of all, default"), "said: %s", errors);
	s.name = "net/ipv6/conf/mv0/../../../../kernel/core_pattern";
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "not a per-device sysctl"), "said: %s", errors);
	s.name = "net/ipv4/conf/all/forwarding";
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "a namespace-wide sysctl"), "said: %s", errors);
	/* A persistent tap: its flags are TUNSETIFF's, and only a tun's. */
	s.name = "net/ipv6/conf/mv0/hop_limit";
	mv = (NetDevice)NET_DEVICE__INIT;
	mv.index = 6;
	mv.name = "mv0";
	mv.kind = "tun";
	mv.mtu = 1500;
	mv.has_tun_flags = true;
	mv.tun_flags = 0x1002;	/* IFF_TAP | IFF_NO_PI */
	CHECK(!run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)), "refused a tap: %s",
	      errors);
	mv.tun_flags = 0x0003;	/* both tun and tap */
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "a tun whose flags"), "said: %s", errors);
	mv.tun_flags = 0x1002;
	veth.has_tun_flags = true;
	CHECK(run_check(net_ns_image_check, msgs, 1, errors, sizeof(errors)) < 0 &&
	      strstr(errors, "other than a tun with a tun's settings"), "said: %s", errors);
}

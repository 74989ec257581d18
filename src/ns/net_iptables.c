/* The iptables rulesets of a tree's own network namespace: the nftables
 * tables iptables-nft manages, saved by iptables-nft-save -c (so that
 * iptables-nft still manages them after restore; net_nft.c leaves them out
 * of its nft text), and iptables-legacy's x_tables, saved by
 * iptables-legacy-save -c; each for IPv4 and IPv6, run in the namespace cryo
 * is in, and loaded again by the matching *-restore -c after the nftables
 * ruleset. arptables and ebtables are not saved. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/spawn.h"
#include "common/textfile.h"
#include "ns/net.h"


struct ipt_kind {
	const char *save, *restore;
	uint32_t family;
	bool legacy;
	const char *names;	/* legacy: the tables of the namespace */
};

static const struct ipt_kind kinds[] = {
	{ "iptables-nft-save", "iptables-nft-restore", 4, false, NULL },
	{ "ip6tables-nft-save", "ip6tables-nft-restore", 6, false, NULL },
	{ "iptables-legacy-save", "iptables-legacy-restore", 4, true,
	  "/proc/thread-self/net/ip_tables_names" },
	{ "ip6tables-legacy-save", "ip6tables-legacy-restore", 6, true,
	  "/proc/thread-self/net/ip6_tables_names" },
};

static const struct ipt_kind *kind_of(const NetIptables *r)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].family == r->family && kinds[i].legacy == r->legacy)
			return &kinds[i];
	return NULL;
}

static void free_records(NetIptables **recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (recs[i])
			free(recs[i]->save);
		free(recs[i]);
	}
	free(recs);
}

/* Appends "ip NAME\n" (or "ip6 NAME\n") to @managed for each "*NAME" of
 * iptables-nft-save's @text. */
static void note_tables(const char *text, uint32_t family, char *managed, size_t size)
{
	for (const char *line = text; line; line = strchr(line, '\n')) {
		line += line != text;
		if (line[0] == '*')
			snprintf(managed + strlen(managed), size - strlen(managed), "%s %.*s\n",
				 family == 4 ? "ip" : "ip6", (int)strcspn(line + 1, "\n"), line + 1);
	}
}

/* Saves kind @k into *@rec (NULL when it has nothing to save). */
static int save_kind(const char *who, const struct ipt_kind *k, NetIptables **rec,
		     char *managed, size_t managed_size)
{
	static const char *const args[] = { "-c", NULL };
	char err[256] = "", *text = NULL, *names = NULL;
	struct spawn_call c = { .program = k->save, .args = args, .netns_fd = -1, .out = &text,
				.err = err, .err_size = sizeof(err) };
	int ret;

	*rec = NULL;
	/* iptables-nft's tables are nftables tables of family ip or ip6. */
	if (!k->legacy && !net_nft_has_ip_tables())
		return 0;
	/* x_tables make a table of a namespace only when it is first used. */
	if (k->legacy) {
		ret = read_text_file(k->names, &names);
		if (ret == -ENOENT || (!ret && !names[0])) {
			free(names);
			return 0;
		}
		if (ret)
			return pr_errno_ret("dump: %s: cannot read %s", who, k->names);
		names[strcspn(names, "\n")] = '\0';
	}
	ret = spawn_run(&c);
	if (ret == -ENOENT && !k->legacy) {
		/* Its tables are then in the nft text, where they still filter. */
		pr_info("dump: %s: %s is not installed: tables iptables-nft manages are saved as "
			"nftables tables, which iptables-nft will not manage after restore", who,
			k->save);
		return 0;
	}
	if (ret == -ENOENT)
		pr_err("dump: %s: it has iptables-legacy tables (%s) and %s is not installed "
		       "(Debian's iptables package): they cannot be saved", who, names, k->save);
	else if (ret)
		pr_err("dump: %s: %s failed: %s", who, k->save, err);
	else if (strlen(text) > NET_IPT_SAVE_MAX)
		ret = -EFBIG;
	free(names);
	if (!ret && strchr(text, '*')) {
		*rec = malloc(sizeof(**rec));
		if (!*rec)
			ret = -ENOMEM;
	}
	if (*rec) {
		net_iptables__init(*rec);
		(*rec)->family = k->family;
		(*rec)->legacy = k->legacy;
		(*rec)->save = text;
		text = NULL;
		if (!k->legacy)
			note_tables((*rec)->save, k->family, managed, managed_size);
	}
	free(text);
	return ret;
}

int net_ipt_dump(const char *who, NetIptables ***out, size_t *n, char *managed,
		 size_t managed_size)
{
	NetIptables **recs = calloc(sizeof(kinds) / sizeof(kinds[0]), sizeof(*recs));
	int ret = recs ? 0 : -ENOMEM;

	*out = NULL;
	*n = 0;
	managed[0] = '\0';
	for (size_t i = 0; !ret && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ret = save_kind(who, &kinds[i], &recs[*n], managed, managed_size);
		if (!ret && recs[*n])
			(*n)++;
	}
	if (ret) {
		free_records(recs, *n);
		*n = 0;
		return ret;
	}
	*out = recs;
	return 0;
}

void net_ipt_free(NetIptables **recs, size_t n)
{
	free_records(recs, n);
}

int net_ipt_restore(const NetNs *ns)
{
	static const char *const args[] = { "-w", "-c", NULL };
	int ret = 0;

	for (size_t i = 0; !ret && i < ns->n_iptables; i++) {
		const struct ipt_kind *k = kind_of(ns->iptables[i]);
		char err[256] = "";

		if (!k)
			return -EBADMSG;	/* the image check refuses it */
		struct spawn_call c = { .program = k->restore, .args = args, .netns_fd = -1,
					.input = ns->iptables[i]->save, .err = err,
					.err_size = sizeof(err) };

		ret = spawn_run(&c);
		if (ret)
			pr_err("restore: network namespace: cannot load its %s ruleset: %s%s",
			       k->restore, err, ret == -ENOENT ? " (Debian's iptables package)" : "");
	}
	return ret;
}

/* The nftables ruleset of a tree's own network namespace, read at dump as
 * nft's text through libnftables inside it, checked to read back, and
 * loaded again in the new namespace at restore. The tables iptables-nft
 * manages are net_iptables.c's (saved as iptables-nft-save prints them);
 * the network lock's own tables are netlock.c's: neither is part of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/nft_lib.h"
#include "ns/net.h"

/* A context that buffers its output and errors; NULL when libnftables
 * cannot be loaded (said) or is out of memory. */
static struct nft_ctx *ctx_new(const struct nft_lib *nl)
{
	struct nft_ctx *nft = nl ? nl->nft_ctx_new(NFT_CTX_DEFAULT) : NULL;

	if (nft && (nl->nft_ctx_buffer_output(nft) || nl->nft_ctx_buffer_error(nft))) {
		nl->nft_ctx_free(nft);
		nft = NULL;
	}
	return nft;
}

/* The first line of nft's error buffer. */
static void first_error(const struct nft_lib *nl, struct nft_ctx *nft, char *buf, size_t size)
{
	const char *e = nl->nft_ctx_get_error_buffer(nft);

	snprintf(buf, size, "%.*s", e ? (int)strcspn(e, "\n") : 0, e ? e : "");
}

/* The first table of @ruleset marked "flags owner", or NULL: such a table
 * belongs to a process's netlink socket and goes when that closes. */
static const char *owned_table(const char *ruleset, char *name, size_t size)
{
	const char *start = ruleset;

	while (start) {
		const char *next = strstr(start, "\ntable "), *owner = strstr(start, "flags owner");

		if (!strncmp(start, "table ", 6) && owner && (!next || owner < next)) {
			snprintf(name, size, "%.*s", (int)strcspn(start + 6, "{\n") - 1, start + 6);
			return name;
		}
		start = next ? next + 1 : NULL;
	}
	return NULL;
}

/* Whether @managed ("ip filter\nip6 nat\n...") has the table of the line
 * "table FAMILY NAME {" at @line. */
static bool is_managed(const char *line, const char *managed)
{
	const char *family = line + 6, *name = family + strcspn(family, " \n");
	char want[160];

	if (*name != ' ')
		return false;
	name++;
	snprintf(want, sizeof(want), "\n%.*s %.*s\n", (int)(name - 1 - family), family,
		 (int)strcspn(name, " {\n"), name);
	return !strncmp(managed, want + 1, strlen(want + 1)) || strstr(managed, want);
}

/* Takes the tables @managed names out of @text: a table is its "table
 * FAMILY NAME {" line to the next "}" line. */
static void strip_tables(char *text, const char *managed)
{
	char *line = text, *end;

	while (line && *line) {
		if (!strncmp(line, "table ", 6) && is_managed(line, managed) &&
		    (end = strstr(line, "\n}\n"))) {
			end += 3;
			end += *end == '\n';
			memmove(line, end, strlen(end) + 1);
			continue;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
}

int net_nft_dump(const char *who, const char *managed, char **out)
{
	const struct nft_lib *nl = nft_lib();
	struct nft_ctx *nft = ctx_new(nl);
	char err[256], name[128];
	const char *text;
	int ret = 0;

	*out = NULL;
	if (!nft)
		return nl ? -ENOMEM : -ENOENT;
	if (nl->nft_run_cmd_from_buffer(nft, "list ruleset")) {
		first_error(nl, nft, err, sizeof(err));
		pr_err("dump: %s: cannot list its nftables ruleset: %s", who, err);
		nl->nft_ctx_free(nft);
		return -EIO;
	}
	text = nl->nft_ctx_get_output_buffer(nft);
	if (text && owned_table(text, name, sizeof(name))) {
		pr_err("dump: %s: nftables table %s is owned by a process (flags owner): it goes "
		       "with that process's socket and cannot be restored", who, name);
		ret = -EOPNOTSUPP;
	}
	if (!ret && text && text[0]) {
		*out = strdup(text);
		if (*out)
			strip_tables(*out, managed);
		if (*out && !(*out)[strspn(*out, "\n")]) {
			free(*out);
			*out = NULL;
		} else if (!*out) {
			ret = -ENOMEM;
		}
	}
	nl->nft_ctx_free(nft);
	/* What nft lists, it must read back: checked without a commit. */
	if (!ret && *out) {
		nft = ctx_new(nl);
		if (!nft)
			ret = -ENOMEM;
		else
			nl->nft_ctx_set_dry_run(nft, true);
		if (nft && nl->nft_run_cmd_from_buffer(nft, *out)) {
			first_error(nl, nft, err, sizeof(err));
			pr_err("dump: %s: its nftables ruleset does not read back (%s): a table "
			       "cryo cannot restore", who, err);
			ret = -EOPNOTSUPP;
		}
		if (nft)
			nl->nft_ctx_free(nft);
	}
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

bool net_nft_has_ip_tables(void)
{
	const struct nft_lib *nl = nft_lib();
	struct nft_ctx *nft = ctx_new(nl);
	const char *text;
	bool has = true;	/* when unsure, iptables-nft-save is asked */

	if (nft && !nl->nft_run_cmd_from_buffer(nft, "list tables")) {
		text = nl->nft_ctx_get_output_buffer(nft);
		has = text && (!strncmp(text, "table ip", 8) || strstr(text, "\ntable ip"));
	}
	if (nft)
		nl->nft_ctx_free(nft);
	return has;
}

int net_nft_restore(const char *ruleset)
{
	const struct nft_lib *nl;
	struct nft_ctx *nft;
	char err[256];
	int ret = 0;

	if (!ruleset || !ruleset[0])
		return 0;
	nl = nft_lib();
	nft = ctx_new(nl);
	if (!nft)
		return nl ? -ENOMEM : -ENOENT;
	if (nl->nft_run_cmd_from_buffer(nft, ruleset)) {
		first_error(nl, nft, err, sizeof(err));
		pr_err("restore: network namespace: cannot load its nftables ruleset: %s", err);
		ret = -EIO;
	}
	nl->nft_ctx_free(nft);
	return ret;
}

/* `cryo check`: runs every feature probe, prints one line per feature with
 * what it means for the user, then whether dump and restore can work here.
 * The probes and the verdict rules live in src/kabi. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "images/image.h"
#include "kabi/features.h"
#include "net/net.h"

static const char *state_word(const struct feature *f, const struct feature_result *r)
{
	if (r->ok)
		return "ok";
	return f->info_only ? "info" : "missing";
}

static void print_verdict(unsigned int unmet, const char *why, unsigned int optional_missing)
{
	switch (unmet) {
	case 0:
		printf("dump and restore can work on this system");
		if (optional_missing)
			printf(" (%u optional feature%s missing)", optional_missing,
			       optional_missing == 1 ? "" : "s");
		printf("\n");
		break;
	case FEATURE_FOR_DUMP:
		printf("dump cannot work, restore can: missing %s\n", why);
		break;
	case FEATURE_FOR_RESTORE:
		printf("restore cannot work, dump can: missing %s\n", why);
		break;
	default:
		printf("dump and restore cannot work: missing %s\n", why);
		break;
	}
}

/* Locks of cryo's network lock, nftables tables and iptables chains (when
 * iptables is installed): a stale one (its cryo is gone: the next dump or
 * restore with that method removes it) drops a connection's packets for
 * nothing; a held one waits for the restore of a dump. */
static void report_network_locks(void)
{
	static const enum net_lock_mode modes[] = { NET_LOCK_NFTABLES, NET_LOCK_IPTABLES };
	char stale[512], held[512];

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *kind = net_lock_kind(modes[i]);

		if (net_lock_list(modes[i], stale, sizeof(stale), held, sizeof(held)))
			continue;
		if (stale[0])
			printf("stale   network lock: %s %s, left by a cryo that is gone (the next "
			       "dump or restore with --network-lock %s removes it)\n", kind, stale,
			       modes[i] == NET_LOCK_IPTABLES ? "iptables" : "nftables");
		if (held[0])
			printf("held    network lock: %s %s, a dump's connections locked until their "
			       "restore\n", kind, held);
	}
	fflush(stdout);
}

int cmd_check(const struct cryo_opts *opts)
{
	_cleanup_free_ struct feature_result *results = NULL;
	unsigned int unmet, optional_missing = 0;
	char why[512];

	if (opts->nargs) {
		pr_err("check: unexpected argument '%s'", opts->args[0]);
		return 1;
	}
	/* cryo check -D DIR: a dumper that died there left temporary files. */
	if (opts->images_dir && image_dir_remove_stale(NULL, opts->images_dir))
		return 1;
	results = calloc(feature_count, sizeof(*results));
	if (!results) {
		pr_err("check: out of memory");
		return 1;
	}
	for (size_t i = 0; i < feature_count; i++) {
		const struct feature *f = &feature_table[i];

		pr_debug("probing %s", f->name);
		f->probe(&results[i]);
		pr_info("%s: %s (%d)", f->name, results[i].ok ? "ok" : "not ok", results[i].err);
		if (!results[i].ok && !f->needed_for && !f->info_only)
			optional_missing++;
		printf("%-8s%s: %s\n", state_word(f, &results[i]), f->name, results[i].detail);
		/* Probes fork: what is printed must not be buffered into a child. */
		fflush(stdout);
	}
	report_network_locks();
	unmet = features_unmet(feature_table, feature_count, results, why, sizeof(why));
	print_verdict(unmet, why, optional_missing);
	return unmet ? 1 : 0;
}

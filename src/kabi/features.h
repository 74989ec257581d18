/* Probes for the kernel features cryo relies on, as used by `cryo check`.
 * Each probe exercises the feature for real (a child it forks, a mapping it
 * makes), undoes everything it created, and says in one line what the
 * result means for the user. Deciding how dump or restore adapt is not here. */
#ifndef CRYO_KABI_FEATURES_H
#define CRYO_KABI_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEATURE_DETAIL_MAX 256

struct feature_result {
	bool ok;
	int err;				/* 0, or -errno explaining why not ok */
	char detail[FEATURE_DETAIL_MAX];	/* one line for the user */
};

/* Every probe fills @res and returns 0 when the feature works, or the
 * -errno that shows it does not. */
typedef int (*feature_probe_fn)(struct feature_result *res);

int probe_ptrace_seize(struct feature_result *res);
int probe_ptrace_rseq(struct feature_result *res);
int probe_process_vm_readv(struct feature_result *res);
int probe_pagemap_scan(struct feature_result *res);
int probe_soft_dirty(struct feature_result *res);
int probe_uffd_wp(struct feature_result *res);
int probe_uffd_wp_async(struct feature_result *res);
int probe_clone3_set_tid(struct feature_result *res);
int probe_ns_last_pid(struct feature_result *res);
int probe_pidfd(struct feature_result *res);
int probe_vdso_layout(struct feature_result *res);
int probe_vdso_remap(struct feature_result *res);
int probe_sock_diag_unix(struct feature_result *res);
int probe_sock_diag_inet(struct feature_result *res);
int probe_sock_diag_inet6(struct feature_result *res);
int probe_sock_diag_packet(struct feature_result *res);
int probe_sock_diag_netlink(struct feature_result *res);
int probe_time_ns(struct feature_result *res);
int probe_cap_checkpoint_restore(struct feature_result *res);
int probe_cap_sys_admin(struct feature_result *res);
int probe_cap_sys_ptrace(struct feature_result *res);
int probe_cap_sys_resource(struct feature_result *res);

/* Which journeys cannot work without a feature. */
#define FEATURE_FOR_DUMP	(1u << 0)
#define FEATURE_FOR_RESTORE	(1u << 1)

struct feature {
	const char *name;
	feature_probe_fn probe;
	/* FEATURE_FOR_* bits; 0 for an optional feature. */
	unsigned int needed_for;
	/* Needed features with the same group stand in for one another: the
	 * need is met when any of them is ok. NULL: this one alone. */
	const char *group;
	/* Absence is only worth knowing: printed as info, never missing. */
	bool info_only;
};

/* The features `cryo check` probes, in the order it prints them. */
extern const struct feature feature_table[];
extern const size_t feature_count;

/* Given one result per entry of @table, returns the FEATURE_FOR_* bits of
 * the journeys that cannot work, and writes into @why (when not NULL) the
 * needs left unmet, e.g. "clone3 set_tid or ns_last_pid". */
unsigned int features_unmet(const struct feature *table, size_t count,
			    const struct feature_result *results, char *why, size_t why_size);

/* ---- the vDSO/vvar areas, from the text of /proc/PID/maps ------------------ */

struct vdso_area {
	bool present;
	uint64_t start;
	uint64_t end;
};

/* Older kernels show [vvar] and [vdso]; x86 kernels since 6.13 also show
 * [vvar_vclock] between them. An absent area has present == false. */
struct vdso_layout {
	struct vdso_area vvar;
	struct vdso_area vvar_vclock;
	struct vdso_area vdso;
};

/* Parses a whole maps text. Returns 0, -EINVAL when a line is not a maps
 * line or an area appears twice, -ENOENT when there is no [vdso]. */
int vdso_layout_parse(const char *maps, struct vdso_layout *layout);

/* True when the present areas follow one another with no gap, in the order
 * vvar, vvar_vclock, vdso: the block restore moves as a whole. */
bool vdso_layout_contiguous(const struct vdso_layout *layout);

/* Where the block begins: its first present area. */
uint64_t vdso_layout_start(const struct vdso_layout *layout);

#endif

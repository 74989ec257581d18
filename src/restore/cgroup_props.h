/* Writing and comparing the saved controller settings of one cgroup
 * (cgroup_props.c), with an undo list so that a failed restore puts back
 * what it changed. Which mode asks for which is cgroups.c's. */
#ifndef CRYO_RESTORE_CGROUP_PROPS_H
#define CRYO_RESTORE_CGROUP_PROPS_H

#include <stdbool.h>

#include "images/proto/cgroup.pb-c.h"

struct cgroup_undo;

/* Writes @e's settings into cgroup @dir (its full path), noting in *@undo
 * (unless NULL: a cgroup restore made, removed on failure) what puts back
 * the values they replace. Fails naming the cgroup, file and value. */
int cgroup_props_write(const char *dir, const CgroupEntry *e, struct cgroup_undo **undo);

/* Copies @file ("cpuset.cpus") of the parent of cgroup @dir into it. */
int cgroup_props_inherit(const char *dir, const char *file);

/* After a failed restore (@failed), writes back the old values, newest
 * first; frees the list either way. */
void cgroup_props_undo(struct cgroup_undo *undo, bool failed);

#endif

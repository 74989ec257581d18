/* The controller settings of the tree's own cgroup v2 groups: which files
 * are saved and cgroups.img's checks (cgroup_image.c), their dump
 * (cgroup_settings.c). Putting them back is restore/cgroup_props.c's. */
#ifndef CRYO_TASK_CGROUP_SETTINGS_H
#define CRYO_TASK_CGROUP_SETTINGS_H

#include <stdbool.h>

#include "images/image.h"
#include "tree/tree.h"

/* The files saved (cgroup_image.c), in the order restore writes them:
 * cgroup.type first (a threaded cgroup takes no domain controller),
 * subtree_control last. */
#define CGROUP_NR_SETTING_FILES 15
extern const char *const cgroup_setting_files[CGROUP_NR_SETTING_FILES];
/* The longest value taken from an image. */
#define CGROUP_VALUE_MAX 4096

/* Whether @path ("/a/b") is the tree's own: below the hierarchy's root,
 * neither @cryo_path (cryo's cgroup) nor one of its ancestors. */
bool cgroup_is_own(const char *path, const char *cryo_path);

/* Writes cgroups.img: the settings of the cgroups of @tree's live
 * processes that are its own, and of their own ancestors. Nothing is
 * written without cgroup v2 or without such a cgroup. */
int cgroup_settings_dump(const struct tree *tree, struct image_dir *dir);

extern const struct image_kind_set cgroup_image_kinds;

#endif

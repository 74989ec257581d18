/* The controller settings of the tree's own cgroup v2 groups: which files
 * are saved and cgroups.img's checks (cgroup_image.c), their dump
 * (cgroup_settings.c). Putting them back is restore/cgroup_props.c's. */
#ifndef CRYO_TASK_CGROUP_SETTINGS_H
#define CRYO_TASK_CGROUP_SETTINGS_H

#include <stdbool.h>

#include "images/image.h"
#include "images/proto/cgroup.pb-c.h"
#include "tree/tree.h"

/* The files saved (cgroup_image.c), in the order restore writes them:
 * cgroup.type first (a threaded cgroup takes no domain controller),
 * subtree_control last. */
#define CGROUP_NR_SETTING_FILES 15
extern const char *const cgroup_setting_files[CGROUP_NR_SETTING_FILES];
/* The files saved in a v1 hierarchy, in the order restore writes them
 * (cgroup_image.c); each counts in a hierarchy of its controller only. */
#define CGROUP_V1_NR_SETTING_FILES 12
extern const char *const cgroup_v1_setting_files[CGROUP_V1_NR_SETTING_FILES];
bool cgroup_v1_file_applies(const char *file, const char *controllers);
/* The longest value taken from an image. */
#define CGROUP_VALUE_MAX 4096

/* Whether @path ("/a/b") is the tree's own: below the hierarchy's root,
 * neither @cryo_path (cryo's cgroup) nor one of its ancestors. */
bool cgroup_is_own(const char *path, const char *cryo_path);

/* The tree's own cgroups of one hierarchy, gathered at dump. */
#define CGROUPS_MAX 256
struct cgroup_list {
	char *paths[CGROUPS_MAX];
	size_t nr;
};
/* Adds @path and each of its ancestors that is the tree's own (with
 * @cryo_path cryo's cgroup), each once. */
int cgroup_list_add_own(struct cgroup_list *l, const char *path, const char *cryo_path);
/* Parents before their children. */
void cgroup_list_sort(struct cgroup_list *l);
void cgroup_list_free(struct cgroup_list *l);

/* The record of cgroup @path of the hierarchy mounted at @mnt: those of
 * @files it has, with a value (freed by cgroup_entry_free()). */
int cgroup_entry_read(const char *mnt, const char *path, const char *const *files, size_t nr,
		      CgroupEntry **out);
void cgroup_entry_free(CgroupEntry *e);

/* Writes cgroups.img: the settings of the cgroups of @tree's live
 * processes that are its own, and of their own ancestors. Nothing is
 * written without cgroup v2 or without such a cgroup. */
int cgroup_settings_dump(const struct tree *tree, struct image_dir *dir);

/* Writes cgroups_v1.img (cgroup_v1.c): in each cgroup v1 hierarchy
 * mounted here where some process or thread of @tree is not in cryo's
 * cgroup, every process's cgroup, each thread's that differs, and the
 * settings of the tree's own cgroups. */
int cgroup_v1_dump(const struct tree *tree, struct image_dir *dir);

extern const struct image_kind_set cgroup_image_kinds;

#endif

/* The controller settings of the tree's own cgroup v2 groups: which files
 * are saved and cgroups.img's checks (cgroup_image.c), their dump
 * (cgroup_settings.c). Putting them back is restore/cgroup_props.c's. */
#ifndef CRYO_TASK_CGROUP_SETTINGS_H
#define CRYO_TASK_CGROUP_SETTINGS_H

#include <stdbool.h>

#include "common/cgroup1.h"
#include "images/image.h"
#include "images/proto/cgroup.pb-c.h"
#include "images/proto/core.pb-c.h"
#include "tree/tree.h"

struct cgroup_dump_plan;
struct cgroup_seen;

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
/* The most settings one cgroup saves (its defaults and --cgroup-props'). */
#define CGROUP_SETTINGS_MAX 64
/* Whether @name is a file that holds a setting: "controller.name" of
 * lower-case letters, digits, '_' and '.', and none of those that are
 * not (cgroup.procs, cgroup.threads, cgroup.kill, cgroup.freeze,
 * freezer.state, devices.allow, devices.deny, ...). */
bool cgroup_file_is_setting(const char *name);
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

/* The record of cgroup @path, at folder @dir: those of @files it has,
 * with a value (freed by cgroup_entry_free()). A value of several lines
 * (but devices.list's) or a file without write permission is refused. */
int cgroup_entry_read(const char *dir, const char *path, const char *const *files, size_t nr,
		      CgroupEntry **out);
/* The same through @ms, for hierarchy @hierarchy ("" the unified one):
 * *@out NULL for a cgroup above the mounts' roots (not saved, said), and
 * -ENOENT (said) for one no mount reaches. */
int cgroup_entry_read_through(const struct cgroup_mounts *ms, const char *hierarchy,
			      const char *path, const char *const *files, size_t nr,
			      CgroupEntry **out);
void cgroup_entry_free(CgroupEntry *e);

/* Writes cgroups.img: the settings (@plan's v2 files) of the cgroups
 * (@seen) of @tree's live processes that are its own, and of their own
 * ancestors. Nothing is written without cgroup v2, without such a cgroup, or when
 * @plan leaves cgroup v2 out. */
int cgroup_settings_dump(const struct tree *tree, const struct cgroup_seen *seen,
			 struct image_dir *dir, const struct cgroup_dump_plan *plan);

/* Writes cgroups_v1.img (cgroup_v1.c): in each cgroup v1 hierarchy
 * mounted here (or in @plan's yard) that @plan saves, where some process
 * or thread of @tree is not in cryo's cgroup, every process's cgroup,
 * each thread's that differs, and the settings of the tree's own
 * cgroups. */
int cgroup_v1_dump(const struct tree *tree, const struct cgroup_seen *seen,
		   struct image_dir *dir, const struct cgroup_dump_plan *plan);

extern const struct image_kind_set cgroup_image_kinds;

#endif

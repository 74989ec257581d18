/* The restore journey: read and validate every image → create the task with
 * its PID → it restores its files and attributes → the restorer blob
 * replaces its memory → cryo sets its registers and lets it run. */
#ifndef CRYO_RESTORE_H
#define CRYO_RESTORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "images/image.h"
#include "images/pages.h"
#include "images/proto/core.pb-c.h"
#include "images/proto/mm.pb-c.h"

struct files_image;

/* Everything read from the images for one task, validated. */
struct restore_task {
	pid_t pid;
	struct image *core_img;
	TaskCore *core;			/* points into core_img */
	Mm *mm;
	struct files_image *files;
	struct pages_reader *pages;
};

/* load.c */
int restore_load(const struct image_dir *dir, struct restore_task *rt);
void restore_unload(struct restore_task *rt);

/* child.c: runs in the new task; never returns. Failures before the
 * restorer runs are reported through @report_fd like the restorer's. */
void __attribute__((noreturn)) restore_child(struct restore_task *rt, int report_fd,
					     bool shell_job);

/* area.c: builds the restorer's area in the new task and jumps into it. */
int restorer_enter(struct restore_task *rt, int report_fd, int exe_fd, const int *vma_fds);

/* finish.c: from cryo, once the restorer reported (and said where it put
 * the vDSO): registers, signal mask, then release. */
int restore_finish(struct restore_task *rt, uint64_t vdso_text);

#endif

/* criu's cgroup options of a dump made into a plan: the files saved per
 * controller (--cgroup-props, --cgroup-props-file: criu's simplified YAML
 * against cryo's defaults), the hierarchies saved (--cgroup-dump-controller)
 * and the mounts they are read through (cryo's, or --cgroup-yard's), found
 * before the dump enters the tree's namespaces. Reading the cgroups is
 * cgroup_settings.c's and cgroup_v1.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "common/log.h"
#include "common/textfile.h"
#include "task/cgroup_plan.h"
#include "task/cgroup_settings.h"

/* One controller of a props text. */
struct props_entry {
	const char *controller;
	bool replace;
	const char *files[CGROUP_PLAN_FILES_MAX];
	size_t nr;
};

/* The cursor of a props text and where it failed. */
struct props_text {
	char *at, *start;
	char *why;
	size_t len;
};

static int bad(struct props_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct props_text *t, const char *fmt, ...)
{
	va_list ap;
	int used = snprintf(t->why, t->len, "at byte %td: ", t->at - t->start);

	va_start(ap, fmt);
	if (used > 0 && (size_t)used < t->len)
		vsnprintf(t->why + used, t->len - (size_t)used, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void skip_blanks(struct props_text *t)
{
	t->at += strspn(t->at, " \t\r\n");
}

/* The next non-blank character is @c: taken. */
static bool take(struct props_text *t, char c)
{
	skip_blanks(t);
	if (*t->at != c)
		return false;
	t->at++;
	return true;
}

/* A "quoted" word, ended in place. */
static char *quoted(struct props_text *t)
{
	char *word, *end;

	if (!take(t, '"'))
		return NULL;
	word = t->at;
	end = strchr(word, '"');
	if (!end || end == word || memchr(word, '\n', (size_t)(end - word)))
		return NULL;
	*end = '\0';
	t->at = end + 1;
	return word;
}

/* '- "KEY":' */
static bool key(struct props_text *t, const char *name)
{
	const char *word;

	if (!take(t, '-'))
		return false;
	word = quoted(t);
	return word && !strcmp(word, name) && take(t, ':');
}

static bool controller_is_sane(const char *c)
{
	return c[0] && strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(c);
}

/* '[ "file", ... ]': each a setting of @e's controller. */
static int parse_files(struct props_text *t, struct props_entry *e)
{
	size_t len = strlen(e->controller);

	if (!take(t, '['))
		return bad(t, "controller %s: no '[' of its properties", e->controller);
	if (take(t, ']'))
		return 0;
	do {
		const char *f = quoted(t);

		if (!f)
			return bad(t, "controller %s: a property is not a \"quoted\" name",
				   e->controller);
		if (strncmp(f, e->controller, len) || f[len] != '.' ||
		    !cgroup_file_is_setting(f))
			return bad(t, "controller %s: '%s' is not one of its settings "
				   "(cgroup.procs, tasks, devices.allow/deny, *.kill, *.freeze "
				   "and freezer.state are not settings)", e->controller, f);
		if (e->nr == CGROUP_PLAN_FILES_MAX)
			return bad(t, "controller %s: more than %d properties", e->controller,
				   CGROUP_PLAN_FILES_MAX);
		e->files[e->nr++] = f;
	} while (take(t, ','));
	return take(t, ']') ? 0 : bad(t, "controller %s: no ']' after its properties",
				      e->controller);
}

/* '"controller": - "strategy": "S" - "properties": [...]', criu's order. */
static int parse_entry(struct props_text *t, struct props_entry *e)
{
	const char *strategy;

	e->nr = 0;
	e->controller = quoted(t);
	if (!e->controller || !controller_is_sane(e->controller))
		return bad(t, "expected a \"controller\" name (lower-case letters, digits, _)");
	if (!take(t, ':') || !key(t, "strategy"))
		return bad(t, "controller %s: expected ': - \"strategy\":'", e->controller);
	strategy = quoted(t);
	if (!strategy || (strcmp(strategy, "merge") && strcmp(strategy, "replace")))
		return bad(t, "controller %s: the strategy is \"merge\" or \"replace\"",
			   e->controller);
	e->replace = !strcmp(strategy, "replace");
	if (!key(t, "properties"))
		return bad(t, "controller %s: expected '- \"properties\":'", e->controller);
	return parse_files(t, e);
}

static bool file_of(const char *file, const char *controller)
{
	size_t len = strlen(controller);

	return !strncmp(file, controller, len) && file[len] == '.';
}

static bool listed(const struct cgroup_files *f, const char *file)
{
	for (size_t i = 0; i < f->nr; i++)
		if (!strcmp(f->names[i], file))
			return true;
	return false;
}

/* @e's files into @f: in place of the controller's own (replace), or
 * after them (merge); at the end when it has none. */
static int apply_entry(struct cgroup_files *f, const struct props_entry *e, char *why,
		       size_t len)
{
	size_t at = f->nr, kept = 0;
	bool seen = false;

	for (size_t i = 0; i < f->nr; i++) {
		if (file_of(f->names[i], e->controller)) {
			at = e->replace ? (seen ? at : kept) : kept + 1;
			seen = true;
			if (e->replace)
				continue;
		}
		f->names[kept++] = f->names[i];
	}
	f->nr = kept;
	for (size_t i = 0; i < e->nr; i++) {
		if (listed(f, e->files[i]))
			continue;
		if (f->nr == CGROUP_PLAN_FILES_MAX) {
			snprintf(why, len, "more than %d files to save", CGROUP_PLAN_FILES_MAX);
			return -E2BIG;
		}
		memmove(&f->names[at + 1], &f->names[at], (f->nr - at) * sizeof(f->names[0]));
		f->names[at++] = e->files[i];
		f->nr++;
	}
	return 0;
}

int cgroup_props_apply(char *spec, struct cgroup_files *v2, struct cgroup_files *v1, char *why,
		       size_t len)
{
	struct props_text t = { spec, spec, why, len };
	struct props_entry e;
	int ret = 0;

	skip_blanks(&t);
	while (!ret && *t.at) {
		ret = parse_entry(&t, &e);
		if (!ret)
			ret = apply_entry(v2, &e, why, len);
		if (!ret)
			ret = apply_entry(v1, &e, why, len);
		skip_blanks(&t);
	}
	return ret;
}

static void defaults(struct cgroup_files *f, const char *const *files, size_t nr)
{
	for (f->nr = 0; f->nr < nr; f->nr++)
		f->names[f->nr] = files[f->nr];
}

/* @y's mounts (cgroup_mounts_lookup(), without a mount of cryo's own:
 * cgroup_plan_mounts() makes one only where it is needed), each reached
 * through cryo's root folder. */
static void find_mounts_of(const struct cgroup_dump_plan *plan,
			   struct cgroup_hierarchy_mounts *y)
{
	struct cgroup_mounts *ms = &y->mounts;
	const char *what = y->controllers[0] ? y->controllers : "v2";

	if (cgroup_mounts_lookup(y->controllers, plan->yard, false, ms))
		return;
	for (size_t i = 0; i < ms->nr; i++) {
		ms->m[i].root_fd = plan->root_fd;
		pr_info("dump: cgroup hierarchy %s: root %s at %s", what, ms->m[i].root,
			ms->m[i].point);
	}
}

/* The mounts of each of cryo's hierarchies that is saved. */
static int find_mounts(struct cgroup_dump_plan *plan)
{
	struct cgroup_line lines[CGROUP_HIERARCHIES_MAX];
	size_t nr;
	int ret = cgroup_lines_read(getpid(), 0, lines, &nr);

	if (ret)
		return pr_errno_ret("dump: cannot read cryo's own cgroups");
	plan->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (plan->root_fd < 0)
		return pr_errno_ret("dump: cannot open cryo's root folder");
	plan->hierarchies = calloc(nr ? nr : 1, sizeof(*plan->hierarchies));
	if (!plan->hierarchies)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		struct cgroup_hierarchy_mounts *y = &plan->hierarchies[plan->nr_hierarchies];

		if (!cgroup_plan_saves(plan, lines[i].controllers))
			continue;
		snprintf(y->controllers, sizeof(y->controllers), "%s", lines[i].controllers);
		plan->nr_hierarchies++;
		find_mounts_of(plan, y);
	}
	return 0;
}

/* A --cgroup-dump-controller name that is no hierarchy cryo is in saves
 * nothing (criu's names are exact: "cpu,cpuacct", not "cpu"): said. */
static void say_unknown_controllers(const struct cgroup_dump_plan *plan)
{
	struct cgroup_line lines[CGROUP_HIERARCHIES_MAX];
	char known[1024] = "";
	size_t nr, used = 0;

	if (!plan->nr_controllers || cgroup_lines_read(getpid(), 0, lines, &nr))
		return;
	for (size_t i = 0; i < nr && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
					 i ? ", " : "", lines[i].hierarchy ?
					 lines[i].controllers : "unified");
	for (size_t c = 0; c < plan->nr_controllers; c++) {
		bool found = !strcmp(plan->controllers[c], "unified");

		for (size_t i = 0; i < nr && !found; i++)
			found = !strcmp(plan->controllers[c], lines[i].controllers);
		if (!found)
			pr_warn("dump: --cgroup-dump-controller %s: no such hierarchy (cryo's are "
				"%s): it saves nothing", plan->controllers[c], known);
	}
}

/* Applies the text of --cgroup-props (@i 0) or of its file (1). */
static int apply_text(struct cgroup_dump_plan *plan, int i, const char *what)
{
	char why[512];

	if (!cgroup_props_apply(plan->texts[i], &plan->v2, &plan->v1, why, sizeof(why)))
		return 0;
	pr_err("dump: %s: %s", what, why);
	return -EINVAL;
}

int cgroup_plan_make(const struct cryo_opts *opts, struct cgroup_dump_plan *plan)
{
	char what[PATH_MAX + 32];
	int ret = 0;

	memset(plan, 0, sizeof(*plan));
	plan->root_fd = -1;
	defaults(&plan->v2, cgroup_setting_files, CGROUP_NR_SETTING_FILES);
	defaults(&plan->v1, cgroup_v1_setting_files, CGROUP_V1_NR_SETTING_FILES);
	plan->controllers = opts->cgroup_dump_controllers;
	plan->nr_controllers = opts->nr_cgroup_dump_controllers;
	plan->yard = opts->cgroup_yard;
	if (opts->cgroup_props) {
		plan->texts[0] = strdup(opts->cgroup_props);
		ret = plan->texts[0] ? apply_text(plan, 0, "--cgroup-props") : -ENOMEM;
	}
	if (!ret && opts->cgroup_props_file) {
		snprintf(what, sizeof(what), "--cgroup-props-file %s", opts->cgroup_props_file);
		ret = read_text_file(opts->cgroup_props_file, &plan->texts[1]);
		if (ret)
			pr_err("dump: %s: %s", what, strerror(-ret));
		else
			ret = apply_text(plan, 1, what);
	}
	if (!ret)
		say_unknown_controllers(plan);
	if (!ret)
		ret = find_mounts(plan);
	if (ret)
		cgroup_plan_free(plan);
	return ret;
}

void cgroup_plan_free(struct cgroup_dump_plan *plan)
{
	for (size_t i = 0; i < plan->nr_hierarchies; i++)
		cgroup_mounts_free(&plan->hierarchies[i].mounts);
	free(plan->hierarchies);
	if (plan->root_fd >= 0)
		close(plan->root_fd);
	free(plan->texts[0]);
	free(plan->texts[1]);
	memset(plan, 0, sizeof(*plan));
	plan->root_fd = -1;
}

bool cgroup_plan_saves(const struct cgroup_dump_plan *plan, const char *controllers)
{
	if (!plan || !plan->nr_controllers)
		return true;
	for (size_t i = 0; i < plan->nr_controllers; i++)
		if (!strcmp(plan->controllers[i], controllers) ||
		    (!controllers[0] && !strcmp(plan->controllers[i], "unified")))
			return true;
	return false;
}

static int copy_mounts(const struct cgroup_mounts *from, struct cgroup_mounts *to)
{
	to->m = malloc(from->nr * sizeof(*to->m));
	if (!to->m)
		return -ENOMEM;
	memcpy(to->m, from->m, from->nr * sizeof(*to->m));
	to->nr = from->nr;
	/* The plan's own mount stays the plan's. */
	for (size_t i = 0; i < to->nr; i++)
		to->m[i].owns_root_fd = false;
	return 0;
}

int cgroup_plan_mounts(const struct cgroup_dump_plan *plan, const char *controllers,
		       struct cgroup_mounts *out)
{
	char name[256];
	int ret;

	for (size_t i = 0; i < plan->nr_hierarchies; i++)
		if (!strcmp(plan->hierarchies[i].controllers, controllers) &&
		    plan->hierarchies[i].mounts.nr)
			return copy_mounts(&plan->hierarchies[i].mounts, out);
	/* A v1 hierarchy mounted nowhere (it lives on while it has cgroups):
	 * a mount of cryo's own, attached nowhere, for the caller's use. */
	if (!plan->yard && controllers[0]) {
		ret = cgroup_mounts_private(controllers, out);
		if (!ret)
			pr_info("dump: cgroup v1 hierarchy %s is mounted nowhere: read through a "
				"mount of cryo's own, attached nowhere", controllers);
		return ret;
	}
	if (!plan->yard)
		return -ENOENT;
	cgroup_yard_name(controllers, name, sizeof(name));
	pr_err("dump: --cgroup-yard %s: no mount of %s%s at %s/%s (mount it there, or leave it "
	       "out with --cgroup-dump-controller)", plan->yard,
	       controllers[0] ? "cgroup v1 hierarchy " : "cgroup v2", controllers, plan->yard,
	       name);
	return -EINVAL;
}

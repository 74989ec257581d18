/* Restore of removed directories ("ghost" directories: a removed cwd, root
 * or directory fd) and of the removed folders they, or a deleted regular
 * file, were in: the chain is made again at its old path (the outermost
 * level beside its old name when that is taken), opened, given back its
 * metadata and removed again innermost first. What is made in it and who
 * enters it is the caller's (task/restore.c, files/regfile.c); the dump's
 * side is dir_path.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "files/ghost_dir.h"

#define GHOST_NAMES 100
#define NSEC_PER_SEC 1000000000ULL

/* A chain of removed levels being made again: its path so far, where
 * each level's name ends in it, and (when asked for) an fd of each. */
struct chain {
	const char *who, *what;
	char made[PATH_MAX + 32];
	size_t ends[GHOST_DIR_MAX_FOLDERS + 1];
	int fds[GHOST_DIR_MAX_FOLDERS + 1];
	size_t made_levels;
};

/* The metadata of level @i of a chain of @n removed directories (0 the
 * outermost folder, n - 1 the ghost itself; its folders innermost first). */
static const GhostDir *chain_level(const GhostDir *g, size_t n, size_t i)
{
	return i == n - 1 ? g : g->removed_folders[n - 2 - i];
}

/* Where the last @n names of @path begin (the '/' before them); NULL when
 * it has fewer. */
static const char *outermost(const char *path, size_t n)
{
	const char *outer = path + strlen(path);

	for (size_t i = 0; i < n; i++) {
		do {
			if (outer == path)
				return NULL;
		} while (*--outer != '/');
	}
	return outer;
}

/* Makes the outermost removed level of @path (the last @n names, the
 * first at @outer) in c->made, beside its old name when that is taken now,
 * and every level below it; each opened into c->fds when @open_levels.
 * c->made_levels of them to remove on failure. */
static int make_chain(struct chain *c, const char *path, const char *outer, size_t n,
		      bool open_levels)
{
	const char *rest = strchr(outer + 1, '/');
	int name_len = (int)((rest ? rest : outer + strlen(outer)) - outer);

	for (int attempt = 0; attempt < GHOST_NAMES; attempt++) {
		int len = attempt ? snprintf(c->made, sizeof(c->made), "%.*s%.*s.cryo-ghost-%d",
					     (int)(outer - path), path, name_len, outer, attempt) :
				    snprintf(c->made, sizeof(c->made), "%.*s%.*s",
					     (int)(outer - path), path, name_len, outer);

		c->ends[0] = (size_t)len;
		if (!mkdir(c->made, 0700))
			break;
		if (errno != EEXIST)
			return pr_errno_ret("restore: %s %s: cannot make the removed directory "
					    "\"%s\" again", c->who, c->what, c->made);
		if (attempt + 1 == GHOST_NAMES) {
			pr_err("restore: %s %s: no free name beside \"%s\" to make it again",
			       c->who, c->what, c->made);
			return -EEXIST;
		}
	}
	snprintf(c->made + c->ends[0], sizeof(c->made) - c->ends[0], "%s", rest ? rest : "");
	for (size_t i = 0; i < n; i++) {
		char keep;

		if (i) {
			c->ends[i] = (size_t)(strchrnul(c->made + c->ends[i - 1] + 1, '/') - c->made);
			keep = c->made[c->ends[i]];
			c->made[c->ends[i]] = '\0';
			if (mkdir(c->made, 0700))
				return pr_errno_ret("restore: %s %s: cannot make the removed "
						    "directory \"%s\" again", c->who, c->what,
						    c->made);
			c->made[c->ends[i]] = keep;
		}
		c->made_levels = i + 1;
		if (!open_levels)
			continue;
		keep = c->made[c->ends[i]];
		c->made[c->ends[i]] = '\0';
		c->fds[i] = open(c->made, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		c->made[c->ends[i]] = keep;
		if (c->fds[i] < 0)
			return pr_errno_ret("restore: %s %s: cannot open \"%.*s\", made again",
					    c->who, c->what, (int)c->ends[i], c->made);
	}
	return 0;
}

/* Gives level @i of the chain its times (before its owner: futimens needs
 * to own it), owner and mode, then removes it: its folder's mtime is set
 * after, as the removal moved it. */
static int finish_level(const struct chain *c, const GhostDir *g, int fd)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (g->has_atime_ns)
		times[0] = (struct timespec){ (time_t)(g->atime_ns / NSEC_PER_SEC),
					      (long)(g->atime_ns % NSEC_PER_SEC) };
	if (g->has_mtime_ns)
		times[1] = (struct timespec){ (time_t)(g->mtime_ns / NSEC_PER_SEC),
					      (long)(g->mtime_ns % NSEC_PER_SEC) };
	if (futimens(fd, times) || fchown(fd, g->uid, g->gid) || fchmod(fd, g->mode & 07777))
		return pr_errno_ret("restore: %s %s: cannot give the removed directory \"%s\" "
				    "made again its times, owner %u:%u and mode %o", c->who,
				    c->what, c->made, g->uid, g->gid, g->mode);
	if (rmdir(c->made))
		return pr_errno_ret("restore: %s %s: cannot remove \"%s\" again", c->who, c->what,
				    c->made);
	return 0;
}

int ghost_dir_make(const char *who, const char *what, const char *path, const GhostDir *g,
		   int *fd)
{
	size_t n = g->n_removed_folders + 1;
	struct chain c = { .who = who, .what = what };
	const char *outer = outermost(path, n);
	int ret;

	/* Validation saw n names in the path, each after a '/'. */
	if (n > GHOST_DIR_MAX_FOLDERS + 1 || !outer)
		return -EINVAL;
	ret = make_chain(&c, path, outer, n, true);
	for (size_t i = c.made_levels; i-- > 0;) {
		c.made[c.ends[i]] = '\0';
		if (!ret)
			ret = finish_level(&c, chain_level(g, n, i), c.fds[i]);
		else
			rmdir(c.made);
		if (i < n - 1 || ret)
			close(c.fds[i]);
	}
	if (!ret)
		*fd = c.fds[n - 1];
	return ret;
}

int ghost_file_folders_make(const char *who, const char *what, const char *path,
			    unsigned int levels, char **made)
{
	struct chain c = { .who = who, .what = what };
	const char *name = strrchr(path, '/'), *outer;
	char *folder;
	int ret;

	if (!name || levels > GHOST_DIR_MAX_FOLDERS)
		return -EINVAL;
	folder = strndup(path, (size_t)(name - path));
	if (!folder)
		return -ENOMEM;
	outer = outermost(folder, levels);
	ret = outer ? make_chain(&c, folder, outer, levels, false) : -EINVAL;
	free(folder);
	if (!ret && asprintf(made, "%s%s", c.made, name) < 0) {
		*made = NULL;
		ret = -ENOMEM;
	}
	for (size_t i = c.made_levels; ret && i-- > 0;) {
		c.made[c.ends[i]] = '\0';
		rmdir(c.made);
	}
	return ret;
}

int ghost_file_folders_remove(const char *who, const char *what, char *made,
			      unsigned int levels)
{
	int ret = 0;

	for (unsigned int i = 0; i < levels; i++) {
		char *slash = strrchr(made, '/');

		if (!slash)
			return -EINVAL;
		*slash = '\0';
		if (rmdir(made) && !ret)
			ret = pr_errno_ret("restore: %s %s: cannot remove \"%s\" again", who, what,
					   made);
	}
	return ret;
}

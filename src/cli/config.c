/* criu's configuration files for the command line: each line of a file is
 * an option without its leading dashes, and its argument ("tcp-established",
 * "log-file /var/log/cryo.log"); '#' starts a comment. Read, in order,
 * /etc/criu/default.conf, $HOME/.criu/default.conf (both skipped with
 * --no-default-config), $CRIU_CONFIG_FILE and each --config FILE, and put
 * before the command line's own words, so that the command line wins. Not
 * here: the options themselves (options.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

#define CONFIG_MAX_WORDS 4096

struct words {
	char **v;
	int n;
};

static int push(struct words *w, char *word)
{
	if (w->n >= CONFIG_MAX_WORDS) {
		free(word);
		fprintf(stderr, "cryo: configuration files hold more than %d words\n",
			CONFIG_MAX_WORDS);
		return -E2BIG;
	}
	w->v[w->n++] = word;
	return 0;
}

/* One line: "name [value]" becomes "--name" and "value". */
static int parse_line(const char *path, int lineno, char *line, struct words *w)
{
	char *name, *value, *word;
	int ret;

	line[strcspn(line, "#\n")] = '\0';
	name = strtok(line, " \t=");
	if (!name)
		return 0;
	value = strtok(NULL, "\n");
	if (asprintf(&word, "--%s", name) < 0)
		return -ENOMEM;
	ret = push(w, word);
	if (ret || !value)
		return ret;
	value += strspn(value, " \t\"");
	value[strcspn(value, "\"")] = '\0';
	for (size_t len = strlen(value); len && (value[len - 1] == ' ' || value[len - 1] == '\t');)
		value[--len] = '\0';
	if (!*value) {
		fprintf(stderr, "cryo: %s:%d: option %s has an empty value\n", path, lineno, name);
		return -EINVAL;
	}
	word = strdup(value);
	return word ? push(w, word) : -ENOMEM;
}

/* @must: a file the user named, which must exist. */
static int read_config(const char *path, bool must, struct words *w)
{
	char line[4096];
	int lineno = 0, ret = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		/* A default file that is absent, or not the caller's to read
		 * (root's home, for a user), is no configuration. */
		if (!must && (errno == ENOENT || errno == EACCES || errno == ENOTDIR))
			return 0;
		fprintf(stderr, "cryo: cannot read the configuration file %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	while (!ret && fgets(line, sizeof(line), f))
		ret = parse_line(path, ++lineno, line, w);
	fclose(f);
	return ret;
}

int config_expand(int argc, char **argv, int *out_argc, char ***out_argv)
{
	/* Reachable for the process's life: getopt keeps pointers into it. A
	 * new call (the unit tests parse many times) frees the last one's. */
	static struct words w;
	static int nr_config;
	bool defaults = true;
	const char *env = getenv("CRIU_CONFIG_FILE");
	int ret = 0;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--no-default-config"))
			defaults = false;
	for (int i = 1; i <= nr_config; i++)
		free(w.v[i]);
	free(w.v);
	w.n = nr_config = 0;
	w.v = calloc(CONFIG_MAX_WORDS + (size_t)argc + 1, sizeof(char *));
	if (!w.v)
		return -ENOMEM;
	w.v[w.n++] = argv[0];
	if (defaults) {
		const char *home = getenv("HOME");
		char path[4096];

		ret = read_config("/etc/criu/default.conf", false, &w);
		if (!ret && home && snprintf(path, sizeof(path), "%s/.criu/default.conf", home) <
					    (int)sizeof(path))
			ret = read_config(path, false, &w);
	}
	if (!ret && env && *env)
		ret = read_config(env, true, &w);
	for (int i = 1; !ret && i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "cryo: --config needs a file\n");
				return -EINVAL;
			}
			ret = read_config(argv[++i], true, &w);
		} else if (!strncmp(argv[i], "--config=", 9)) {
			ret = read_config(argv[i] + 9, true, &w);
		}
	}
	nr_config = w.n - 1;
	if (ret)
		return ret;
	for (int i = 1; i < argc; i++)
		w.v[w.n++] = argv[i];
	w.v[w.n] = NULL;
	*out_argc = w.n;
	*out_argv = w.v;
	return 0;
}

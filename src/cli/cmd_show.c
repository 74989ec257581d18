/* `cryo show`: prints image files, or whole image directories, as JSON.
 * Each file is read through the images library, so everything shown has
 * passed the same checks as at restore; nothing is printed unless every
 * file named is valid. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "images/json.h"
#include "images/pages.h"

static void indent(FILE *out, int depth)
{
	fprintf(out, "%*s", depth * 2, "");
}

/* A raw pages file (the first or the second) is described, not dumped. */
static int show_pages(FILE *out, const struct image_dir *dir, int id, uint32_t file)
{
	uint64_t size;
	int ret;

	ret = pages_file_size(dir, id, file, &size);
	if (ret)
		return ret;
	fprintf(out, "{\"kind\": \"%s\", \"size\": %" PRIu64 ", \"pages\": %" PRIu64 "}",
		file ? "pages2" : "pages", size, size / IMG_PAGE_SIZE);
	return 0;
}

/* A raw file of another kind (a tmpfs archive): its size. */
static int show_raw(FILE *out, const struct image_dir *dir, const struct image_kind_desc *kind,
		    int id)
{
	char name[64];
	struct stat st;
	int ret = image_file_name(kind->kind, id, name, sizeof(name));

	if (ret)
		return ret;
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return pr_errno_ret("show: cannot stat %s", name);
	if (image_check_regular(name, st.st_mode))
		return -EINVAL;
	fprintf(out, "{\"kind\": \"%s\", \"size\": %lld}", kind->name, (long long)st.st_size);
	return 0;
}

/* Shows the file of @kind and @id in @dir. */
static int show_named(FILE *out, const struct image_dir *dir,
		      const struct image_kind_desc *kind, int id, int depth)
{
	struct image *img;
	int ret;

	if (kind->kind == IMG_PAGES || kind->kind == IMG_PAGES2)
		return show_pages(out, dir, id, kind->kind == IMG_PAGES2);
	if (!kind->desc)
		return show_raw(out, dir, kind, id);
	ret = image_read(dir, kind->kind, id, &img);
	if (ret)
		return ret;
	json_print_image(out, img, depth);
	image_free(img);
	return 0;
}

static int show_file(FILE *out, const char *path, int depth)
{
	_cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
	const struct image_kind_desc *kind;
	struct image_dir *dir;
	struct image *img;
	int ret, id;

	if (!dir_copy || !base_copy) {
		pr_err("show: out of memory");
		return -ENOMEM;
	}
	kind = image_kind_match(basename(base_copy), &id);
	/* Under its own name a file is checked with the files beside it;
	 * under any other name, on its own, by the kind in its header. */
	if (kind) {
		ret = image_dir_open(dirname(dir_copy), &dir);
		if (ret)
			return ret;
		ret = show_named(out, dir, kind, id, depth);
		image_dir_close(dir);
		return ret;
	}
	ret = image_read_file(path, &img);
	if (ret)
		return ret;
	json_print_image(out, img, depth);
	image_free(img);
	return 0;
}

static int show_dir(FILE *out, const char *path, int depth)
{
	struct dirent **entries = NULL;
	struct image_dir *dir;
	bool first = true;
	int ret, n;

	ret = image_dir_open(path, &dir);
	if (ret)
		return ret;
	n = scandirat(dir->fd, ".", &entries, NULL, alphasort);
	if (n < 0) {
		ret = pr_errno_ret("cannot list %s", path);
		goto out;
	}
	fputc('{', out);
	for (int i = 0; i < n && !ret; i++) {
		const char *name = entries[i]->d_name;
		const struct image_kind_desc *kind;
		int id;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		kind = image_kind_match(name, &id);
		if (!kind) {
			pr_warn("%s/%s: not an image file, not shown", path, name);
			continue;
		}
		fputs(first ? "\n" : ",\n", out);
		first = false;
		indent(out, depth + 1);
		json_print_string(out, name, strlen(name));
		fputs(": ", out);
		ret = show_named(out, dir, kind, id, depth + 1);
	}
	if (!first) {
		fputc('\n', out);
		indent(out, depth);
	}
	fputc('}', out);
	for (int i = 0; i < n; i++)
		free(entries[i]);
	free(entries);
out:
	image_dir_close(dir);
	return ret;
}

static int show_path(FILE *out, const char *path, int depth)
{
	struct stat st;

	if (stat(path, &st))
		return pr_errno_ret("cannot show %s", path);
	if (S_ISDIR(st.st_mode))
		return show_dir(out, path, depth);
	return show_file(out, path, depth);
}

/* Words after the command are relative to -D when it is given. */
static char *arg_path(const struct cryo_opts *opts, const char *arg)
{
	char *path;

	if (!opts->images_dir || arg[0] == '/')
		return strdup(arg);
	if (asprintf(&path, "%s/%s", opts->images_dir, arg) < 0)
		return NULL;
	return path;
}

/* One path prints its content; several print an object keyed by path. */
static int show_all(FILE *out, const struct cryo_opts *opts)
{
	int ret = 0;

	if (opts->nargs == 0)
		return show_path(out, opts->images_dir, 0);
	if (opts->nargs > 1)
		fputc('{', out);
	for (int i = 0; i < opts->nargs && !ret; i++) {
		_cleanup_free_ char *path = arg_path(opts, opts->args[i]);

		if (!path) {
			pr_err("show: out of memory");
			return -ENOMEM;
		}
		if (opts->nargs > 1) {
			fputs(i ? ",\n  " : "\n  ", out);
			json_print_string(out, opts->args[i], strlen(opts->args[i]));
			fputs(": ", out);
		}
		ret = show_path(out, path, opts->nargs > 1);
	}
	if (opts->nargs > 1)
		fputs("\n}", out);
	return ret;
}

int cmd_show(const struct cryo_opts *opts)
{
	_cleanup_free_ char *json = NULL;
	size_t len;
	FILE *out;
	int ret;

	if (!opts->nargs && !opts->images_dir) {
		pr_err("show: name image files or directories, or an image directory with -D");
		return 1;
	}
	/* Collected first, so a bad file late in a directory prints no
	 * half-finished JSON. */
	out = open_memstream(&json, &len);
	if (!out) {
		pr_err("show: out of memory");
		return 1;
	}
	ret = show_all(out, opts);
	fputc('\n', out);
	if (fclose(out) && !ret) {
		pr_err("show: out of memory");
		return 1;
	}
	if (ret)
		return 1;
	if (fwrite(json, 1, len, stdout) != len || fflush(stdout)) {
		pr_err("show: cannot write the output: %s", strerror(errno));
		return 1;
	}
	return 0;
}

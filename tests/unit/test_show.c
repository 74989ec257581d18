/* Unit tests of `cryo show` and the generic protobuf-to-JSON printer: every
 * field type prints as expected, output is valid JSON (checked with
 * python3's strict parser where it exists) with the right values, and bad
 * images make show fail with a message naming the file. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_images_util.h"
#include "cli/commands.h"
#include "images/json.h"
#include "images/pages.h"
#include "images/proto/fds.pb-c.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/files.pb-c.h"

/* ---- a hand-made schema with a field of every type ------------------------
 * The image schemas use few types; this one, built the way protoc-c builds
 * descriptors, covers the rest. */

struct all_types {
	ProtobufCMessage base;
	int32_t i32, s32, sf32;
	int64_t i64, s64, sf64;
	uint32_t u32, f32;
	uint64_t u64, f64;
	float fl;
	double db;
	protobuf_c_boolean b;
	int color;
	char *str;
	ProtobufCBinaryData bytes;
	ProtobufCMessage *child;
	protobuf_c_boolean has_opt;
	uint32_t opt;
	char *opt_str;
	size_t n_rep;
	int32_t *rep;
	size_t n_rep_str;
	char **rep_str;
	size_t n_rep_msg;
	ProtobufCMessage **rep_msg;
	uint32_t choice_case;
	uint32_t choice_a;
};

static const ProtobufCEnumValue color_values[] = {
	{ "RED", "RED", 1 },
	{ "GREEN", "GREEN", 2 },
};

static const ProtobufCEnumDescriptor color_desc = {
	PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC, "test.Color", "Color", "Color", "test",
	ARRAY_SIZE(color_values), color_values, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL,
};

extern const ProtobufCMessageDescriptor all_types_desc;

#define FIELD(name, id, label, type, quant, desc)                                      \
	{ #name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, quant,          \
	  offsetof(struct all_types, name), desc, NULL, 0, 0, NULL, NULL }
#define REQ(name, id, type) FIELD(name, id, REQUIRED, type, 0, NULL)

static const ProtobufCFieldDescriptor all_types_fields[] = {
	REQ(i32, 1, INT32),
	REQ(s32, 2, SINT32),
	REQ(sf32, 3, SFIXED32),
	REQ(i64, 4, INT64),
	REQ(s64, 5, SINT64),
	REQ(sf64, 6, SFIXED64),
	REQ(u32, 7, UINT32),
	REQ(f32, 8, FIXED32),
	REQ(u64, 9, UINT64),
	REQ(f64, 10, FIXED64),
	REQ(fl, 11, FLOAT),
	REQ(db, 12, DOUBLE),
	REQ(b, 13, BOOL),
	FIELD(color, 14, REQUIRED, ENUM, 0, &color_desc),
	REQ(str, 15, STRING),
	REQ(bytes, 16, BYTES),
	FIELD(child, 17, OPTIONAL, MESSAGE, 0, &all_types_desc),
	FIELD(opt, 18, OPTIONAL, UINT32, offsetof(struct all_types, has_opt), NULL),
	FIELD(opt_str, 19, OPTIONAL, STRING, 0, NULL),
	FIELD(rep, 20, REPEATED, INT32, offsetof(struct all_types, n_rep), NULL),
	FIELD(rep_str, 21, REPEATED, STRING, offsetof(struct all_types, n_rep_str), NULL),
	FIELD(rep_msg, 22, REPEATED, MESSAGE, offsetof(struct all_types, n_rep_msg),
	      &all_types_desc),
	{ "choice_a", 23, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_UINT32,
	  offsetof(struct all_types, choice_case), offsetof(struct all_types, choice_a), NULL,
	  NULL, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL },
};

const ProtobufCMessageDescriptor all_types_desc = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.AllTypes", "AllTypes", "AllTypes", "test",
	sizeof(struct all_types), ARRAY_SIZE(all_types_fields), all_types_fields, NULL, 0, NULL,
	NULL, NULL, NULL, NULL,
};

/* What @print writes, as a string; the caller frees it. */
static char *printed(void (*print)(FILE *, const void *), const void *arg)
{
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	print(out, arg);
	fclose(out);
	return text;
}

static void print_msg(FILE *out, const void *msg)
{
	json_print_message(out, msg);
}

static void print_str(FILE *out, const void *s)
{
	json_print_string(out, s, strlen(s));
}

TEST(json_prints_every_field_type)
{
	struct all_types child = { .base = { &all_types_desc, 0, NULL }, .str = "", .color = 9 };
	int32_t rep[] = { 1, -2 };
	char *rep_str[] = { "x", "y" };
	uint8_t bytes[] = { 0x00, 0xff, 0x10 };
	struct all_types msg = {
		.base = { &all_types_desc, 0, NULL },
		.i32 = -5, .s32 = INT32_MIN, .sf32 = 7,
		.i64 = INT64_MIN, .s64 = -1, .sf64 = 123,
		.u32 = UINT32_MAX, .f32 = 9, .u64 = UINT64_MAX, .f64 = 1ull << 63,
		.fl = 0.5f, .db = 0.1, .b = 1, .color = 2,
		.str = "a\"b\\c\n\x01\xc3\xa9",
		.bytes = { sizeof(bytes), bytes },
		.child = &child.base,
		.has_opt = 1, .opt = 3,
		.n_rep = 2, .rep = rep, .n_rep_str = 2, .rep_str = rep_str,
		.choice_case = 23, .choice_a = 4,
	};
	_cleanup_free_ char *text = printed(print_msg, &msg);
	const char *want =
		"{\"i32\": -5, \"s32\": -2147483648, \"sf32\": 7, \"i64\": -9223372036854775808, "
		"\"s64\": -1, \"sf64\": 123, \"u32\": 4294967295, \"f32\": 9, "
		"\"u64\": 18446744073709551615, \"f64\": 9223372036854775808, \"fl\": 0.5, "
		"\"db\": 0.10000000000000001, \"b\": true, \"color\": \"GREEN\", "
		"\"str\": \"a\\\"b\\\\c\\n\\u0001\xc3\xa9\", \"bytes\": \"00ff10\", "
		"\"child\": {\"i32\": 0, \"s32\": 0, \"sf32\": 0, \"i64\": 0, \"s64\": 0, \"sf64\": 0, "
		"\"u32\": 0, \"f32\": 0, \"u64\": 0, \"f64\": 0, \"fl\": 0, \"db\": 0, \"b\": false, "
		"\"color\": 9, \"str\": \"\", \"bytes\": \"\", \"rep\": [], \"rep_str\": [], "
		"\"rep_msg\": []}, "
		"\"opt\": 3, \"rep\": [1, -2], \"rep_str\": [\"x\", \"y\"], \"rep_msg\": [], "
		"\"choice_a\": 4}";

	CHECK(text && !strcmp(text, want), "\n got: %s\nwant: %s", text, want);
}

TEST(json_non_finite_numbers_are_strings)
{
	struct all_types msg = {
		.base = { &all_types_desc, 0, NULL }, .str = "", .fl = NAN, .db = -INFINITY,
	};
	_cleanup_free_ char *text = printed(print_msg, &msg);

	CHECK(text && strstr(text, "\"fl\": \"nan\", \"db\": \"-inf\""), "got %s", text);
	msg.db = INFINITY;
	free(text);
	text = printed(print_msg, &msg);
	CHECK(text && strstr(text, "\"db\": \"inf\""), "got %s", text);
}

TEST(json_strings_are_valid_utf8)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "tab\there\x1f\x7f", "\"tab\\there\\u001f\x7f\"" },
		{ "\xf0\x9f\x98\x80 ok", "\"\xf0\x9f\x98\x80 ok\"" },	/* 4-byte sequence */
		{ "\x80", "\"\\ufffd\"" },				/* lone continuation */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },			/* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },		/* surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },	/* past U+10FFFF */
		{ "a\xe2\x82", "\"a\\ufffd\\ufffd\"" },			/* cut short */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *text = printed(print_str, cases[i].in);

		CHECK(text && !strcmp(text, cases[i].out), "case %zu: got %s", i, text);
	}
}

/* ---- cryo show ------------------------------------------------------------- */

/* Runs `cryo show` in this process; *@out and *@err get what it printed. */
static int run_show(const char *dir, char **args, int nargs, char **out, char **err)
{
	struct cryo_opts opts = {
		.command = "show", .images_dir = dir, .args = args, .nargs = nargs,
	};
	struct capture out_cap, err_cap;
	int status;

	capture_begin(&out_cap, 1);
	capture_begin(&err_cap, 2);
	status = cmd_show(&opts);
	*err = capture_end(&err_cap);
	*out = capture_end(&out_cap);
	return status;
}

/* Checks @json with python3's strict parser and the assertions in @script,
 * which sees the document as `d`. Returns 0, 1 on failure (after printing
 * why), or 77 when there is no python3. */
static int python_check(const char *json, const char *script)
{
	static const char prelude[] =
		"import json, sys\n"
		"def bad(c): sys.exit('not JSON: ' + c)\n"
		"d = json.load(open(sys.argv[1], encoding='utf-8'), parse_constant=bad)\n";
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL, *code = NULL;
	int status;
	pid_t pid;

	if (!tmp || !(path = path_join(tmp, "out.json")) || write_file(path, json, strlen(json)) ||
	    asprintf(&code, "%s%s", prelude, script) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("python3", "python3", "-c", code, path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	if (WEXITSTATUS(status) == 127)
		return 77;
	return WEXITSTATUS(status) ? 1 : 0;
}

#define CHECK_JSON(json, script)                                                    \
	do {                                                                        \
		int py_ = python_check(json, script);                               \
                                                                                    \
		if (py_ == 77) {                                                    \
			harness_skip("python3 is not installed to parse the JSON"); \
			return;                                                     \
		}                                                                   \
		CHECK(py_ == 0, "python3 refused or disagreed with:\n%s", json);    \
	} while (0)

/* The directory every show test starts from: inventory of root 42, a pages
 * store for 42, and a file that is no image. */
static char *sample_dir(void)
{
	_cleanup_free_ char *log = NULL;
	struct image_dir *dir;
	char *tmp = make_temp_dir();
	int ret;

	if (!tmp || image_dir_create(tmp, &dir)) {
		remove_tree(tmp);
		return NULL;
	}
	ret = write_inventory(dir, 42);
	if (!ret)
		ret = write_sample_pages(dir, 42);
	image_dir_close(dir);
	log = path_join(tmp, "dump.log");
	if (ret || !log || write_file(log, "log\n", 4)) {
		remove_tree(tmp);
		return NULL;
	}
	return tmp;
}

TEST(show_directory_prints_every_image)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *out = NULL, *err = NULL;
	int status;

	CHECK(tmp, "sample directory");
	status = run_show(tmp, NULL, 0, &out, &err);
	CHECK(status == 0, "status %d: %s", status, err);
	CHECK(strstr(err, "dump.log: not an image file, not shown"), "stderr: %s", err);
	CHECK_JSON(out,
		   "assert sorted(d) == ['inventory.img', 'pagemap-42.img', 'pages-42.img'], d\n"
		   "inv = d['inventory.img']\n"
		   "assert inv['kind'] == 'inventory' and inv['version'] == 2, inv\n"
		   "assert len(inv['dump_id']) == 32 and inv['dump_id'] == d['pagemap-42.img']['dump_id'], inv\n"
		   "assert inv['records'] == [{'format_version': 2, 'cryo_version': '0.1-test',\n"
		   "    'root_pid': 42, 'created': 1700000000, 'page_size': 4096, 'arch': 'x86_64',\n"
		   "    'kernel_release': '6.1.0-test', 'files': [],\n"
		   "    'locked_connections': []}], inv\n"
		   "pm = d['pagemap-42.img']\n"
		   "assert pm['kind'] == 'pagemap' and pm['version'] == 2, pm\n"
		   "want = [{'vaddr': 0x400000, 'nr_pages': 2, 'state': 'PRESENT', 'file_off': 0},\n"
		   "        {'vaddr': 0x402000, 'nr_pages': 3, 'state': 'ZERO'},\n"
		   "        {'vaddr': 0x405000, 'nr_pages': 1, 'state': 'PRESENT', 'file_off': 8192},\n"
		   "        {'vaddr': 0x408000, 'nr_pages': 2, 'state': 'PRESENT', 'file_off': 12288}]\n"
		   "assert pm['records'] == want, pm\n"
		   "assert d['pages-42.img'] == {'kind': 'pages', 'size': 20480, 'pages': 5}\n");
}

TEST(show_files_by_path)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *inv_path = NULL, *one = NULL, *one_err = NULL, *two = NULL,
			    *two_err = NULL;
	char *inv_arg[1], *both[] = { "pages-42.img", "inventory.img" };
	int status;

	CHECK(tmp && (inv_path = path_join(tmp, "inventory.img")), "sample directory");
	/* One path prints its content alone. */
	inv_arg[0] = inv_path;
	status = run_show(NULL, inv_arg, 1, &one, &one_err);
	CHECK(status == 0, "status %d: %s", status, one_err);
	CHECK_JSON(one, "assert d['kind'] == 'inventory' and d['records'][0]['root_pid'] == 42, d\n");
	/* Several print an object keyed by path, relative to -D. */
	status = run_show(tmp, both, 2, &two, &two_err);
	CHECK(status == 0, "status %d: %s", status, two_err);
	CHECK_JSON(two, "assert list(d) == ['pages-42.img', 'inventory.img'], d\n"
			"assert d['pages-42.img']['pages'] == 5, d\n"
			"assert d['inventory.img']['records'][0]['arch'] == 'x86_64', d\n");
}

/* Every file kind prints from its schema: a pidfd, of a live task and of a
 * reaped process (pid -1, a sint32). */
TEST(show_prints_pidfd_objects)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL, *out = NULL, *err = NULL;
	PidfdFile live = PIDFD_FILE__INIT, reaped = PIDFD_FILE__INIT;
	FileEntry e[2] = { FILE_ENTRY__INIT, FILE_ENTRY__INIT };
	struct image_writer *w = NULL;
	struct image_dir *dir = NULL;
	int status, ret;

	CHECK(tmp && !image_dir_create(tmp, &dir), "image directory");
	live.pid = 42;
	reaped.pid = -1;
	for (int i = 0; i < 2; i++) {
		e[i].id = i + 1;
		e[i].kind = FILE_ENTRY__KIND__PIDFD;
		e[i].flags = i ? 04202 : 02;
		e[i].pidfd = i ? &reaped : &live;
	}
	ret = image_open_write(dir, IMG_FILES, 0, &w);
	for (int i = 0; i < 2 && !ret; i++)
		ret = image_write_record(w, &e[i].base);
	ret = ret ? (image_abort(w), ret) : image_finish(w);
	image_dir_close(dir);
	CHECK(!ret, "cannot write files.img");
	path = path_join(tmp, "files.img");
	status = run_show(NULL, &path, 1, &out, &err);
	CHECK(status == 0, "status %d: %s", status, err);
	CHECK_JSON(out, "r = d['records']\n"
			"assert d['kind'] == 'files' and len(r) == 2, d\n"
			"assert r[0]['kind'] == 'PIDFD' and r[0]['pidfd'] == {'pid': 42}, r\n"
			"assert r[1]['flags'] == 0o4202 and r[1]['pidfd'] == {'pid': -1}, r\n");
}

TEST(show_file_under_another_name_uses_its_header)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *from = NULL, *to = NULL, *out = NULL, *err = NULL;
	int status;

	CHECK(tmp, "sample directory");
	from = path_join(tmp, "pagemap-42.img");
	to = path_join(tmp, "copy.bin");
	CHECK(from && to && !rename(from, to), "rename");
	status = run_show(NULL, &to, 1, &out, &err);
	CHECK(status == 0, "status %d: %s", status, err);
	CHECK_JSON(out, "assert d['kind'] == 'pagemap' and len(d['records']) == 4, d\n");
}

TEST(show_escapes_strings_from_the_image)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *out = NULL, *err = NULL;
	Inventory inv = INVENTORY__INIT;
	struct image_writer *w;
	int status;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	inv.format_version = IMG_FORMAT_VERSION;
	inv.cryo_version = "v\"1\"\\\n\xff\xc3\xa9";
	inv.root_pid = 1;
	inv.page_size = IMG_PAGE_SIZE;
	inv.arch = "x86_64";
	CHECK(!image_open_write(dir, IMG_INVENTORY, 0, &w), "open");
	image_write_record(w, &inv.base);
	CHECK(!image_finish(w), "write");
	status = run_show(tmp, NULL, 0, &out, &err);
	CHECK(status == 0, "status %d: %s", status, err);
	CHECK_JSON(out, "r = d['inventory.img']['records'][0]\n"
			"assert r['cryo_version'] == 'v\"1\"\\\\\\n\\ufffd\\u00e9', r\n"
			"assert 'kernel_release' not in r, r\n");
}

/* `cryo show` must fail, print nothing on stdout, and name @what on stderr. */
static const char *show_refuses(const char *dir, char **args, int nargs, const char *what)
{
	static char why[1024];
	char *out, *err;
	int status = run_show(dir, args, nargs, &out, &err);
	bool ok = status == 1 && out && !out[0] && err && strstr(err, what);

	snprintf(why, sizeof(why), "status %d, stdout \"%.200s\", stderr \"%.400s\"", status,
		 out ? out : "", err ? err : "");
	free(out);
	free(err);
	return ok ? NULL : why;
}

TEST(show_refuses_a_corrupt_image_and_prints_nothing)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *path = NULL, *want = NULL;
	_cleanup_free_ unsigned char *bytes = NULL;
	const char *why;
	size_t len;

	CHECK(tmp && (path = path_join(tmp, "pagemap-42.img")), "sample directory");
	CHECK((bytes = read_file(path, &len)), "read");
	bytes[len - 12] ^= 0x10;
	CHECK(!write_file(path, bytes, len), "write");
	CHECK(asprintf(&want, "%s: offset ", path) > 0, "memory");
	/* The inventory before it is valid, yet no half document is printed. */
	why = show_refuses(tmp, NULL, 0, want);
	CHECK(!why, "%s", why);
	why = show_refuses(NULL, &path, 1, "does not match its contents");
	CHECK(!why, "%s", why);
}

/* Writes @n records of @kind @id into @tmp. */
static int write_records(const char *tmp, enum image_kind kind, int id,
			 const ProtobufCMessage *const *msgs, size_t n)
{
	struct image_writer *w = NULL;
	struct image_dir *dir;
	int ret = image_dir_create(tmp, &dir);

	if (!ret)
		ret = image_open_write(dir, kind, id, &w);
	for (size_t i = 0; i < n && !ret; i++)
		ret = image_write_record(w, msgs[i]);
	if (w)
		ret = ret ? (image_abort(w), ret) : image_finish(w);
	image_dir_close(dir);
	return ret;
}

/* The checks of the files part's images run under show, alone or in a
 * directory (they were once left out of the registry). */
TEST(show_runs_the_checks_of_fds_files_and_file_data)
{
	_cleanup_tree_ char *fds_dir = make_temp_dir(), *files_dir = make_temp_dir(),
			    *data_dir = make_temp_dir();
	_cleanup_free_ char *fds_path = NULL;
	FdEntry fd[2] = { FD_ENTRY__INIT, FD_ENTRY__INIT };
	FileEntry fe = FILE_ENTRY__INIT;
	PidfdFile pidfd = PIDFD_FILE__INIT;
	FileChunk run[2] = { FILE_CHUNK__INIT, FILE_CHUNK__INIT };
	static uint8_t bytes[8];
	const ProtobufCMessage *fds_msgs[] = { &fd[0].base, &fd[1].base };
	const ProtobufCMessage *files_msgs[] = { &fe.base };
	const ProtobufCMessage *run_msgs[] = { &run[0].base, &run[1].base };
	const char *why;

	CHECK(fds_dir && files_dir && data_dir, "scratch directories");
	fd[0].fd = 5;
	fd[1].fd = 3;
	fd[0].file_id = fd[1].file_id = 1;
	CHECK(!write_records(fds_dir, IMG_FDS, 42, fds_msgs, 2), "fds-42.img");
	fds_path = path_join(fds_dir, "fds-42.img");
	why = show_refuses(NULL, &fds_path, 1, "fd 3: fds must be unique and ascending");
	CHECK(!why, "%s", why);
	why = show_refuses(fds_dir, NULL, 0, "fd 3: fds must be unique and ascending");
	CHECK(!why, "%s", why);

	fe.id = 0;
	fe.kind = FILE_ENTRY__KIND__PIDFD;
	fe.flags = 02;
	fe.pidfd = &pidfd;
	CHECK(!write_records(files_dir, IMG_FILES, 0, files_msgs, 1), "files.img");
	why = show_refuses(files_dir, NULL, 0, "ids must be above 0 and ascending");
	CHECK(!why, "%s", why);

	for (int i = 0; i < 2; i++) {
		run[i].offset = i * 4;
		run[i].data.data = bytes;
		run[i].data.len = sizeof(bytes);
	}
	CHECK(!write_records(data_dir, IMG_FILE_DATA, 7, run_msgs, 2), "file-data-7.img");
	why = show_refuses(data_dir, NULL, 0, "runs must be sorted and not overlap");
	CHECK(!why, "%s", why);
}

TEST(show_refuses_a_file_of_the_wrong_kind_for_its_name)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *from = NULL, *to = NULL;
	const char *why;

	CHECK(tmp, "sample directory");
	from = path_join(tmp, "inventory.img");
	to = path_join(tmp, "pagemap-42.img");
	CHECK(from && to && !rename(from, to), "rename");
	why = show_refuses(NULL, &to, 1, "offset 12: the header says kind 'inventory', expected 'pagemap'");
	CHECK(!why, "%s", why);
}

TEST(show_refuses_a_pagemap_beyond_its_pages_file)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *pages = NULL;
	const char *why;

	CHECK(tmp && (pages = path_join(tmp, "pages-42.img")), "sample directory");
	CHECK(!truncate(pages, 4 * IMG_PAGE_SIZE), "truncate");
	why = show_refuses(tmp, NULL, 0, "past the end of pages-42.img (16384 bytes)");
	CHECK(!why, "%s", why);
	CHECK(!truncate(pages, 100), "truncate");
	why = show_refuses(tmp, &pages, 1, "pages-42.img: size 100 is not a whole number");
	CHECK(!why, "%s", why);
}

TEST(show_needs_something_to_show)
{
	char *missing = "/nonexistent/cryo-images";
	const char *why;

	why = show_refuses(NULL, NULL, 0, "show: name image files or directories");
	CHECK(!why, "%s", why);
	why = show_refuses(NULL, &missing, 1, "cannot show /nonexistent/cryo-images: No such file");
	CHECK(!why, "%s", why);
}

/* ---- the cryo binary --------------------------------------------------------- */

/* $CRYO, or build/cryo found from this test's own path. */
static char *cryo_binary(void)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t len;

	if (getenv("CRYO"))
		return strdup(getenv("CRYO"));
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return NULL;
	self[len] = '\0';
	/* build/tests/unit/test_show -> build/cryo */
	for (int i = 0; i < 3 && (slash = strrchr(self, '/')); i++)
		*slash = '\0';
	if (asprintf(&path, "%s/cryo", self) < 0)
		return NULL;
	return path;
}

/* Runs `cryo show ARG`; stdout into *@out, stderr into *@err. */
static int exec_show(const char *cryo, const char *arg, char **out, char **err)
{
	struct capture out_cap, err_cap;
	int status;
	pid_t pid;

	capture_begin(&out_cap, 1);
	capture_begin(&err_cap, 2);
	pid = fork();
	if (pid == 0) {
		execl(cryo, cryo, "show", arg, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	*err = capture_end(&err_cap);
	*out = capture_end(&out_cap);
	return status;
}

TEST(cryo_show_runs_end_to_end)
{
	_cleanup_tree_ char *tmp = sample_dir();
	_cleanup_free_ char *cryo = cryo_binary(), *out = NULL, *err = NULL, *bad_out = NULL,
			    *bad_err = NULL, *inv = NULL;
	int status;

	CHECK(tmp && cryo, "setup");
	if (access(cryo, X_OK)) {
		harness_skip("%s is not built", cryo);
		return;
	}
	status = exec_show(cryo, tmp, &out, &err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, err);
	CHECK_JSON(out, "assert d['inventory.img']['records'][0]['root_pid'] == 42, d\n"
			"assert d['pages-42.img']['size'] == 20480, d\n");
	inv = path_join(tmp, "inventory.img");
	CHECK(inv && !truncate(inv, 46), "truncate");
	status = exec_show(cryo, inv, &bad_out, &bad_err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status 0x%x", status);
	CHECK(!bad_out[0] && strstr(bad_err, "inventory.img: offset 36: record length"),
	      "stdout \"%s\", stderr \"%s\"", bad_out, bad_err);
}

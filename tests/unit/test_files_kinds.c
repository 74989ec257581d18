/* The one list of kinds and the group mechanism of the files engine: the
 * table of kinds and the schema's FileEntry.Kind name the same kinds, each
 * with its part; a group of objects made together (here a test kind made
 * of socketpairs) is made by one call of its kind, once, inside the
 * namespaces hook when processes share it and in the process otherwise,
 * and each member gets its own end; images with bad groups are refused. */
#include <sys/socket.h>

#include "test_files_util.h"
#include "files/internal.h"

TEST(schema_kinds_and_table_kinds_are_the_same)
{
	const ProtobufCEnumDescriptor *en = &file_entry__kind__descriptor;
	const struct file_kind *const *kinds;
	size_t n = file_kinds(&kinds);

	/* Every value of the schema has its kind, and its part (15 + kind). */
	for (unsigned int i = 0; i < en->n_values; i++) {
		int value = en->values[i].value;
		const struct file_kind *k = file_kind_of(value);
		const ProtobufCFieldDescriptor *part =
			protobuf_c_message_descriptor_get_field(&file_entry__descriptor, 15 + value);

		CHECK(k, "FileEntry.Kind %s (%d) has no entry in table.c", en->values[i].name, value);
		CHECK((int)k->type == value, "kind %s answers for %d", k->name, value);
		CHECK(part && part->type == PROTOBUF_C_TYPE_MESSAGE,
		      "FileEntry has no part (field %d) for kind %s", 15 + value, k->name);
	}
	/* Every kind of the table is a value of the schema, once. */
	for (size_t i = 0; i < n; i++) {
		CHECK(protobuf_c_enum_descriptor_get_value(en, kinds[i]->type),
		      "kind %s (%d) of table.c is not a value of FileEntry.Kind", kinds[i]->name,
		      kinds[i]->type);
		for (size_t j = 0; j < i; j++)
			CHECK(kinds[j]->type != kinds[i]->type, "kinds %s and %s are both %d",
			      kinds[j]->name, kinds[i]->name, kinds[i]->type);
		CHECK(kinds[i]->recognise && kinds[i]->dump, "kind %s cannot be dumped",
		      kinds[i]->name);
		CHECK(kinds[i]->open || kinds[i]->make_inode || kinds[i]->create_group,
		      "kind %s cannot be restored", kinds[i]->name);
	}
	CHECK(n == en->n_values, "table.c has %zu kinds, FileEntry.Kind %u", n, en->n_values);
}

/* ---- a kind made of socketpairs ------------------------------------------------- */

/* What the test kind and the namespaces hook saw, in order. */
static char calls[256];

static void note_call(const char *what)
{
	strncat(calls, what, sizeof(calls) - strlen(calls) - 1);
}

static int pair_create(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		       int *fds)
{
	char what[64];
	int sv[2];

	(void)r;
	snprintf(what, sizeof(what), "create(%zu:%u,%u) ", n, members[0]->e->id,
		 n > 1 ? members[1]->e->id : 0);
	note_call(what);
	if (n != 2)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fds[0] = sv[0];
	fds[1] = sv[1];
	return 0;
}

static const struct file_kind pair_kind = {
	.name = "pair",
	.type = FILE_ENTRY__KIND__CHRDEV,	/* any: the table is not asked */
	.group_size = 2,
	.create_group = pair_create,
};

static int ns_enter(void *arg, const struct file_obj *first)
{
	char what[32];

	(void)arg;
	snprintf(what, sizeof(what), "enter(%u) ", first->e->id);
	note_call(what);
	return 0;
}

static int ns_leave(void *arg, const struct file_obj *first)
{
	char what[32];

	(void)arg;
	snprintf(what, sizeof(what), "leave(%u) ", first->e->id);
	note_call(what);
	return 0;
}

/* Two records: 1 leads the group, 2 is its other member. */
static FileEntry entries[2];

/* The image of process @pid with the pair's ends at fds @fd0 (file 1) and
 * @fd1 (file 2); -1: none. */
static void make_image(struct files_image *img, struct file_obj *files, struct fd_slot *slots,
		       int *fdnums, pid_t pid, int fd0, int fd1)
{
	memset(img, 0, sizeof(*img));
	memset(files, 0, 2 * sizeof(*files));
	for (int i = 0; i < 2; i++) {
		file_entry__init(&entries[i]);
		entries[i].id = i + 1;
		entries[i].flags = O_RDWR;
		files[i].e = &entries[i];
		files[i].kind = &pair_kind;
		files[i].inode = &files[i];
		files[i].group = &files[0];
	}
	entries[1].has_group_of = true;
	entries[1].group_of = 1;
	files[0].nr_group = 2;
	files[1].nr_group = 1;
	files[0].next_in_group = &files[1];
	img->pid = pid;
	img->files = files;
	img->nr_files = 2;
	img->fds = slots;
	for (int i = 0, fd; i < 2; i++) {
		fd = i ? fd1 : fd0;
		if (fd < 0)
			continue;
		fdnums[i] = fd;
		files[i].fds = &fdnums[i];
		files[i].nr_fds = 1;
		files[i].needed = true;
		slots[img->nr_fds++] = (struct fd_slot){ .fd = fd, .file = &files[i] };
	}
}

/* Whether @a and @b are the two ends of one connection. */
static bool connected(int a, int b)
{
	char got[4] = "";

	return write(a, "abc", 3) == 3 && read(b, got, 3) == 3 && !memcmp(got, "abc", 3) &&
	       write(b, "x", 1) == 1 && read(a, got, 1) == 1 && got[0] == 'x';
}

TEST(group_two_processes_share_is_made_once_by_cryo_inside_its_namespaces)
{
	const struct files_namespaces ns = { .enter = ns_enter, .leave = ns_leave };
	struct file_obj files_a[2], files_b[2];
	struct fd_slot slots_a[2], slots_b[2];
	struct files_image img_a, img_b;
	int nums_a[2], nums_b[2], end0, end1;
	struct files_image *imgs[] = { &img_a, &img_b };
	struct files_prepared *prep = NULL;

	calls[0] = '\0';
	make_image(&img_a, files_a, slots_a, nums_a, 1001, 5, -1);
	make_image(&img_b, files_b, slots_b, nums_b, 1002, -1, 5);
	CHECK(!files_prepare(imgs, 2, false, 200, &ns, NULL, NULL, NULL, &prep), "files_prepare failed");
	end0 = files_prepared_fd(prep, &files_a[0], &img_a);
	end1 = files_prepared_fd(prep, &files_b[1], &img_b);
	CHECK_GOTO(!strcmp(calls, "enter(1) create(2:1,2) leave(1) "), out,
		   "the group was made as '%s'", calls);
	CHECK_GOTO(end0 >= 200 && end1 >= 200 && end0 != end1, out,
		   "the members were prepared at fds %d and %d", end0, end1);
	CHECK_GOTO(connected(end0, end1), out, "fds %d and %d are not one pair", end0, end1);
out:
	files_prepared_close(prep);
}

TEST(group_of_one_process_is_made_in_it_each_member_at_its_fd)
{
	struct file_obj files[2];
	struct fd_slot slots[2];
	struct files_image img;
	int nums[2], st;
	pid_t child;

	make_image(&img, files, slots, nums, getpid(), 20, 21);
	child = fork();
	CHECK(child >= 0, "fork: %s", strerror(errno));
	if (child == 0) {
		calls[0] = '\0';
		if (files_restore(&img, NULL, false))
			_exit(2);
		if (strcmp(calls, "create(2:1,2) "))
			_exit(3);
		_exit(connected(20, 21) && fcntl(22, F_GETFD) < 0 ? 0 : 4);
	}
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the restoring child exited with %#x "
	      "(2: restore failed, 3: not made once, 4: not one pair at fds 20 and 21)", st);
}

/* ---- groups at dump ------------------------------------------------------------- */

TEST(objects_that_share_a_group_key_join_the_first_ones_group)
{
	struct fd_probe probe = { .pid = 1, .fd = 3, .name = "fd 3", .link = "pair" };
	FileEntry fe[4];
	struct files_dump_set *set = NULL;
	struct file_dump d = { .p = &probe };
	uint64_t keys[] = { 7, 8, 7, 7 };
	char err[256] = "";
	int ret;

	CHECK(!files_dump_start(NULL, NULL, 0, &set), "no dump set");
	d.set = set;
	for (int i = 0; i < 4; i++) {
		file_entry__init(&fe[i]);
		fe[i].id = i + 1;
		fe[i].kind = FILE_ENTRY__KIND__CHRDEV;
		d.fe = &fe[i];
		CHECK_GOTO(!file_dump_join_group(&d, keys[i]), out, "object %d cannot join", i + 1);
	}
	/* Another kind's key 7 is another group. */
	CHECK_GOTO(!fe[0].has_group_of && !fe[1].has_group_of, out, "a first object has a leader");
	CHECK_GOTO(fe[2].has_group_of && fe[2].group_of == 1 && fe[3].has_group_of &&
		   fe[3].group_of == 1, out, "objects 3 and 4 are not in object 1's group");
	file_entry__init(&fe[0]);
	fe[0].id = 5;
	fe[0].kind = FILE_ENTRY__KIND__PIPE;
	d.fe = &fe[0];
	CHECK_GOTO(!file_dump_join_group(&d, 7) && !fe[0].has_group_of, out,
		   "a pipe joined the group of a chrdev");
	log_capture_errors(err, sizeof(err));
	ret = file_dump_join_group(&d, 0);
	log_capture_errors(NULL, 0);
	CHECK_GOTO(ret == -EINVAL && strstr(err, "0 names no group"), out,
		   "key 0 names a group (%d, '%s')", ret, err);
out:
	files_dump_free(set);
}

/* ---- groups in images ----------------------------------------------------------- */

static CharDev null_part = CHAR_DEV__INIT;

static FileEntry null_entry(uint32_t id)
{
	FileEntry e = FILE_ENTRY__INIT;

	null_part.path = "/dev/null";
	null_part.major = 1;
	null_part.minor = 3;
	e.id = id;
	e.kind = FILE_ENTRY__KIND__CHRDEV;
	e.flags = O_RDWR;
	e.chrdev = &null_part;
	return e;
}

/* Writes @files as files.img and one fd per file as fds-4242.img, loads
 * them and expects an error that contains @want. */
static void expect_group_refused(FileEntry *files, size_t n, const char *want)
{
	_cleanup_tree_ char *dir_path = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct files_image *img = NULL;
	struct image_writer *w;
	char err[1024] = "";
	int ret;

	CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
	ret = image_open_write(dir, IMG_FILES, 0, &w);
	for (size_t i = 0; i < n && !ret; i++)
		ret = image_write_record(w, &files[i].base);
	CHECK(!ret && !image_finish(w), "cannot write files.img");
	ret = image_open_write(dir, IMG_FDS, 4242, &w);
	for (size_t i = 0; i < n && !ret; i++) {
		FdEntry fd = FD_ENTRY__INIT;

		fd.fd = i;
		fd.file_id = files[i].id;
		ret = image_write_record(w, &fd.base);
	}
	CHECK(!ret && !image_finish(w), "cannot write fds-4242.img");
	log_capture_errors(err, sizeof(err));
	ret = files_load(dir, 4242, NULL, 0, &img);
	log_capture_errors(NULL, 0);
	files_image_free(img);
	CHECK(ret < 0, "loaded; want '%s'", want);
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

TEST(bad_groups_are_refused)
{
	FileEntry files[] = { null_entry(1), null_entry(2), null_entry(3) };

	/* A kind that makes no groups. */
	files[1].has_group_of = true;
	files[1].group_of = 1;
	expect_group_refused(files, 3, "file 1 (chrdev): leads a group of 2, but its kind makes "
			     "no groups");
	/* Led by a later object, by a member, or by itself. */
	files[1].group_of = 3;
	expect_group_refused(files, 3, "its group must be led by an earlier object of its kind");
	files[1].group_of = 1;
	files[2].has_group_of = true;
	files[2].group_of = 2;
	expect_group_refused(files, 3, "its group must be led by an earlier object of its kind");
	files[2].group_of = 3;
	expect_group_refused(files, 3, "its group must be led by an earlier object of its kind");
	/* A member that is another open of an inode. */
	files[2].group_of = 1;
	files[2].has_inode_of = true;
	files[2].inode_of = 1;
	expect_group_refused(files, 3, "an object made with a group is the first of its inode");
}

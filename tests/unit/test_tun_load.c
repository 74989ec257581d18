/* files_load() checks a tun fd's record before restore trusts it: a
 * device name, TUNSETIFF's flags of a tun or a tap, a detached queue only
 * of a multiqueue device, a send buffer and virtio header size, and no
 * settings on an fd never attached. Good records load. Images are written
 * by hand here, not by a dump. */
#include <linux/if_tun.h>

#include "test_files_load_util.h"
#include "images/proto/tun_file.pb-c.h"

/* fd 3 attached to the multiqueue tap "ct0", its queue detached. */
static void tun_record(FileEntry *e, TunFile *t)
{
	tun_file__init(t);
	t->name = "ct0";
	t->flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
	t->has_detached = t->detached = true;
	t->has_sndbuf = t->has_vnet_hdr_sz = true;
	t->sndbuf = 0x7fffffff;
	t->vnet_hdr_sz = 10;
	file_entry__init(e);
	e->id = 1;
	e->kind = FILE_ENTRY__KIND__TUN;
	e->flags = O_RDWR;
	e->tun = t;
}

static void expect_tun_refused(FileEntry *e, const char *want)
{
	FdEntry fd = fd_entry(3, 1);

	expect_refused(e, 1, &fd, 1, want);
}

TEST(tun_records_load)
{
	FdEntry fd = fd_entry(3, 1);
	FileEntry e;
	TunFile t, bare = TUN_FILE__INIT;
	char err[1024] = "";

	for (int i = 0; i < 2; i++) {
		_cleanup_tree_ char *dir_path = make_temp_dir();
		_cleanup_image_dir_ struct image_dir *dir = NULL;
		struct files_image *img = NULL;

		tun_record(&e, &t);
		if (i)
			e.tun = &bare;	/* never attached */
		CHECK(dir_path && !image_dir_open(dir_path, &dir), "no image directory");
		CHECK(!write_images(dir, &e, 1, &fd, 1), "cannot write the images");
		CHECK(!load(dir_path, err, sizeof(err), &img), "record %d refused: %s", i, err);
		files_image_free(img);
	}
}

TEST(bad_tun_records_are_refused)
{
	FileEntry e;
	TunFile t;

	tun_record(&e, &t);
	t.name = "";
	expect_tun_refused(&e, "a device name that is not one");
	tun_record(&e, &t);
	t.name = "a-name-of-16-chr";
	expect_tun_refused(&e, "a device name that is not one");
	tun_record(&e, &t);
	t.name = "../x";
	expect_tun_refused(&e, "a device name that is not one");
	tun_record(&e, &t);
	t.flags = IFF_TUN | IFF_TAP;
	expect_tun_refused(&e, "flags that are not TUNSETIFF's");
	tun_record(&e, &t);
	t.flags |= IFF_PERSIST;
	expect_tun_refused(&e, "flags that are not TUNSETIFF's");
	tun_record(&e, &t);
	t.flags &= ~IFF_MULTI_QUEUE;
	expect_tun_refused(&e, "a detached queue of a device with one queue");
	tun_record(&e, &t);
	t.vnet_hdr_sz = 4;
	expect_tun_refused(&e, "a send buffer or virtio header size out of range");
	tun_record(&e, &t);
	t.sndbuf = 0;
	expect_tun_refused(&e, "a send buffer or virtio header size out of range");
	tun_record(&e, &t);
	t.name = NULL;
	expect_tun_refused(&e, "settings of a device but no device");
}

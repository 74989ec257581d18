/* cpuinfo.img: this CPU written at dump, and read back, checked byte by
 * byte, at restore for --cpu-cap; the image kind and its check. What the
 * words mean and how two CPUs compare is cpuinfo.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/cpuinfo.pb-c.h"
#include "inject/inject.h"
#include "task/cpuinfo.h"

/* The smallest xsave area: the legacy 512 bytes and the 64-byte header. */
#define XSAVE_AREA_MIN (512 + 64)
/* x87 and SSE state, which every x86-64 CPU saves. */
#define XFEATURES_BASE 3ull

static int cpuinfo_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	const CpuInfo *c;
	size_t off;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		image_error(img->path, 0, "%zu records, not one", img->nr_records);
		return -EBADMSG;
	}
	c = (const CpuInfo *)img->records[0].msg;
	off = img->records[0].offset;
	if (strlen(c->vendor) != 12 || strspn(c->vendor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				       "nopqrstuvwxyz0123456789 ") != 12) {
		image_error(img->path, off, "vendor '%.16s' is not 12 letters or digits",
			    c->vendor);
		return -EBADMSG;
	}
	if (c->n_words > CPUINFO_WORDS_MAX) {
		image_error(img->path, off, "%zu CPUID words, more than %d", c->n_words,
			    CPUINFO_WORDS_MAX);
		return -EBADMSG;
	}
	for (size_t i = 0; i < c->n_words; i++) {
		const CpuidWord *w = c->words[i];

		if (!cpuid_word_known(w->leaf, w->subleaf, w->reg)) {
			image_error(img->path, off, "word %zu (leaf %#x.%u register %u) is not one "
				    "cryo saves", i, w->leaf, w->subleaf, w->reg);
			return -EBADMSG;
		}
		for (size_t j = 0; j < i; j++)
			if (c->words[j]->leaf == w->leaf && c->words[j]->subleaf == w->subleaf &&
			    c->words[j]->reg == w->reg) {
				image_error(img->path, off, "word %zu repeats word %zu", i, j);
				return -EBADMSG;
			}
	}
	if ((c->xfeatures & XFEATURES_BASE) != XFEATURES_BASE) {
		image_error(img->path, off, "xfeatures %#llx lack x87 or SSE",
			    (unsigned long long)c->xfeatures);
		return -EBADMSG;
	}
	/* Without xsave both sizes are 0; with it, an area ptrace can hold. */
	if ((c->xsave_size || c->xsave_size_max) &&
	    (c->xsave_size < XSAVE_AREA_MIN || c->xsave_size > c->xsave_size_max ||
	     c->xsave_size_max > INJ_XSTATE_MAX)) {
		image_error(img->path, off, "xsave sizes %u and %u (at most) are not between %d "
			    "and %d", c->xsave_size, c->xsave_size_max, XSAVE_AREA_MIN,
			    INJ_XSTATE_MAX);
		return -EBADMSG;
	}
	return 0;
}

static const struct image_kind_desc cpuinfo_kinds[] = {
	{ IMG_CPUINFO, "cpuinfo", "cpuinfo.img", &cpu_info__descriptor, cpuinfo_image_check },
};

const struct image_kind_set cpuinfo_image_kinds = { "cpuinfo", cpuinfo_kinds,
						    ARRAY_SIZE(cpuinfo_kinds) };

int cpuinfo_dump(struct image_dir *dir)
{
	CpuidWord words[CPUINFO_WORDS_MAX], *ptrs[CPUINFO_WORDS_MAX];
	CpuInfo msg = CPU_INFO__INIT;
	struct image_writer *w = NULL;
	struct cpuinfo ci;
	int ret;

	cpuinfo_read(&ci);
	for (size_t i = 0; i < ci.nr_words; i++) {
		cpuid_word__init(&words[i]);
		words[i].leaf = ci.words[i].leaf;
		words[i].subleaf = ci.words[i].subleaf;
		words[i].reg = ci.words[i].reg;
		words[i].value = ci.words[i].value;
		ptrs[i] = &words[i];
	}
	msg.vendor = ci.vendor;
	msg.n_words = ci.nr_words;
	msg.words = ptrs;
	msg.xfeatures = ci.xfeatures;
	msg.xsave_size = ci.xsave_size;
	msg.xsave_size_max = ci.xsave_size_max;
	ret = image_open_write(dir, IMG_CPUINFO, 0, &w);
	if (!ret)
		ret = image_write_record(w, &msg.base);
	if (ret) {
		if (w)
			image_abort(w);
		return ret;
	}
	return image_finish(w);
}

int cpuinfo_load(const struct image_dir *dir, struct cpuinfo *ci)
{
	struct image *img;
	const CpuInfo *c;
	int ret;

	if (faccessat(dir->fd, "cpuinfo.img", F_OK, 0) && errno == ENOENT)
		return -ENOENT;
	ret = image_read(dir, IMG_CPUINFO, 0, &img);
	if (ret)
		return ret;
	c = (const CpuInfo *)img->records[0].msg;
	memset(ci, 0, sizeof(*ci));
	snprintf(ci->vendor, sizeof(ci->vendor), "%s", c->vendor);
	for (size_t i = 0; i < c->n_words; i++)
		ci->words[ci->nr_words++] = (struct cpuid_word){
			c->words[i]->leaf, c->words[i]->subleaf, c->words[i]->reg,
			c->words[i]->value };
	ci->xfeatures = c->xfeatures;
	ci->xsave_size = c->xsave_size;
	ci->xsave_size_max = c->xsave_size_max;
	image_free(img);
	return 0;
}

int cpuinfo_check_dir(const struct image_dir *dir, unsigned int caps, bool given,
		      const char *who)
{
	struct cpuinfo saved, here;
	char text[32];
	int ret;

	if (caps == CPU_CAP_NONE)
		return 0;
	ret = cpuinfo_load(dir, &saved);
	if (ret == -ENOENT && !given) {
		pr_debug("%s: the dump saved no cpuinfo.img: the CPU is not compared", who);
		return 0;
	}
	if (ret == -ENOENT)
		pr_err("%s: --cpu-cap %s: the dump saved no cpuinfo.img (dumped with "
		       "--cpu-cap=none, or by a cryo that did not save it)", who,
		       cpu_cap_text(caps, text, sizeof(text)));
	if (ret)
		return ret;
	cpuinfo_read(&here);
	ret = cpuinfo_compare(&saved, &here, caps, who);
	if (!ret)
		pr_info("%s: --cpu-cap %s: this CPU has what the dump's had", who,
			cpu_cap_text(caps, text, sizeof(text)));
	return ret;
}

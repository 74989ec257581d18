/* Where the vDSO goes at restore. When this kernel's vDSO is byte for byte
 * the saved one and laid out the same, the kernel maps it at its saved
 * place and that is all. Otherwise (another kernel) the new vDSO goes
 * elsewhere, and the saved one comes back at its old address from the
 * image as a proxy: each function it exports starts with a jump to the
 * function of the same name in the new vDSO, so pointers the program took
 * before the dump land in code that matches this kernel's data pages. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "restore/restore.h"
#include "restore/vdso.h"

/* Exercises the proxy on a machine whose kernel is the dumping one. */
#define FORCE_PROXY_ENV "CRYO_TEST_VDSO_PROXY"

struct vdso_symbol {
	const char *name;
	uint64_t offset;
};

/* The exported functions of a vDSO image in memory, every offset checked
 * against @size: the saved image is read from a file and trusted in nothing. */
static int vdso_functions(const unsigned char *image, size_t size, struct vdso_symbol **out,
			  size_t *count)
{
	const Elf64_Ehdr *eh = (const void *)image;
	const Elf64_Shdr *sh;
	uint64_t load_base = 0;
	bool have_load = false;

	*out = NULL;
	*count = 0;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_shoff > size ||
	    eh->e_shnum > (size - eh->e_shoff) / sizeof(Elf64_Shdr) || eh->e_phoff > size ||
	    eh->e_phnum > (size - eh->e_phoff) / sizeof(Elf64_Phdr))
		return -ENOEXEC;
	for (int i = 0; i < eh->e_phnum && !have_load; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(image + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD) {
			load_base = ph->p_vaddr;
			have_load = true;
		}
	}
	sh = (const void *)(image + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *syms = &sh[i], *strs;
		size_t n;

		if (syms->sh_type != SHT_DYNSYM)
			continue;
		if (syms->sh_link >= eh->e_shnum || syms->sh_offset > size ||
		    syms->sh_size > size - syms->sh_offset || syms->sh_entsize != sizeof(Elf64_Sym))
			return -ENOEXEC;
		strs = &sh[syms->sh_link];
		if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
			return -ENOEXEC;
		n = syms->sh_size / sizeof(Elf64_Sym);
		*out = calloc(n + 1, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		for (size_t j = 0; j < n; j++) {
			const Elf64_Sym *s = (const Elf64_Sym *)(image + syms->sh_offset) + j;
			const char *name = (const char *)image + strs->sh_offset + s->st_name;

			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
			    s->st_name >= strs->sh_size ||
			    !memchr(name, '\0', strs->sh_size - s->st_name) ||
			    s->st_value < load_base || s->st_value - load_base + 12 > size)
				continue;
			(*out)[(*count)++] = (struct vdso_symbol){ name, s->st_value - load_base };
		}
		return 0;
	}
	return -ENOEXEC;
}

/* The saved vDSO's bytes, read back from the pages file. */
static unsigned char *saved_vdso_bytes(const Vma *vdso, const struct pages_reader *pr)
{
	size_t size = vdso->end - vdso->start, got = 0;
	unsigned char *buf = malloc(size);

	if (!buf)
		return NULL;
	for (size_t i = 0; i < pr->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[i].msg;
		uint64_t len = e->nr_pages * IMG_PAGE_SIZE;

		if (e->vaddr < vdso->start || e->vaddr + len > vdso->end ||
		    e->state != PAGEMAP_ENTRY__STATE__PRESENT)
			continue;
		if (pread(pr->pages_fd[pages_entry_file(e)], buf + (e->vaddr - vdso->start), len,
			  (off_t)e->file_off) != (ssize_t)len)
			break;
		got += len;
	}
	if (got != size) {
		pr_err("restore: the image holds %zu of the %zu bytes of the saved [vdso]", got, size);
		free(buf);
		return NULL;
	}
	return buf;
}

static void saved_block(const Mm *mm, const Vma **vdso, uint64_t *start, uint64_t *end)
{
	*vdso = NULL;
	*start = *end = 0;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];

		if (v->kind != VMA__KIND__VDSO && v->kind != VMA__KIND__VVAR &&
		    v->kind != VMA__KIND__VVAR_VCLOCK)
			continue;
		if (!*start)
			*start = v->start;
		if (v->kind == VMA__KIND__VDSO)
			*vdso = v;
		*end = v->end;
	}
}

/* Jumps from each saved entry point to the new function of the same name. */
static int plan_patches(struct vdso_plan *plan, const unsigned char *saved, size_t saved_size,
			const unsigned char *current, size_t current_size, uint64_t old_text,
			uint64_t new_text)
{
	struct vdso_symbol *old_syms, *new_syms;
	size_t n_old, n_new;
	int ret;

	ret = vdso_functions(saved, saved_size, &old_syms, &n_old);
	if (ret) {
		pr_err("restore: the saved [vdso] is not a valid ELF image: cannot proxy it");
		return ret;
	}
	ret = vdso_functions(current, current_size, &new_syms, &n_new);
	if (ret) {
		pr_err("restore: this kernel's [vdso] has no readable symbol table");
		goto out;
	}
	plan->patches = calloc(n_old + 1, sizeof(*plan->patches));
	if (!plan->patches) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_old; i++) {
		for (size_t j = 0; j < n_new; j++) {
			if (strcmp(old_syms[i].name, new_syms[j].name))
				continue;
			plan->patches[plan->nr_patches++] = (struct restorer_patch){
				.addr = old_text + old_syms[i].offset,
				.target = new_text + new_syms[j].offset,
			};
			break;
		}
	}
	pr_info("restore: the saved vDSO differs from this kernel's: %zu of its %zu functions "
		"now jump into the new one", plan->nr_patches, n_old);
out:
	free(old_syms);
	free(new_syms);
	return ret;
}

int vdso_plan_make(const Mm *mm, const struct pages_reader *pr, const struct maps_now *now,
		   struct vdso_plan *plan)
{
	uint64_t saved_start, saved_end, cur_start, cur_vdso, cur_end;
	const Vma *saved_vdso;
	unsigned char *saved = NULL;
	size_t saved_size;
	int ret;

	memset(plan, 0, sizeof(*plan));
	saved_block(mm, &saved_vdso, &saved_start, &saved_end);
	if (!saved_vdso)
		return 0; /* the task had no vDSO: none is mapped */
	/* This kernel's block, as cryo itself has it (and each of its copies). */
	cur_start = now->vdso_block_start;
	cur_vdso = now->vdso_text;
	cur_end = now->vdso_block_end;
	ret = cur_vdso ? 0 : -ENOENT;
	if (ret) {
		pr_err("restore: this kernel maps no [vdso] in cryo itself: cannot give the task one");
		return ret;
	}
	saved_size = saved_vdso->end - saved_vdso->start;
	saved = saved_vdso_bytes(saved_vdso, pr);
	if (!saved)
		return -EBADMSG;
	plan->block_size = cur_end - cur_start;
	plan->text_offset = cur_vdso - cur_start;
	if (cur_vdso - cur_start == saved_vdso->start - saved_start &&
	    cur_end - cur_start == saved_end - saved_start &&
	    saved_size == cur_end - cur_vdso && !memcmp(saved, (void *)cur_vdso, saved_size) &&
	    !getenv(FORCE_PROXY_ENV)) {
		plan->block_start = saved_start;
		goto out;
	}
	plan->proxy = true;
	plan->old_text = saved_vdso->start;
	plan->old_text_end = saved_vdso->end;
	/* The new block's place is chosen with the restorer's area. */
out:
	plan->saved = saved;
	plan->saved_size = saved_size;
	return 0;
}

int vdso_plan_place(struct vdso_plan *plan, uint64_t block_start)
{
	int ret;

	plan->block_start = block_start;
	if (!plan->proxy)
		return 0;
	ret = plan_patches(plan, plan->saved, plan->saved_size,
			   (const unsigned char *)getauxval(AT_SYSINFO_EHDR),
			   plan->block_size - plan->text_offset, plan->old_text,
			   block_start + plan->text_offset);
	return ret;
}

void vdso_plan_free(struct vdso_plan *plan)
{
	free(plan->saved);
	free(plan->patches);
	memset(plan, 0, sizeof(*plan));
}

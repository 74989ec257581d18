/* criu's --cpu-cap through the cryo binary: a dump saves cpuinfo.img, and
 * a restore on the same CPU passes in every mode; an image forged to claim
 * a feature this CPU lacks is refused in cpu and ins modes, naming the
 * feature, and restores in fpu (the default) and none; an invalid image is
 * refused at load; a dump with none saves no image, which an explicit mode
 * at restore then refuses. criu's cpuinfo dump and check, as commands and
 * as the RPC's CPUINFO_DUMP and CPUINFO_CHECK. The comparison itself is
 * task/cpuinfo.c's. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "rpc_client.h"
#include "runner_util.h"
#include "trust_util.h"

/* Restores @img detached with @mode (NULL: none given); the program, now
 * @pid again, runs unharmed. */
static bool restores_with(struct prog *p, const char *img, pid_t pid, const char *mode)
{
	struct cryo_run r;

	if (mode)
		prog_cryo(&r, p, "restore", "-D", img, "-d", mode);
	else
		prog_cryo(&r, p, "restore", "-D", img, "-d");
	if (r.status)
		return fail_why("restore %s failed (%d): %s", mode ? mode : "", r.status, r.out);
	p->pid = pid;
	return prog_unharmed(p);
}

/* Restore of @img with @mode is refused, saying @key and @key2, and
 * leaves nothing behind. */
static bool refused_with(const struct prog *p, const char *img, pid_t pid, const char *mode,
			 const char *key, const char *key2)
{
	struct cryo_run r;

	prog_cryo(&r, p, "restore", "-D", img, "-d", mode);
	/* Whatever was restored must go, even after a wrong success. */
	return refused(&r, key, key2, NULL) & nothing_restored(p, pid, 0);
}

TEST(every_mode_restores_a_dump_made_on_this_cpu)
{
	static const char *const modes[] = { "--cpu-cap=fpu", "--cpu-cap=cpu", "--cpu-cap=ins",
					      "--cpu-cap=none", "--cpu-cap" };
	char img[PATH_MAX], path[PATH_MAX];
	struct prog p = { 0 };
	pid_t pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pid = p.pid;
	pathf(img, "%s/img", p.dir);
	CHECK_GOTO(prog_dump(&p, img, (const char *const[]){ "--cpu-cap", NULL }), out, "%s",
		   why);
	kill_and_reap(pid);
	pathf(path, "%s/cpuinfo.img", img);
	CHECK_GOTO(!access(path, F_OK), out, "the dump saved no cpuinfo.img");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK_GOTO(restores_with(&p, img, pid, modes[i]), out, "%s", why);
		if (i + 1 < sizeof(modes) / sizeof(modes[0]))
			kill_and_reap(pid);
	}
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* A feature of CPUID 7.0 ebx this CPU lacks, with its name. */
static bool lacking_feature(uint32_t ebx, unsigned int *bit, const char **name)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} candidates[] = {
		{ 16, "avx512f" }, { 17, "avx512dq" }, { 21, "avx512ifma" }, { 26, "avx512pf" },
		{ 27, "avx512er" }, { 28, "avx512cd" }, { 29, "sha_ni" }, { 30, "avx512bw" },
		{ 31, "avx512vl" }, { 14, "mpx" }, { 4, "hle" }, { 11, "rtm" }, { 5, "avx2" },
	};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (!(ebx & (1u << candidates[i].bit))) {
			*bit = candidates[i].bit;
			*name = candidates[i].name;
			return true;
		}
	return fail_why("this CPU has every feature the test could claim it lacks");
}

/* The CpuidWord record of leaf 7.0 ebx as protobuf encodes it: four
 * fixed32 fields (tags 0x0d, 0x15, 0x1d, 0x25), each little-endian. */
static void word_bytes(uint8_t out[20], uint32_t value)
{
	const uint32_t fields[4] = { 7, 0, 1, value };

	for (int i = 0; i < 4; i++) {
		out[i * 5] = (uint8_t)(((i + 1) << 3) | 5);
		for (int b = 0; b < 4; b++)
			out[i * 5 + 1 + b] = (uint8_t)(fields[i] >> (8 * b));
	}
}

TEST(an_image_claiming_a_feature_this_cpu_lacks_is_refused_in_cpu_and_ins_modes)
{
	char img[PATH_MAX], forged[PATH_MAX];
	unsigned int eax, ebx, ecx, edx, bit = 0;
	uint8_t from[20], to[20];
	const char *name = NULL;
	struct prog p = { 0 };
	pid_t pid;

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	CHECK_GOTO(lacking_feature(ebx, &bit, &name), out, "%s", why);
	CHECK_GOTO(make_image(&p, "prog_counter", img, &pid), out, "%s", why);
	pathf(forged, "%s/forged", p.dir);
	word_bytes(from, ebx);
	word_bytes(to, ebx | 1u << bit);
	CHECK_GOTO(copy_images(img, forged) &&
		   forge_set_bytes(forged, "cpuinfo.img", from, to, sizeof(from)), out, "%s", why);
	CHECK_GOTO(refused_with(&p, forged, pid, "--cpu-cap=cpu", "--cpu-cap cpu: this CPU lacks",
				name), out, "%s", why);
	CHECK_GOTO(refused_with(&p, forged, pid, "--cpu-cap=ins", "--cpu-cap ins: this CPU lacks",
				name), out, "%s", why);
	CHECK_GOTO(restores_with(&p, forged, pid, "--cpu-cap=none"), out, "%s", why);
	kill_and_reap(pid);
	/* Without the option: criu's default, fpu, which looks at xsave alone. */
	CHECK_GOTO(restores_with(&p, forged, pid, NULL), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(an_invalid_cpuinfo_image_is_refused_and_a_dump_with_none_saves_none)
{
	char img[PATH_MAX], forged[PATH_MAX], vendor[13], bad[13];
	unsigned int max, regs[3];
	struct prog p = { 0 };
	pid_t pid;

	__cpuid(0, max, regs[0], regs[2], regs[1]);
	memcpy(vendor, regs, 12);
	vendor[12] = '\0';
	memcpy(bad, vendor, sizeof(bad));
	bad[7] = '!';
	CHECK_GOTO(make_image(&p, "prog_counter", img, &pid), out, "%s", why);
	pathf(forged, "%s/forged", p.dir);
	CHECK_GOTO(copy_images(img, forged) &&
		   forge_set_bytes(forged, "cpuinfo.img", vendor, bad, 12), out, "%s", why);
	CHECK_GOTO(restore_refused(&p, forged, pid, "a vendor that is no CPU's", "cpuinfo.img",
				   "is not 12 letters or digits"), out, "%s", why);

	/* --cpu-cap=none at dump: no image; a mode asked at restore refuses. */
	CHECK_GOTO(restores_with(&p, img, pid, NULL), out, "%s", why);
	pathf(img, "%s/none", p.dir);
	CHECK_GOTO(prog_dump(&p, img, (const char *const[]){ "--cpu-cap=none", NULL }), out,
		   "%s", why);
	kill_and_reap(pid);
	CHECK_GOTO(refused_with(&p, img, pid, "--cpu-cap=fpu", "the dump saved no cpuinfo.img",
				NULL), out, "%s", why);
	CHECK_GOTO(restores_with(&p, img, pid, NULL), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* One CPUINFO request of @type on images directory @dir: whether it
 * succeeded, its message in @msg. */
static bool cpuinfo_request(CriuReqType type, const char *dir, char *msg, size_t size)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct swrk s = { .pid = 0, .sk = -1 };
	CriuResp *resp = NULL;
	bool ok;

	req.type = type;
	req.opts = &opts;
	opts.images_dir_fd = dir_fd;
	snprintf(msg, size, "no answer: %.900s", why);
	if (dir_fd >= 0 && swrk_start(&s, dir_fd)) {
		resp = swrk_call(&s, &req);
		swrk_stop(&s);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	ok = resp && resp->success && resp->type == type;
	if (resp)
		snprintf(msg, size, "%s", resp->cr_errmsg ? resp->cr_errmsg : "");
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	return ok;
}

/* criu's `cpuinfo dump` and `cpuinfo check` (every mode by default), on the
 * command line and through the RPC: this CPU passes its own image, and an
 * image claiming a feature it lacks fails, named, unless only fpu is asked. */
TEST(cpuinfo_dump_and_check_on_the_command_line_and_through_the_rpc)
{
	char dir[PATH_MAX], rpc_dir[PATH_MAX], msg[1024];
	unsigned int eax, ebx, ecx, edx, bit = 0;
	const char *name = NULL;
	uint8_t from[20], to[20];
	struct prog p = { 0 };
	struct cryo_run r;

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	CHECK_GOTO(lacking_feature(ebx, &bit, &name) && make_temp_dir(p.dir), out, "%s", why);
	pathf(dir, "%s/cli", p.dir);
	pathf(rpc_dir, "%s/rpc", p.dir);
	run_cryo(&r, "cpuinfo", "dump", "-D", dir);
	CHECK_GOTO(r.status == 0 && exists(dir, "cpuinfo.img"), out, "cpuinfo dump (%d): %s",
		   r.status, r.out);
	run_cryo(&r, "cpuinfo", "check", "-D", dir);
	CHECK_GOTO(r.status == 0, out, "cpuinfo check of this CPU (%d): %s", r.status, r.out);
	CHECK_GOTO(!mkdir(rpc_dir, 0700) &&
		   cpuinfo_request(CRIU_REQ_TYPE__CPUINFO_DUMP, rpc_dir, msg, sizeof(msg)) &&
		   exists(rpc_dir, "cpuinfo.img") &&
		   cpuinfo_request(CRIU_REQ_TYPE__CPUINFO_CHECK, rpc_dir, msg, sizeof(msg)), out,
		   "CPUINFO_DUMP then CPUINFO_CHECK: %s", msg);

	/* No inventory lists these files: only the record's checksum to put right. */
	word_bytes(from, ebx);
	word_bytes(to, ebx | 1u << bit);
	CHECK_GOTO(forge_bytes(dir, "cpuinfo.img", from, to, sizeof(from)) &&
		   forge_bytes(rpc_dir, "cpuinfo.img", from, to, sizeof(from)), out, "%s", why);
	run_cryo(&r, "cpuinfo", "check", "-D", dir);
	CHECK_GOTO(refused(&r, "cpuinfo check: --cpu-cap cpu: this CPU lacks", name, NULL), out,
		   "%s", why);
	run_cryo(&r, "cpuinfo", "check", "-D", dir, "--cpu-cap=fpu");
	CHECK_GOTO(r.status == 0, out, "cpuinfo check --cpu-cap=fpu (%d): %s", r.status, r.out);
	CHECK_GOTO(!cpuinfo_request(CRIU_REQ_TYPE__CPUINFO_CHECK, rpc_dir, msg, sizeof(msg)) &&
		   strstr(msg, name), out, "CPUINFO_CHECK of a forged image: %s", msg);
out:
	end_prog(&p);
}

# cryo: checkpoint/restore in userspace. One non-recursive Makefile: every
# part is a folder under src/, found by wildcard, so adding a file needs no
# edit here. Outputs go to build/.

CC ?= gcc
LD ?= ld
OBJCOPY ?= objcopy
PROTOC_C ?= protoc-c
PREFIX ?= /usr/local
BUILD := build
.DEFAULT_GOAL := all

# Every core builds unless a -j is given: `make test` from a clean tree
# (what CI runs) compiles several hundred test programs.
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc)
endif

WARN := -Wall -Wextra -Werror
CFLAGS_COMMON := -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc -I$(BUILD)/gen
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS_COMMON) $(CFLAGS) -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS := -lprotobuf-c -lmnl -lxxhash -lsodium -lmount -pthread

# ---- schemas (protobuf-c): the images', and the RPC's (src/rpc/proto) -------
PROTOS := $(wildcard src/images/proto/*.proto)
PROTO_C := $(patsubst src/images/proto/%.proto,$(BUILD)/gen/images/proto/%.pb-c.c,$(PROTOS))
RPC_PROTO_C := $(BUILD)/gen/rpc/proto/rpc.pb-c.c $(BUILD)/gen/rpc/proto/criu_stats.pb-c.c
PROTO_H := $(PROTO_C:.c=.h) $(RPC_PROTO_C:.c=.h)

# Generated sources are kept, not deleted as intermediates after a build.
.SECONDARY: $(PROTO_C) $(RPC_PROTO_C) $(PROTO_H)

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: src/%.proto
	@mkdir -p $(dir $@)
	$(PROTOC_C) --proto_path=src --c_out=$(BUILD)/gen $<

# ---- freestanding blobs (parasite; restorer later) ------------------------
# PIE code with no libc, linked by one script at address 0 and embedded in
# the cryo binary. Any relocation would need a loader: the build refuses it.
BLOB_CFLAGS := -std=gnu11 $(WARN) -O2 -Isrc -fPIE -ffreestanding -nostdlib \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fvisibility=hidden -mgeneral-regs-only -fno-builtin -fcf-protection=none \
	-fno-jump-tables -fno-tree-loop-distribute-patterns -MMD -MP
BLOB_RUNTIME := $(wildcard src/blob/*.c)

define blob_rules
$(1)_SRCS := $$(wildcard src/$(1)/*.c) $(BLOB_RUNTIME)
$(1)_OBJS := $$(patsubst src/%.c,$(BUILD)/blob-obj/$(1)/%.o,$$($(1)_SRCS))

$(BUILD)/blob-obj/$(1)/%.o: src/%.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BLOB_CFLAGS) -c $$< -o $$@

$(BUILD)/blobs/$(1).elf: $$($(1)_OBJS) src/blob/blob.lds
	@mkdir -p $$(dir $$@)
	$$(LD) -static -pie --no-dynamic-linker -z noexecstack --no-warn-rwx-segments -T src/blob/blob.lds -o $$@ $$($(1)_OBJS)
	@scripts/check-blob $$@

$(BUILD)/blobs/$(1).bin: $(BUILD)/blobs/$(1).elf
	$$(OBJCOPY) -O binary $$< $$@

$(BUILD)/gen/blobs/$(1)-blob.h: $(BUILD)/blobs/$(1).elf scripts/blob-header
	@mkdir -p $$(dir $$@)
	scripts/blob-header $(1) $$< > $$@

$(BUILD)/blob-embed/$(1).o: $(BUILD)/blobs/$(1).bin
	@mkdir -p $$(dir $$@)
	printf '\t.section .rodata\n\t.balign 64\n\t.globl $(1)_blob_bytes\n$(1)_blob_bytes:\n\t.incbin "%s"\n\t.globl $(1)_blob_end\n$(1)_blob_end:\n\t.section .note.GNU-stack,"",@progbits\n' $$< | $$(CC) -c -x assembler -o $$@ -

-include $$($(1)_OBJS:.o=.d)
endef
$(eval $(call blob_rules,parasite))
$(eval $(call blob_rules,restorer))
# The blobs' XXH3 (the restorer's digest of the pages it reads, the
# parasite's of the pages it splices) runs with SSE2 (and lets the compiler
# inline small memcpys): several times the scalar speed.
$(BUILD)/blob-obj/parasite/blob/xxh3.o $(BUILD)/blob-obj/restorer/blob/xxh3.o: BLOB_CFLAGS := \
	$(filter-out -mgeneral-regs-only -fno-builtin,$(BLOB_CFLAGS)) -msse2
# Its AVX2 twin, taken when the CPU and the kernel's XSAVE state allow it
# (blob_cpu_has_avx2() at run time): three times the SSE2 speed in cache.
$(BUILD)/blob-obj/parasite/blob/xxh3_avx2.o $(BUILD)/blob-obj/restorer/blob/xxh3_avx2.o: BLOB_CFLAGS := \
	$(filter-out -mgeneral-regs-only -fno-builtin,$(BLOB_CFLAGS)) -mavx2

BLOB_EMBEDS := $(BUILD)/blob-embed/parasite.o $(BUILD)/blob-embed/restorer.o
BLOB_HEADERS := $(BUILD)/gen/blobs/parasite-blob.h $(BUILD)/gen/blobs/restorer-blob.h

# ---- the injection library ------------------------------------------------
INJECT_SRCS := $(wildcard src/inject/*.c)
INJECT_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(INJECT_SRCS))
# The /proc readers of src/common, built again into the library (hidden,
# then local like its own helpers): it stays self-contained.
INJECT_COMMON_SRCS := src/common/procfs.c src/common/procmap.c src/common/textfile.c
INJECT_COMMON_OBJS := $(patsubst src/%.c,$(BUILD)/inject-obj/%.o,$(INJECT_COMMON_SRCS))
LIBINJECT := $(BUILD)/libinject.a

# Built with hidden visibility (inject.h marks what is public), linked into
# one relocatable object whose hidden symbols are then made local: the
# archive exports the inj_ names of inject.h and nothing else, so its helpers
# can never clash with a caller's. scripts/check-exports verifies it.
$(INJECT_OBJS): ALL_CFLAGS += -fvisibility=hidden
$(BUILD)/inject-obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@
$(BUILD)/obj/inject.o: $(INJECT_OBJS) $(INJECT_COMMON_OBJS)
	$(LD) -r -o $@.tmp $^
	$(OBJCOPY) --localize-hidden $@.tmp $@
	@rm -f $@.tmp

$(LIBINJECT): $(BUILD)/obj/inject.o
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# ---- the cryo tool ----------------------------------------------------------
# Everything but main.c goes into a core archive that tests link against.
CORE_DIRS := src/common src/kabi src/net src/images src/ns src/stats src/mem src/files src/ipc src/task src/tree src/dump src/restore src/lazy src/cli src/rpc
CORE_SRCS := $(filter-out src/cli/main.c,$(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c)))
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(PROTO_C) $(RPC_PROTO_C))
LIBCORE := $(BUILD)/libcryo-core.a

$(LIBCORE): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/obj/%.o: src/%.c | $(PROTO_H) $(BLOB_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

CRYO := $(BUILD)/cryo
$(CRYO): $(BUILD)/obj/cli/main.o $(LIBCORE) $(LIBINJECT) $(BLOB_EMBEDS)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/cli/main.o $(BLOB_EMBEDS) $(LIBCORE) $(LIBINJECT) $(LDLIBS)

# ---- libcryo: libcriu's API over cryo's RPC ----------------------------------
# A shared library exporting only criu_* (src/lib/libcryo.map), soname
# libcryo.so.2; a symlink named libcriu.so.2 lets programs built against
# libcriu use it.
LIBCRYO_VERSION := 2.0
LIB_SRCS := $(wildcard src/lib/*.c) src/rpc/wire.c
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/pic-obj/%.o,$(LIB_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/pic-obj/gen/%.o,$(RPC_PROTO_C))
LIBCRYO := $(BUILD)/libcryo.so.2

$(BUILD)/pic-obj/%.o: src/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

# The schema's generated code stays inside the library.
$(BUILD)/pic-obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(LIBCRYO): $(LIB_OBJS) src/lib/libcryo.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libcryo.so.2 -Wl,--version-script=src/lib/libcryo.map \
		-Wl,--no-undefined -o $@ $(LIB_OBJS) -lprotobuf-c
	ln -sf libcryo.so.2 $(BUILD)/libcryo.so

# Made at install time: it names PREFIX, which install may be given anew.
LIBCRYO_PC_SED := sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBCRYO_VERSION)|'

# ---- tests --------------------------------------------------------------------
# tests/<suite>/test_*.c are test binaries (harness-driven); tests/<suite>/prog_*.c
# are helper programs the tests start. Unit tests also get sanitizer builds of
# the core they test.
HARNESS_SRCS := tests/lib/harness.c
SAN_CORE_OBJS := $(patsubst src/%.c,$(BUILD)/san-obj/%.o,$(CORE_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/san-obj/gen/%.o,$(PROTO_C) $(RPC_PROTO_C))

$(BUILD)/san-obj/%.o: src/%.c | $(PROTO_H) $(BLOB_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/san-obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

LIBCORE_SAN := $(BUILD)/libcryo-core-san.a
$(LIBCORE_SAN): $(SAN_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# cryo itself under ASan and UBSan, for a few round trips in tests/run that
# take the whole dump and restore paths through the sanitizers.
CRYO_SAN := $(BUILD)/cryo-san
$(CRYO_SAN): $(BUILD)/san-obj/cli/main.o $(LIBCORE_SAN) $(LIBINJECT) $(BLOB_EMBEDS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $(BUILD)/san-obj/cli/main.o $(BLOB_EMBEDS) $(LIBCORE_SAN) \
		$(LIBINJECT) $(LDLIBS)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
# Every unit test starts with the image kinds registered, as cryo does.
UNIT_SETUP := tests/unit/image_kinds_setup.c
$(BUILD)/tests/unit/%: tests/unit/%.c $(HARNESS_SRCS) $(UNIT_SETUP) $(LIBCORE_SAN) $(LIBINJECT) $(BLOB_EMBEDS) | $(BLOB_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests/lib -o $@ $< $(HARNESS_SRCS) $(UNIT_SETUP) $(BLOB_EMBEDS) $(LIBCORE_SAN) $(LIBINJECT) $(UNIT_EXTRA) $(LDLIBS)
# The restorer's digest, built hosted with its AVX2 twin beside it. XXH3
# reads its secret unaligned, which is fine on x86 but not to UBSan.
$(BUILD)/tests/unit/xxh3_avx2.o: src/blob/xxh3_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -mavx2 -c $< -o $@
$(BUILD)/tests/unit/test_pages_hash: $(BUILD)/tests/unit/xxh3_avx2.o
$(BUILD)/tests/unit/test_pages_hash: UNIT_EXTRA := $(BUILD)/tests/unit/xxh3_avx2.o
$(BUILD)/tests/unit/test_pages_hash: SAN_FLAGS += -fno-sanitize=alignment

INJECT_TESTS := $(patsubst tests/inject/%.c,$(BUILD)/tests/inject/%,$(wildcard tests/inject/test_*.c))
INJECT_PROGS := $(patsubst tests/inject/%.c,$(BUILD)/tests/inject/%,$(wildcard tests/inject/prog_*.c))
$(BUILD)/tests/inject/test_%: tests/inject/test_%.c $(HARNESS_SRCS) $(LIBINJECT) $(BLOB_EMBEDS) | $(BLOB_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/lib -o $@ $< $(HARNESS_SRCS) $(BLOB_EMBEDS) $(LIBINJECT) -lxxhash
$(BUILD)/tests/inject/prog_%: tests/inject/prog_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -mavx2 -pthread -o $@ $<

# Round trips through the cryo binary: the runner and its test programs.
ROUNDTRIP_PROGS := $(patsubst tests/roundtrip/%.c,$(BUILD)/tests/roundtrip/%,$(wildcard tests/roundtrip/prog_*.c)) \
	$(patsubst tests/roundtrip/%.c,$(BUILD)/tests/roundtrip/%,$(wildcard tests/roundtrip/peer_*.c))
ROUNDTRIP_TESTS := $(BUILD)/tests/roundtrip/test_roundtrip
# The .d of a two-source build names only the last source's headers: the
# programs' shared headers are listed here.
$(BUILD)/tests/roundtrip/prog_%: tests/roundtrip/prog_%.c tests/roundtrip/prog.c \
		$(wildcard tests/roundtrip/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $< tests/roundtrip/prog.c -lrt
# Peers: programs the runner starts outside the dump (programs.h).
$(BUILD)/tests/roundtrip/peer_%: tests/roundtrip/peer_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<
# Every runner drives the cryo binary through cryo_driver.c and starts the
# programs of the table in programs.c (a prog_* or neg_* without an entry
# there fails test_roundtrip).
RUNNER_SRCS := tests/roundtrip/cryo_driver.c tests/roundtrip/programs.c \
	tests/roundtrip/runner_util.c tests/roundtrip/image_util.c
RUNNER_DEPS := $(RUNNER_SRCS) tests/roundtrip/cryo_driver.h tests/roundtrip/programs.h \
	tests/roundtrip/runner_util.h tests/roundtrip/image_util.h tests/roundtrip/userns_maps.h \
	tests/roundtrip/hugepages_util.h
$(BUILD)/tests/roundtrip/test_roundtrip: tests/roundtrip/test_roundtrip.c $(RUNNER_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(RUNNER_SRCS)
# --shell-job through pty pairs; the test binary is also the program it dumps.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_shell_job
$(BUILD)/tests/roundtrip/test_shell_job: tests/roundtrip/test_shell_job.c $(RUNNER_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(RUNNER_SRCS)
# --clone: clones side by side, and the chain of dumps of clones.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_clone
$(BUILD)/tests/roundtrip/test_clone: tests/roundtrip/test_clone.c $(RUNNER_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(RUNNER_SRCS)
# The negative tests, and the programs only they start (neg_*): too costly
# to put through every round-trip cycle. test_negative.c says what each
# runner owns.
NEGATIVE_RUNNERS := test_negative test_neg_fds test_neg_ns_ipc test_neg_killed test_neg_restore test_neg_pids \
	test_neg_sockets test_neg_netlock \
	test_neg_userns \
	test_neg_cow \
	test_neg_hugetlb \
	test_neg_mnt_opts
NEGATIVE_PROGS := $(patsubst tests/roundtrip/%.c,$(BUILD)/tests/roundtrip/%,$(wildcard tests/roundtrip/neg_*.c))
ROUNDTRIP_TESTS += $(patsubst %,$(BUILD)/tests/roundtrip/%,$(NEGATIVE_RUNNERS))
$(BUILD)/tests/roundtrip/neg_%: tests/roundtrip/neg_%.c tests/roundtrip/prog.c tests/roundtrip/prog.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/roundtrip/prog.c
# The runners built on the test harness (tests/lib).
HARNESS_RUNNERS := $(NEGATIVE_RUNNERS) test_trust test_freezer test_real test_everyday \
	test_terminals test_state_refusals test_redis test_proc_refusals test_criu_cli \
	test_cgroup_v1 test_trust_threads test_criu_opts2 \
	test_criu_ns_opts test_criu_cpu_cap test_predump test_track_mem test_pages_two_files
$(patsubst %,$(BUILD)/tests/roundtrip/%,$(HARNESS_RUNNERS)): $(BUILD)/tests/roundtrip/%: \
		tests/roundtrip/%.c $(RUNNER_DEPS) $(HARNESS_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -Itests/lib -o $@ $< $(RUNNER_SRCS) $(RUNNER_EXTRA) $(HARNESS_SRCS)
# What dump refuses by name that a round trip cannot show: a SysV segment
# of huge pages (with huge pages reserved for it), an epoll target no fd
# holds; link remaps.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_state_refusals
# Per-process state dump refuses by name (issue 11): seccomp it could not
# give back.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_proc_refusals
# criu's options through the cryo binary: action scripts, work dir, config.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_criu_cli
# criu's --timeout, --leave-stopped, --status-fd, --exec-cmd, --evasive-devices.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_criu_opts2
# criu's --skip-mnt, --enable-fs and --empty-ns net through the cryo binary.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_criu_ns_opts
# criu's --cpu-cap: cpuinfo.img saved, compared by mode, forged (digests put right).
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_criu_cpu_cap
$(BUILD)/tests/roundtrip/test_criu_cpu_cap: src/images/crc32c.c tests/roundtrip/trust_util.c \
	tests/roundtrip/trust_util.h tests/rpc/rpc_client.h tests/rpc/rpc_client.c src/rpc/wire.c \
	$(BUILD)/gen/rpc/proto/rpc.pb-c.c | $(PROTO_H)
$(BUILD)/tests/roundtrip/test_criu_cpu_cap: RUNNER_EXTRA := src/images/crc32c.c \
	tests/roundtrip/trust_util.c -Itests/rpc -Itests/roundtrip tests/rpc/rpc_client.c src/rpc/wire.c \
	$(BUILD)/gen/rpc/proto/rpc.pb-c.c -lxxhash -lprotobuf-c
# criu's pre-dump and --prev-images-dir: chains, lazy restore, refusals.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_predump
# Write tracking across pre-dumps (--track-mem): pages read, the holder.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_track_mem
# test_trust forges images as an attacker would, checksums included.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_trust
# A large task's two pages files: restored whole, refused by name when the
# second is changed or gone.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_pages_two_files
TRUST_SRCS := src/images/crc32c.c tests/roundtrip/trust_util.c
$(BUILD)/tests/roundtrip/test_trust: $(TRUST_SRCS) src/images/format.h tests/roundtrip/trust_util.h
$(BUILD)/tests/roundtrip/test_trust: RUNNER_EXTRA := $(TRUST_SRCS) -lxxhash
# test_trust_threads forges a thread's credentials in a core image and the
# inventory that lists it, through their schemas.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_trust_threads
TRUST_THREADS_PROTO := $(BUILD)/gen/images/proto/core.pb-c.c \
	$(BUILD)/gen/images/proto/inventory.pb-c.c $(BUILD)/gen/images/proto/ghost_dir.pb-c.c
$(BUILD)/tests/roundtrip/test_trust_threads: $(TRUST_SRCS) tests/roundtrip/trust_util.h \
	$(TRUST_THREADS_PROTO) | $(PROTO_H)
$(BUILD)/tests/roundtrip/test_trust_threads: RUNNER_EXTRA := $(TRUST_SRCS) \
	$(TRUST_THREADS_PROTO) -lprotobuf-c -lxxhash
# --manage-cgroups on cgroup v1 hierarchies: a named one of its own, pids, cpu.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_cgroup_v1
$(BUILD)/tests/roundtrip/test_cgroup_v1: src/common/cgroup1.c src/common/cgroup1.h
$(BUILD)/tests/roundtrip/test_cgroup_v1: RUNNER_EXTRA := src/common/cgroup1.c src/common/procfs.c \
	src/common/textfile.c
# test_neg_cow rewrites pagemaps, checksums included.
$(BUILD)/tests/roundtrip/test_neg_cow: src/images/crc32c.c src/images/format.h
$(BUILD)/tests/roundtrip/test_neg_cow: RUNNER_EXTRA := src/images/crc32c.c
# The cgroup v2 freezer: trees in a cgroup of their own.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_freezer
# Programs from Debian's packages (sh, python3) through dump and restore.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_real
# A real server (Debian's redis-server) whose client outside the dump stays
# connected across dumps and restores (--tcp-established).
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_redis
# Everyday use: dump and restore at once, the progress line, statistics.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_everyday
# Terminals cryo must refuse: a taken pty index, input it cannot save.
ROUNDTRIP_TESTS += $(BUILD)/tests/roundtrip/test_terminals

# criu's RPC, message by message, against cryo swrk (tests/rpc).
RPC_TESTS := $(BUILD)/tests/rpc/test_rpc $(BUILD)/tests/rpc/test_rpc_predump
RPC_CLIENT := tests/rpc/rpc_client.c src/rpc/wire.c $(BUILD)/gen/rpc/proto/rpc.pb-c.c
RPC_SESSION := tests/rpc/rpc_session.c
$(BUILD)/tests/rpc/test_rpc $(BUILD)/tests/rpc/test_rpc_predump: $(BUILD)/tests/rpc/%: \
		tests/rpc/%.c tests/rpc/rpc_client.h tests/rpc/rpc_session.h $(RPC_SESSION) \
		$(RPC_CLIENT) $(RUNNER_DEPS) $(HARNESS_SRCS) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/lib -Itests/roundtrip -o $@ $< $(RPC_SESSION) $(RPC_CLIENT) \
		$(RUNNER_SRCS) $(HARNESS_SRCS) -lprotobuf-c

# runc end to end: a container checkpointed and restored twice through cryo.
RPC_TESTS += $(BUILD)/tests/rpc/test_runc
$(BUILD)/tests/rpc/test_runc: tests/rpc/test_runc.c tests/rpc/container_util.h $(HARNESS_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/lib -o $@ $< $(HARNESS_SRCS)

# podman end to end: a container of a local image checkpointed and restored
# through runc and cryo, on a bridge twice, exported and imported.
RPC_TESTS += $(BUILD)/tests/rpc/test_podman
$(BUILD)/tests/rpc/test_podman: tests/rpc/test_podman.c tests/rpc/container_util.h $(HARNESS_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/lib -o $@ $< $(HARNESS_SRCS)

# A program written against libcriu's API (src/lib/criu.h), linked to libcryo.
RPC_TESTS += $(BUILD)/tests/rpc/test_libcriu
$(BUILD)/tests/rpc/test_libcriu: tests/rpc/test_libcriu.c src/lib/criu.h $(LIBCRYO) $(RUNNER_DEPS) \
		$(HARNESS_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/lib -Itests/roundtrip -o $@ $< $(RUNNER_SRCS) \
		$(HARNESS_SRCS) -L$(BUILD) -lcryo \
		-Wl,-rpath,'$$ORIGIN/../..'

# The same program built as one built against libcriu would be: linked to a
# library whose soname is libcriu.so.2 (made from libcryo's objects), then
# run with libcriu.so.2 a symlink to libcryo.so.2, as an installation would.
RPC_TESTS += $(BUILD)/tests/rpc/test_libcriu_as_libcriu
$(BUILD)/tests/rpc/link-as-libcriu/libcriu.so.2: $(LIB_OBJS) src/lib/libcryo.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libcriu.so.2 -Wl,--version-script=src/lib/libcryo.map \
		-o $@ $(LIB_OBJS) -lprotobuf-c
$(BUILD)/tests/rpc/test_libcriu_as_libcriu: tests/rpc/test_libcriu.c src/lib/criu.h $(LIBCRYO) \
		$(BUILD)/tests/rpc/link-as-libcriu/libcriu.so.2 $(RUNNER_DEPS) $(HARNESS_SRCS)
	@mkdir -p $(BUILD)/tests/rpc/run-as-libcriu
	ln -sf ../../../libcryo.so.2 $(BUILD)/tests/rpc/run-as-libcriu/libcriu.so.2
	$(CC) $(ALL_CFLAGS) -Itests/lib -Itests/roundtrip -o $@ $< $(RUNNER_SRCS) \
		$(HARNESS_SRCS) \
		$(BUILD)/tests/rpc/link-as-libcriu/libcriu.so.2 -Wl,-rpath,'$$ORIGIN/run-as-libcriu'

# The fuzz target needs clang's libFuzzer; it runs a bounded number of inputs
# as part of the tests.
FUZZ_CC ?= clang
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# Every part's image checks, and the list that registers them.
FUZZ_SRCS := $(wildcard src/images/*.c src/common/*.c) src/task/validate.c src/files/ghost_dir_check.c src/mem/mm_image.c src/tree/tree.c src/files/locks_image.c \
	src/files/image_check.c src/ipc/sysv_shm_image.c src/ipc/sysv_objects_image.c src/ns/image.c src/ns/mnt_image.c \
	src/ns/ipc_image.c src/ns/net_image.c src/ns/net_rtnl_check.c src/task/cgroup_image.c \
	src/ns/user_image.c src/task/cpuinfo.c src/task/cpuinfo_image.c \
	src/cli/image_kinds.c \
	$(PROTO_C)
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_COMMON) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_SRCS) $(LDLIBS)

# The whole-set target runs restore's load-and-validate path, so it links
# the whole core, built by clang with libFuzzer's coverage. clang 14 warns
# of fields left out of positional initializers that gcc (and C) zero.
FUZZ_CORE_OBJS := $(patsubst src/%.c,$(BUILD)/fuzz-obj/%.o,$(CORE_SRCS)) \
	$(patsubst $(BUILD)/gen/%.c,$(BUILD)/fuzz-obj/gen/%.o,$(PROTO_C) $(RPC_PROTO_C))
FUZZ_OBJ_FLAGS := $(CFLAGS_COMMON) -Wno-missing-field-initializers -g -O1 -fsanitize=fuzzer-no-link,address,undefined -MMD -MP
$(BUILD)/fuzz-obj/%.o: src/%.c | $(PROTO_H) $(BLOB_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -c $< -o $@
$(BUILD)/fuzz-obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -c $< -o $@
$(BUILD)/tests/fuzz/fuzz_set: tests/fuzz/fuzz_set.c $(FUZZ_CORE_OBJS) $(LIBINJECT) $(BLOB_EMBEDS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_COMMON) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_CORE_OBJS) $(BLOB_EMBEDS) $(LIBINJECT) $(LDLIBS)

# ---- benchmarks (bench/, never part of the tests) ----------------------------
# The workloads speak the round-trip protocol of tests/roundtrip/prog.c.
BENCH_WORKLOADS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/wl_*.c))
$(BUILD)/bench/wl_%: bench/wl_%.c bench/pattern.h bench/answers.h tests/roundtrip/userns_maps.h tests/roundtrip/prog.c tests/roundtrip/prog.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/roundtrip -pthread -o $@ $< tests/roundtrip/prog.c
BENCH_RUN_SRCS := bench/run.c bench/workloads.c bench/runner.c bench/report.c bench/freeze.c \
	bench/reference.c bench/floor.c
$(BUILD)/bench/run: $(BENCH_RUN_SRCS) $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_RUN_SRCS)
# Images go under /var/tmp (on disk), and the memory workloads run again
# with them in /dev/shm. make bench BENCH_ARGS="-n 5 -w anon": five runs,
# only the workloads whose name has "anon". CRIU=/path/to/criu adds criu's
# columns. bench/run.c says more.
BENCH_ARGS ?= -m /dev/shm

TEST_BINS := $(CRYO_SAN) $(UNIT_TESTS) $(INJECT_TESTS) $(INJECT_PROGS) $(ROUNDTRIP_PROGS) $(ROUNDTRIP_TESTS) \
	$(NEGATIVE_PROGS) $(FUZZ_TARGETS) $(RPC_TESTS)

# ---- top-level targets ------------------------------------------------------
.PHONY: all test demo bench install clean
all: $(CRYO) $(LIBCRYO)

demo: all $(BUILD)/examples/counter
	scripts/demo

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Builds every test without running them.
tests: all $(TEST_BINS)

test: tests
	tests/run

bench: all $(BENCH_WORKLOADS) $(BUILD)/bench/run
	$(BUILD)/bench/run $(BENCH_ARGS) $(BUILD)/bench $(CRYO)

install: $(CRYO) $(LIBCRYO)
	install -D -m 0755 $(CRYO) $(DESTDIR)$(PREFIX)/sbin/cryo
	install -D -m 0644 docs/cryo.8 $(DESTDIR)$(PREFIX)/share/man/man8/cryo.8
	install -D -m 0755 $(LIBCRYO) $(DESTDIR)$(PREFIX)/lib/libcryo.so.2
	ln -sf libcryo.so.2 $(DESTDIR)$(PREFIX)/lib/libcryo.so
	install -D -m 0644 src/lib/criu.h $(DESTDIR)$(PREFIX)/include/cryo/criu.h
	mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig
	$(LIBCRYO_PC_SED) src/lib/libcryo.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libcryo.pc
	install -D -m 0644 src/inject/inject.h $(DESTDIR)$(PREFIX)/include/cryo/inject.h
	install -D -m 0644 $(LIBINJECT) $(DESTDIR)$(PREFIX)/lib/libcryo-inject.a

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# hoist: container-native training job runner.
# Plain make + pkg-config.  `make help` lists the targets.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/hoist
DATADIR ?= $(PREFIX)/share/hoist
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build
BIN ?= bin

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PKGS := libcurl jansson yaml-0.1 libarchive libcrypto libsystemd sqlite3 libmicrohttpd expat libzstd zlib
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Defaults a user may override ...
CFLAGS ?= -O2 -g
LDFLAGS ?=
# ... and what the build needs.
WARNINGS := -std=gnu17 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wformat=2 -Wwrite-strings -Wundef
HARDENING := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
override CFLAGS += $(WARNINGS) $(HARDENING) -D_GNU_SOURCE -pthread -I. -iquote lib \
	-DHOIST_VERSION='"$(VERSION)"' -DHOIST_GIT_REV='"$(GIT_REV)"' $(PKG_CFLAGS)
override LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed -pthread
LIBS := $(PKG_LIBS) -ldl -lm
# hoist-entrypoint's start-up loads as little as it can (bench/entrypoint):
# libcurl and libsystemd are dlopen()ed on first use (entrypoint/lazy/curl.c,
# lib/notify.c), so --as-needed leaves them out of the link; libarchive is
# linked statically where a libarchive.a exists, so only the reader's objects
# come in, not the writers' format table with libxml2 and ICU.  Its own
# dependencies are named by the shared libraries libarchive.so uses (not
# every -dev package is installed); --as-needed keeps those it calls.  Those
# and the other small libraries are linked statically where a .a exists:
# each shared library costs the loader about 0.1 ms.
STATIC_LIBDIR := $(shell $(PKG_CONFIG) --variable=libdir libarchive 2>/dev/null)
ARCHIVE_DEPS := $(if $(wildcard $(STATIC_LIBDIR)/libarchive.a),$(shell \
	ldd $(STATIC_LIBDIR)/libarchive.so 2>/dev/null | \
	awk '$$2 == "=>" && $$3 ~ /^\// && $$1 !~ /^lib(c|m|dl|pthread)\./ {print $$3}'))
# -lNAME or /path/libNAME.so.N: STATIC_LIBDIR/libNAME.a where it exists, else itself.
static_or = $(or $(wildcard $(STATIC_LIBDIR)/$(if $(filter -l%,$(1)),lib$(1:-l%=%),$(firstword \
	$(subst .so, ,$(notdir $(1))))).a),$(1))
ENTRY_STATIC := -larchive $(ARCHIVE_DEPS) -ljansson -lexpat -lzstd -lz
ENTRY_LIBS := $(foreach l,$(subst -larchive,-larchive $(ARCHIVE_DEPS),$(LIBS)),$(if \
	$(filter $(ENTRY_STATIC),$(l)),$(call static_or,$(l)),$(l)))
ENTRY_LAZY := $(BUILD)/entrypoint/lazy/curl.o

# Quiet by default: one "  CC      build/lib/s3.o" line per step (none under
# make -s); V=1 prints each command in full.
V ?= 0
ifeq ($(V),1)
say :=
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
say = @
else
say = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

LIB_SRCS := $(sort $(wildcard lib/*.c))
RUNNER_SRCS := $(sort $(filter-out runner/cli/main.c,$(wildcard runner/*.c runner/*/*.c providers/*.c)))
ENTRY_SRCS := $(sort $(filter-out entrypoint/main.c,$(wildcard entrypoint/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TESTLIB_SRCS := $(sort $(wildcard tests/unit/helpers/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# The price tables, embedded in hoist at build time (docs/cost.md).
PRICES_YAML := $(sort $(wildcard providers/prices/*.yaml))
PRICES_DATA := $(BUILD)/gen/prices_data.c
RUNNER_OBJS := $(RUNNER_SRCS:%.c=$(BUILD)/%.o) $(PRICES_DATA:%.c=%.o) $(BUILD)/gen/ui_files.o
ENTRY_OBJS := $(ENTRY_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
ALL_OBJS := $(LIB_OBJS) $(RUNNER_OBJS) $(ENTRY_OBJS) $(BUILD)/runner/cli/main.o $(BUILD)/entrypoint/main.o \
	$(ENTRY_LAZY)

LIBHOIST := $(BUILD)/libhoist.a
LIBRUNNER := $(BUILD)/librunner.a
LIBENTRY := $(BUILD)/libentry.a

.PHONY: all help test unit fuzz-replay fuzz integration check check-format check-scripts format analyze \
	asan asan-bins asan-integration integration-plain integration-ci tools valgrind bundle quickstart install uninstall run clean bench bench-entrypoint \
	bench-build bench-layer bench-serve-flood bench-sync

all: $(BIN)/hoist $(BIN)/hoist-entrypoint quickstart

help:
	@echo "make [all]         build bin/hoist, bin/hoist-entrypoint and the quickstart trainer"
	@echo "make test          unit tests (cmocka) and fuzz corpus replay"
	@echo "make integration   integration tests against real peers (podman, ...)"
	@echo "make integration-plain  the suites CI runs neither under valgrind nor with ASan"
	@echo "make check         test + check-format + analyze + check-scripts + check-boundaries"
	@echo "make asan          ASan+UBSan build running the unit tests"
	@echo "make asan-integration  the suites CI runs with ASan+UBSan binaries (ASAN_SUITES)"
	@echo "make valgrind      the suites CI runs with the binaries under valgrind (VALGRIND_SUITES)"
	@echo "make integration-ci    what CI runs: every suite once, TEST_LANES=$(TEST_LANES) at a time"
	@echo "make fuzz          libFuzzer builds of every fuzz target (clang)"
	@echo "make bundle        $(BUILD)/hoist-entrypoint-bundle.tar: the /opt/hoist layer"
	@echo "make run           run the quickstart training job end to end"
	@echo "make install       install into DESTDIR/PREFIX (default $(PREFIX))"
	@echo "make bench         bench/s3: hoist vs awscli, rclone and raw curl (BENCH_BIG_MB, ...)"
	@echo "make bench-entrypoint  bench/entrypoint: start-up and memory of hoist-entrypoint vs tini"
	@echo "make bench-sync    bench/sync: incremental sync vs aws s3 sync, rclone, s3cmd, the one-tar path"
	@echo "make bench-build   bench/build: hoist build + push vs buildah bud + push"
	@echo "make bench-layer   bench/layer: the parallel layer compressor vs gzip, pigz, zstd"
	@echo "make bench-serve-flood  bench/serve: requests during 5,000 idle connections, old server vs new"
	@echo "make bench-serve-api    bench/serve/api.sh: REST API (10,000 jobs, 1,000,000 points) and webhook ingest vs nginx"

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The dashboard's static files, embedded in hoist (runner/serve/ui.h); the
# folder itself is a prerequisite so that adding or removing a file counts.
UI_FILES := $(sort $(shell find runner/serve/ui -type f ! -name '.*' 2>/dev/null))
runner/serve/ui: ; # a folder, not made from runner/serve/ui.c by make's built-in rule
$(BUILD)/gen/ui_files.c: $(UI_FILES) runner/serve/ui scripts/embed-ui.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)scripts/embed-ui.sh runner/serve/ui $@

$(BUILD)/gen/ui_files.o: $(BUILD)/gen/ui_files.c runner/serve/ui.h
	$(call say,CC,$@)$(CC) $(CFLAGS) -c -o $@ $<

# The REST API's OpenAPI document is embedded in it (.incbin).
$(BUILD)/runner/serve/api.o: runner/serve/openapi.json

$(PRICES_DATA): $(PRICES_YAML) scripts/embed-prices.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)scripts/embed-prices.sh $@ $(PRICES_YAML)

$(PRICES_DATA:%.c=%.o): $(PRICES_DATA)
	$(call say,CC,$@)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBHOIST): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBRUNNER): $(RUNNER_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBENTRY): $(ENTRY_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(BIN)/hoist: $(BUILD)/runner/cli/main.o $(LIBRUNNER) $(LIBHOIST)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hoist-entrypoint: $(BUILD)/entrypoint/main.o $(ENTRY_LAZY) $(LIBENTRY) $(LIBHOIST)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(ENTRY_LIBS)

# ---- the quickstart trainer: static, so it runs in an image with no libc ----
QUICKSTART_SRCS := $(wildcard examples/quickstart/*.c)
quickstart: $(if $(QUICKSTART_SRCS),$(BIN)/hoist-quickstart)
$(BIN)/hoist-quickstart: $(QUICKSTART_SRCS) $(wildcard examples/quickstart/*.h)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) -O2 -g $(WARNINGS) -static -o $@ $(QUICKSTART_SRCS) -lm

# ---- tests ----
$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_SRCS) $(LIBRUNNER) $(LIBENTRY) $(LIBHOIST)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(TESTLIB_SRCS) \
		$(LIBRUNNER) $(LIBENTRY) $(LIBHOIST) $(CMOCKA_LIBS) $(LIBS)

# A fuzz target built with a replay main(): CI replays the corpus without libFuzzer.
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBRUNNER) $(LIBENTRY) $(LIBHOIST)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBRUNNER) $(LIBENTRY) $(LIBHOIST) $(LIBS)

# Small drivers the integration tests run against real peers.
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/*.c))
$(BUILD)/tests/%: tests/tools/%.c $(LIBHOIST)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHOIST) $(LIBS)

# A stand-in libnvidia-ml.so.1 for the GPU health tests (tests/fake_nvml/).
FAKE_NVML := $(BUILD)/tests/fake_nvml/libnvidia-ml.so.1
$(FAKE_NVML): tests/fake_nvml/fake_nvml.c
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,libnvidia-ml.so.1 -o $@ $<

unit: $(UNIT_BINS) $(FAKE_NVML) $(BIN)/hoist $(BIN)/hoist-entrypoint quickstart
	@tests/run-unit.sh $(UNIT_BINS)

fuzz-replay: $(FUZZ_BINS)
	@tests/run-fuzz-replay.sh $(FUZZ_BINS)

test: unit fuzz-replay

integration: all bundle $(TOOLS) $(FAKE_NVML)
	@tests/run-integration.sh

# What CI runs plainly: every suite but those it runs under valgrind or with
# ASan+UBSan binaries (make valgrind, make asan-integration), so that each
# suite runs once and the whole run keeps to its time budget.
INTEGRATION_SUITES = $(sort $(wildcard tests/integration/test_*.sh))
integration-plain: all bundle $(TOOLS) $(FAKE_NVML)
	@tests/run-integration.sh $(filter-out $(ASAN_SUITES) $(VALGRIND_SUITES),$(INTEGRATION_SUITES))

# libFuzzer builds, for finding new inputs (not needed to replay).
FUZZ_CC ?= clang
fuzz:
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -DHOIST_LIBFUZZER" \
		LDFLAGS="-fsanitize=fuzzer,address,undefined" $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/fuzz/%)

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin \
		CFLAGS="$(ASAN_CFLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" test

# The integration suites that drive hoist and hoist-entrypoint with
# containers (podman) beside file storage and the built-in S3 endpoint, with
# both under valgrind.  The suites that run no container are in ASAN_SUITES
# (the same leak and memory checks, several times faster).
VALGRIND_SUITES := tests/integration/test_builtin_storage.sh \
	tests/integration/test_events.sh \
	tests/integration/test_resources.sh \
	tests/integration/test_secrets.sh \
	tests/integration/test_code.sh \
	tests/integration/test_gc.sh
valgrind: all bundle
	@tests/run-integration.sh $(VALGRIND_SUITES:%=valgrind:%)

# The integration suites that run no container (the entrypoint, process
# jobs, the built-in S3 endpoint, checkpoints, the CLI), and those of the
# newest host and entrypoint code (the image builder, the GPU monitor, the
# multi-node worker group, the Slurm provider and the control plane's
# schedule, node results and node logs), with ASan+UBSan binaries: a leak or
# an error ends the process non-zero and fails the suite.  Containers and
# Slurm's nodes still get the normal bundle.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_SUITES := tests/integration/test_entrypoint.sh tests/integration/test_local_process.sh \
	tests/integration/test_serve_s3.sh tests/integration/test_checkpoints.sh \
	tests/integration/test_cli.sh \
	tests/integration/test_build.sh tests/integration/test_gpu_health.sh \
	tests/integration/test_multinode.sh tests/integration/test_slurm_frame.sh \
	tests/integration/test_logs_nodes.sh tests/integration/test_sagemaker_container.sh \
	tests/integration/test_cost.sh tests/integration/test_api.sh tests/integration/test_serve_flood.sh \
	tests/integration/test_kube_access.sh tests/integration/test_registry.sh
tools: $(TOOLS) $(FAKE_NVML)
# hoist, hoist-entrypoint and the test tools with ASan+UBSan, in build-asan/
asan-bins:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin CFLAGS="$(ASAN_CFLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" all tools
asan-integration: bundle asan-bins
	@HOIST_ASAN_BUNDLE_DIR=$(CURDIR)/$(BUILD)/bundle/opt/hoist tests/run-integration.sh $(ASAN_SUITES:%=asan:%)

# What CI runs: every suite once (plainly, under valgrind or with ASan+UBSan
# binaries, as above), $(TEST_LANES) at a time.  Most of a suite's time is
# waiting (on podman, peers, a job's steps), so suites side by side keep two
# cores busy; the longest start first, so that no lane ends long after the
# others.
TEST_LANES ?= 3
CI_SUITES := $(filter-out $(ASAN_SUITES) $(VALGRIND_SUITES),$(INTEGRATION_SUITES)) \
	$(VALGRIND_SUITES:%=valgrind:%) $(ASAN_SUITES:%=asan:%)
CI_FIRST := tests/integration/test_pytorch.sh valgrind:tests/integration/test_gc.sh \
	tests/integration/test_compose.sh tests/integration/test_kubernetes.sh \
	tests/integration/test_sagemaker.sh tests/integration/test_slurm.sh \
	asan:tests/integration/test_checkpoints.sh asan:tests/integration/test_serve_s3.sh \
	tests/integration/test_slurm_ddp.sh asan:tests/integration/test_api.sh \
	valgrind:tests/integration/test_secrets.sh valgrind:tests/integration/test_resources.sh
integration-ci: all bundle $(TOOLS) $(FAKE_NVML) asan-bins
	@HOIST_TEST_LANES=$(TEST_LANES) HOIST_ASAN_BUNDLE_DIR=$(CURDIR)/$(BUILD)/bundle/opt/hoist \
		tests/run-integration.sh $(CI_FIRST) $(filter-out $(CI_FIRST),$(CI_SUITES))

analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE -D__GNUC__ -Ilib \
		lib runner providers entrypoint

CLANG_FORMAT ?= clang-format
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
check-format:
	@out=$$($(CLANG_FORMAT) --dry-run $(FORMAT_SRCS) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; \
		echo "check-format: run 'make format'"; exit 1; fi; echo "check-format: ok"

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# pipelines that die of SIGPIPE under pipefail (scripts/check-pipes.sh)
check-scripts:
	@scripts/check-pipes.sh

# includes across folders that must not know each other (scripts/check-boundaries.sh)
.PHONY: check-boundaries
check-boundaries:
	@scripts/check-boundaries.sh

check: test check-format analyze check-scripts check-boundaries

# ---- the entrypoint bundle: /opt/hoist with its own loader and libraries ----
BUNDLE_DIR := $(BUILD)/bundle
BUNDLE_INTERP := /opt/hoist/lib/ld-linux-x86-64.so.2
$(BUILD)/bundle-entrypoint: $(BUILD)/entrypoint/main.o $(ENTRY_LAZY) $(LIBENTRY) $(LIBHOIST)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -Wl,--dynamic-linker=$(BUNDLE_INTERP) -Wl,--disable-new-dtags \
		-Wl,-rpath,/opt/hoist/lib -o $@ $^ $(ENTRY_LIBS)

bundle: $(BUILD)/hoist-entrypoint-bundle.tar
$(BUILD)/hoist-entrypoint-bundle.tar: $(BUILD)/bundle-entrypoint scripts/mkbundle.sh
	$(call say,GEN,$@)scripts/mkbundle.sh $(BUILD)/bundle-entrypoint $(BUNDLE_DIR) $@

# ---- install / run ----
install: all bundle
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(BIN)/hoist $(BIN)/hoist-entrypoint $(DESTDIR)$(BINDIR)/
	install -m 0644 $(BUILD)/hoist-entrypoint-bundle.tar $(DESTDIR)$(DATADIR)/
	install -m 0644 containers.conf $(DESTDIR)$(DATADIR)/
	rm -rf $(DESTDIR)$(DATADIR)/bundle && mkdir -p $(DESTDIR)$(DATADIR)/bundle
	tar -C $(DESTDIR)$(DATADIR)/bundle -xf $(BUILD)/hoist-entrypoint-bundle.tar

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hoist $(DESTDIR)$(BINDIR)/hoist-entrypoint
	rm -rf $(DESTDIR)$(DATADIR)

run: all bundle
	scripts/quickstart.sh

# Speed, side by side with peers in the same run (bench/README.md).
$(BUILD)/bench/s3bench: bench/s3/s3bench.c $(LIBHOIST)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHOIST) $(LIBS)

bench: all $(BUILD)/tests/s3tool $(BUILD)/bench/s3bench
	bench/s3/run.sh

# bench/sync: incremental sync and staging beside aws s3 sync, rclone sync,
# s3cmd sync and hoist's old one-tar path, against one server.
bench-sync: $(BIN)/hoist $(BIN)/hoist-entrypoint $(BUILD)/tests/s3tool
	bench/sync/run.sh

# bench/entrypoint: exec-to-exec time and resident memory, beside tini.
$(BUILD)/bench/entrybench: bench/entrypoint/entrybench.c
	@mkdir -p $(@D)
	$(CC) -O2 $(WARNINGS) -static -o $@ $<

$(BUILD)/bench/curlfloor: bench/entrypoint/curlfloor.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -ldl

bench-entrypoint: $(BIN)/hoist $(BIN)/hoist-entrypoint $(BUILD)/bench/entrybench $(BUILD)/bench/curlfloor \
		$(BUILD)/tests/s3tool
	HOIST_BIN=$(BIN) HOIST_BUILD=$(BUILD) bench/entrypoint/run.sh

# bench/layer: the parallel layer compressor beside gzip, pigz and zstd.
$(BUILD)/bench/compressbench: bench/layer/compressbench.c $(BUILD)/runner/image/compress.o $(LIBHOIST)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

bench-layer: $(BUILD)/bench/compressbench
	bench/layer/run.sh $(BUILD)/bench/compressbench

# bench/serve/flood.sh: normal requests during a flood of idle connections,
# the server before the epoll rework (built from BENCH_OLD_REV) beside this one.
bench-serve-flood: $(BIN)/hoist
	bench/serve/flood.sh

# bench/build: hoist build + push beside buildah bud + push, one registry.
bench-build: $(BIN)/hoist
	BENCH_HOIST_BIN=$(BIN) bench/build/run.sh

# bench/serve/api.sh: the REST API and webhook ingest beside nginx.
.PHONY: bench-serve-api
bench-serve-api: $(BIN)/hoist
	HOIST_BIN=$(BIN) bench/serve/api.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BIN)

-include $(ALL_OBJS:.o=.d)

# cgfw: one non-recursive GNU Makefile; each directory adds itself in module.mk.
# Everything generated goes to build/.  V=1 shows full commands, WERROR=1 adds
# -Werror (CI sets it), SAN=address,undefined builds with sanitizers (and a
# weakened sandbox, said loudly at every start) into build-san/, so both
# builds live side by side; make check-san builds that and runs the suite on it.

.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

B		:= $(if $(SAN),build-san,build)
PREFIX		?= /usr/local
DESTDIR		?=
ARCH		:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH	:= $(shell gcc -print-multiarch 2>/dev/null)

CC		?= gcc
CLANG		?= clang
LLVM_STRIP	?= llvm-strip
BPFTOOL		?= bpftool
PROTOC_C	?= protoc-c

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -MMD -MP -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
		   -Wshadow -Wformat=2 -D_GNU_SOURCE -fstack-protector-strong -fPIE \
		   -I. -I$(B) -I$(B)/proto
LDFLAGS		+= -pie -Wl,-z,relro,-z,now
ifeq ($(WERROR),1)
CFLAGS		+= -Werror
endif
ifneq ($(SAN),)
CFLAGS		+= -fsanitize=$(SAN) -fno-omit-frame-pointer -DCGFW_WEAK_SANDBOX
LDFLAGS		+= -fsanitize=$(SAN)
else
# A build without sanitizers is a release build: lib/sandbox.c refuses to
# weaken its sandbox there.
CFLAGS		+= -D_FORTIFY_SOURCE=2 -DCGFW_RELEASE
endif

BORINGSSL_CFLAGS ?= -I/usr/include/android
BORINGSSL_LIBS	 ?= -L/usr/lib/$(MULTIARCH)/android -Wl,-rpath,/usr/lib/$(MULTIARCH)/android -lssl -lcrypto

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

BINS :=
ALL_DEPS :=

include proto/module.mk
include bpf/module.mk
include lib/module.mk
include loader/module.mk
include monitor/module.mk
include dnsproxy/module.mk
include httpproxy/module.mk
include ctl/module.mk
include supervisor/module.mk
include tests/module.mk
include tests/fuzz/module.mk
include bench/module.mk

all: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c $< -o $@

# make deps: every Debian package needed to build and test (make bench adds its own).
DEPS_LIST := $(shell sed -e 's/\#.*//' packaging/debian/build-deps)
deps:
	@missing=$$(for p in $(DEPS_LIST); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	else echo "deps: all installed"; fi

demo: deps all users
	@bash tests/demo.sh

check: deps all $(TEST_BINS) $(FUZZ_BINS) $(EVENTS_DOC)
	@CGFW_BUILD=$(B) CGFW_SAN=$(SAN) bash tests/run.sh

# make docs: docs/events.md's generated tables again (make check fails while they differ).
docs: $(EVENTS_DOC)
	$(call say,GEN,docs/events.md)$(EVENTS_DOC) <docs/events.md >docs/events.md.tmp && \
		mv docs/events.md.tmp docs/events.md

# The whole suite again on the sanitizer build (tests/run.sh: how reports fail it;
# tests/lsan.supp: the documented at-exit suppressions).  .ci/run runs it too.
check-san:
	@$(MAKE) --no-print-directory SAN=address,undefined check

# The benchmark's own packages (packaging/debian/bench-deps) are installed here only.
bench: deps all
	@bash bench/deps.sh packaging/debian/bench-deps
	@bash bench/run.sh

# make bench-profile: the HTTP, DNS and start-up rows, 3 runs a side, with
# perf and strace profiles of each into build/bench-profile (docs/performance.md).
bench-profile: deps all
	@bash bench/deps.sh packaging/debian/bench-deps
	@BENCH_PROFILE=build/bench-profile BENCH_RUNS=3 \
	    BENCH_ONLY="bench_startup bench_dns bench_http" bash bench/run.sh

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC)

SYSUSERSDIR	?= /usr/lib/sysusers.d
TMPFILESDIR	?= /usr/lib/tmpfiles.d
SYSTEMDUNITDIR	?= /usr/lib/systemd/system
SYSTEMDGENDIR	?= /usr/lib/systemd/system-generators

# DESTDIR-aware.  The unit names the loader where it is installed (PREFIX).
install: all
	install -d $(DESTDIR)$(PREFIX)/libexec/cgfw $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMDGENDIR)
	install -m 0755 $(B)/cgfw-loader $(B)/cgfw-monitor $(B)/cgfw-dnsproxy \
		$(B)/cgfw-httpproxy $(B)/cgfw-ctl $(B)/cgfw-supervisor $(DESTDIR)$(PREFIX)/libexec/cgfw/
	ln -sf ../libexec/cgfw/cgfw-loader $(DESTDIR)$(PREFIX)/sbin/cgfw-loader
	install -m 0644 man/cgfw-loader.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 man/cgfw.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 packaging/sysusers.d/cgfw.conf $(DESTDIR)$(SYSUSERSDIR)/cgfw.conf
	install -m 0644 packaging/tmpfiles.d/cgfw.conf $(DESTDIR)$(TMPFILESDIR)/cgfw.conf
	sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' packaging/systemd/cgfw@.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/cgfw@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/cgfw@.service
	install -m 0644 packaging/systemd/cgfw.slice $(DESTDIR)$(SYSTEMDUNITDIR)/cgfw.slice
	install -m 0755 packaging/systemd/cgfw-generator $(DESTDIR)$(SYSTEMDGENDIR)/cgfw-generator
	@if [ -z "$(DESTDIR)" ]; then $(MAKE) --no-print-directory users; fi

# The workers' users (packaging/sysusers.d/cgfw.conf), where missing.
users:
	@for u in $$(awk '$$1 == "u" { print $$2 }' packaging/sysusers.d/cgfw.conf); do \
		getent passwd $$u >/dev/null && continue; \
		echo "creating system user $$u"; \
		useradd --system --user-group --no-create-home --home-dir / \
			--shell /usr/sbin/nologin --comment "cgfw worker" $$u || exit 1; \
	done

clean:
	rm -rf build build-san

.PHONY: all deps demo check check-san docs bench bench-profile format-check install users clean

-include $(ALL_DEPS)

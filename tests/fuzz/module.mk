# Fuzz targets.  Each tests/fuzz/fuzz_<name>.c is linked with tests/fuzz/replay.c, built
# with the normal toolchain into build/tests/ so "make check" replays the seeds
# in tests/fuzz/corpus/<name>/; "make fuzz" builds the libFuzzer binaries with
# clang and sanitizers and runs each for FUZZ_SECONDS seconds (FUZZ_TIME is the
# old name) on a copy of its corpus (the committed seeds are never written to).
# The fuzz_ipc_* targets are every IPC message handler of each worker and of the
# loader's process (cgfw-supervisor), fed by hostile peers (tests/fuzz/ipc_harness.h); "make ipc-seeds" rewrites their
# seeds (tests/fuzz/make_ipc_seeds.c).  FUZZ_NAMES="ipc_monitor ipc_loader" on the
# command line runs only those targets.

FUZZ_BINS	+= $(B)/tests/fuzz_dnsmsg $(B)/tests/fuzz_http_request $(B)/tests/fuzz_clienthello \
		   $(B)/tests/fuzz_config $(B)/tests/fuzz_listfile \
		   $(B)/tests/fuzz_ipc_monitor $(B)/tests/fuzz_ipc_dnsproxy $(B)/tests/fuzz_ipc_httpproxy \
		   $(B)/tests/fuzz_ipc_loader \
		   $(B)/tests/fuzz_cpolicy
FUZZ_TIME	?= 60
FUZZ_SECONDS	?= $(FUZZ_TIME)
FUZZ_CFLAGS	?= -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Wall -Wextra \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		   -DCGFW_LIBFUZZER
ALL_DEPS	+= $(B)/tests/fuzz/fuzz_dnsmsg.d $(B)/tests/fuzz/fuzz_http_request.d \
		   $(B)/tests/fuzz/fuzz_config.d $(B)/tests/fuzz/fuzz_listfile.d \
		   $(B)/tests/fuzz/fuzz_clienthello.d $(B)/tests/fuzz/ipc_harness.d \
		   $(B)/tests/fuzz/fuzz_ipc_monitor.d $(B)/tests/fuzz/fuzz_ipc_dnsproxy.d \
		   $(B)/tests/fuzz/fuzz_ipc_httpproxy.d $(B)/tests/fuzz/make_ipc_seeds.d \
		   $(B)/tests/fuzz/fuzz_ipc_loader.d $(B)/tests/fuzz/sup_nomain.d \
		   $(B)/tests/fuzz/fuzz_cpolicy.d

$(B)/tests/fuzz/ipc_harness.o $(B)/tests/fuzz/fuzz_ipc_monitor.o \
    $(B)/tests/fuzz/fuzz_ipc_dnsproxy.o $(B)/tests/fuzz/fuzz_ipc_httpproxy.o \
    $(B)/tests/fuzz/make_ipc_seeds.o $(B)/tests/fuzz/fuzz_config.o: $(PROTO_H)
$(B)/tests/fuzz/fuzz_ipc_loader.o $(B)/tests/fuzz/sup_nomain.o: $(PROTO_H) $(BPF_SKEL)

$(B)/tests/fuzz_dnsmsg: $(B)/tests/fuzz/fuzz_dnsmsg.o $(B)/tests/fuzz/replay.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/fuzz_cpolicy: $(B)/tests/fuzz/fuzz_cpolicy.o $(B)/tests/fuzz/replay.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/fuzz_http_request: $(B)/tests/fuzz/fuzz_http_request.o $(B)/tests/fuzz/replay.o \
    $(B)/httpproxy/http_parse.o \
    $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ -lhttp_parser

$(B)/tests/fuzz_clienthello: $(B)/tests/fuzz/fuzz_clienthello.o $(B)/tests/fuzz/replay.o \
    $(B)/httpproxy/tls.o
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDFLAGS) $(BORINGSSL_LIBS)

$(B)/tests/fuzz_config: $(B)/tests/fuzz/fuzz_config.o $(B)/tests/fuzz/replay.o \
    $(B)/loader/options.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -linih

$(B)/tests/fuzz_listfile: $(B)/tests/fuzz/fuzz_listfile.o $(B)/tests/fuzz/replay.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(B)/tests/fuzz_ipc_monitor: $(B)/tests/fuzz/fuzz_ipc_monitor.o $(B)/tests/fuzz/ipc_harness.o \
    $(B)/tests/fuzz/replay.o $(B)/monitor/monitor.o $(B)/monitor/events.o \
    $(B)/monitor/stream.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv

$(B)/tests/fuzz_ipc_dnsproxy: $(B)/tests/fuzz/fuzz_ipc_dnsproxy.o $(B)/tests/fuzz/ipc_harness.o \
    $(B)/tests/fuzz/replay.o $(B)/dnsproxy/dnsproxy.o $(B)/dnsproxy/judge.o \
    $(B)/dnsproxy/resolve.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv -lcares

$(B)/tests/fuzz_ipc_httpproxy: $(B)/tests/fuzz/fuzz_ipc_httpproxy.o $(B)/tests/fuzz/ipc_harness.o \
    $(B)/tests/fuzz/replay.o $(B)/httpproxy/httpproxy.o $(B)/httpproxy/http_parse.o \
    $(B)/httpproxy/tls.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) -luv $(LDFLAGS) $(BORINGSSL_LIBS)

# The supervisor's objects with its main() renamed (sup_nomain.o), so the fuzzer has one.
$(B)/tests/fuzz/sup_nomain.o: supervisor/supervisor.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(CFLAGS) -Wno-missing-prototypes -Dmain=cgfw_sup_main -c $< -o $@

$(B)/tests/fuzz_ipc_loader: $(B)/tests/fuzz/fuzz_ipc_loader.o $(B)/tests/fuzz/ipc_harness.o \
    $(B)/tests/fuzz/replay.o $(B)/tests/fuzz/sup_nomain.o \
    $(filter-out $(B)/supervisor/supervisor.o,$(SUP_OBJ)) $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) $(LDFLAGS)

# Writes the seeds of the fuzz_ipc_* targets (valid conversations): make ipc-seeds.
$(B)/tests/make_ipc_seeds: $(B)/tests/fuzz/make_ipc_seeds.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

ipc-seeds: $(B)/tests/make_ipc_seeds
	$(B)/tests/make_ipc_seeds tests/fuzz/corpus

# The library sources are compiled in, not linked from libcgfw.a, so libFuzzer
# sees their coverage.
$(B)/fuzz/fuzz_dnsmsg: tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c lib/dnsmsg.h
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c

$(B)/fuzz/fuzz_http_request: tests/fuzz/fuzz_http_request.c httpproxy/http_parse.c lib/rules.c \
    lib/log.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_http_request.c \
		httpproxy/http_parse.c lib/rules.c lib/log.c -lhttp_parser

$(B)/fuzz/fuzz_clienthello: tests/fuzz/fuzz_clienthello.c httpproxy/tls.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) $(BORINGSSL_CFLAGS) -o $@ \
		tests/fuzz/fuzz_clienthello.c httpproxy/tls.c $(BORINGSSL_LIBS)

$(B)/fuzz/fuzz_cpolicy: tests/fuzz/fuzz_cpolicy.c lib/cpolicy.c lib/cpolicy.h
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_cpolicy.c lib/cpolicy.c


FUZZ_LIB_SRCS := lib/listfile.c lib/namepolicy.c lib/rules.c lib/log.c

$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c loader/options.c $(FUZZ_LIB_SRCS) $(PROTO_H) \
    $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -I$(B) -I$(B)/proto -o $@ tests/fuzz/fuzz_config.c \
		loader/options.c $(FUZZ_LIB_SRCS) $(LIBCGFW) $(LIB_LIBS) -linih

$(B)/fuzz/fuzz_listfile: tests/fuzz/fuzz_listfile.c $(FUZZ_LIB_SRCS) $(PROTO_H) $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -I$(B) -I$(B)/proto -o $@ tests/fuzz/fuzz_listfile.c \
		$(FUZZ_LIB_SRCS) $(LIBCGFW) $(LIB_LIBS)

# The IPC targets: the worker's sources, the library and the generated
# protobuf code compiled in; the workers' logs are closed (-close_fd_mask=2).
FUZZ_IPC_LIB	:= $(LIB_SRC) $(PROTO_C)
FUZZ_IPC_CFLAGS	:= $(FUZZ_CFLAGS) -I$(B) -I$(B)/proto -Wno-missing-prototypes \
		   -Wno-missing-field-initializers
FUZZ_IPC_DEPS	:= tests/fuzz/ipc_harness.c tests/fuzz/ipc_harness.h lib/protocol.def $(LIB_SRC) \
		   $(PROTO_C)

$(B)/fuzz/fuzz_ipc_monitor: tests/fuzz/fuzz_ipc_monitor.c $(FUZZ_IPC_DEPS) monitor/monitor.c \
    monitor/events.c monitor/stream.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_IPC_CFLAGS) -o $@ $< tests/fuzz/ipc_harness.c \
		monitor/monitor.c monitor/events.c monitor/stream.c $(FUZZ_IPC_LIB) $(LIB_LIBS) -luv

$(B)/fuzz/fuzz_ipc_dnsproxy: tests/fuzz/fuzz_ipc_dnsproxy.c $(FUZZ_IPC_DEPS) dnsproxy/dnsproxy.c \
    dnsproxy/judge.c dnsproxy/resolve.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_IPC_CFLAGS) -o $@ $< tests/fuzz/ipc_harness.c \
		dnsproxy/dnsproxy.c dnsproxy/judge.c dnsproxy/resolve.c $(FUZZ_IPC_LIB) \
		$(LIB_LIBS) -luv -lcares

$(B)/fuzz/fuzz_ipc_httpproxy: tests/fuzz/fuzz_ipc_httpproxy.c $(FUZZ_IPC_DEPS) \
    httpproxy/httpproxy.c httpproxy/http_parse.c httpproxy/tls.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_IPC_CFLAGS) $(BORINGSSL_CFLAGS) -o $@ $< \
		tests/fuzz/ipc_harness.c httpproxy/httpproxy.c httpproxy/http_parse.c \
		httpproxy/tls.c $(FUZZ_IPC_LIB) $(LIB_LIBS) -luv $(BORINGSSL_LIBS)

$(B)/fuzz/fuzz_ipc_loader: tests/fuzz/fuzz_ipc_loader.c $(FUZZ_IPC_DEPS) $(SUP_SRC) $(BPF_SKEL)
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_IPC_CFLAGS) -Dmain=cgfw_sup_main \
		-o $@ $< tests/fuzz/ipc_harness.c $(SUP_SRC) $(FUZZ_IPC_LIB) $(LIB_LIBS) -luv

FUZZ_NAMES := dnsmsg http_request clienthello config listfile cpolicy ipc_monitor ipc_dnsproxy ipc_httpproxy ipc_loader

# FUZZ_SECONDS per target (FUZZ_TIME: the same, its old name).
fuzz: $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
	@for t in $(FUZZ_NAMES); do \
		rm -rf $(B)/fuzz/corpus/$$t && mkdir -p $(B)/fuzz/corpus/$$t && \
		cp tests/fuzz/corpus/$$t/* $(B)/fuzz/corpus/$$t/ && \
		case $$t in ipc_*) opt="-close_fd_mask=2 -max_len=16384";; *) opt=-max_len=4096;; esac && \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			$$opt -artifact_prefix=$(B)/fuzz/$$t- $(B)/fuzz/corpus/$$t || exit 1; \
	done

.PHONY: fuzz ipc-seeds

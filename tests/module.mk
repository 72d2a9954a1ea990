TEST_NAMES := $(basename $(notdir $(wildcard tests/unit/test_*.c)))
TEST_BINS := $(TEST_NAMES:%=$(B)/tests/%)
ALL_DEPS += $(TEST_NAMES:%=$(B)/tests/unit/%.d)

# A static prerequisite: a pattern rule without a recipe would not add it.
$(TEST_NAMES:%=$(B)/tests/unit/%.o): $(PROTO_H)

$(B)/tests/test_events: $(B)/tests/unit/test_events.o $(B)/monitor/events.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

$(B)/tests/test_http_parse: $(B)/tests/unit/test_http_parse.o $(B)/httpproxy/http_parse.o \
    $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lhttp_parser -lcmocka

$(B)/tests/test_stream: $(B)/tests/unit/test_stream.o $(B)/monitor/stream.o \
    $(B)/monitor/events.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv -lcmocka

$(B)/tests/test_evq: $(B)/tests/unit/test_evq.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv -lcmocka

# loader/kbtf.c against libbpf's own BTF parser.
$(B)/tests/test_kbtf: $(B)/tests/unit/test_kbtf.o $(B)/loader/kbtf.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

# Tools the integration tests drive (tests/run.sh runs only test_*): built by "make".
TOOL_BINS := $(B)/tests/attack
BINS += $(TOOL_BINS)
TEST_BINS += $(TOOL_BINS)
ALL_DEPS += $(B)/tests/tools/attack.d

$(B)/tests/attack: $(B)/tests/tools/attack.o
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/test_judge: $(B)/tests/unit/test_judge.o $(B)/dnsproxy/judge.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

# Each worker's IPC handlers behind the protocol table (their .o without main.c).
$(B)/tests/test_worker_ipc: $(B)/tests/unit/test_worker_ipc.o $(B)/monitor/monitor.o \
    $(B)/monitor/events.o $(B)/monitor/stream.o $(B)/dnsproxy/dnsproxy.o $(B)/dnsproxy/judge.o \
    $(B)/dnsproxy/resolve.o $(B)/httpproxy/httpproxy.o $(B)/httpproxy/http_parse.o \
    $(B)/httpproxy/tls.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) -luv -lcares -lcmocka $(LDFLAGS) \
		$(BORINGSSL_LIBS)

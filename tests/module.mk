TEST_NAMES := $(basename $(notdir $(wildcard tests/unit/test_*.c)))
TEST_BINS := $(TEST_NAMES:%=$(B)/tests/%)
ALL_DEPS += $(TEST_NAMES:%=$(B)/tests/unit/%.d)

# A static prerequisite: a pattern rule without a recipe would not add it.
$(TEST_NAMES:%=$(B)/tests/unit/%.o): $(PROTO_H)

$(B)/tests/test_events: $(B)/tests/unit/test_events.o $(B)/monitor/events.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

$(B)/tests/test_judge: $(B)/tests/unit/test_judge.o $(B)/dnsproxy/judge.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -lcmocka

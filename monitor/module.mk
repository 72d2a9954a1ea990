MONITOR_SRC := monitor/main.c monitor/monitor.c monitor/events.c monitor/stream.c
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-monitor
ALL_DEPS += $(MONITOR_OBJ:.o=.d)

$(MONITOR_OBJ): $(PROTO_H)

$(B)/cgfw-monitor: $(MONITOR_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv

# docs/events.md's tables, printed from the tables the events are written from.
EVENTS_DOC := $(B)/tools/events-doc
ALL_DEPS += $(B)/monitor/events_doc.d

$(B)/monitor/events_doc.o: $(PROTO_H)

$(EVENTS_DOC): $(B)/monitor/events_doc.o $(B)/monitor/events.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

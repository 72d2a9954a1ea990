MONITOR_SRC := monitor/main.c monitor/monitor.c monitor/events.c
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-monitor
ALL_DEPS += $(MONITOR_OBJ:.o=.d)

$(MONITOR_OBJ): $(PROTO_H)

$(B)/cgfw-monitor: $(MONITOR_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv

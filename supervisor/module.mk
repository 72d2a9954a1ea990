# cgfw-supervisor: what cgfw-loader executes in its own process once
# everything is attached (lib/handover.h); its own reserved uid, CAP_KILL.
SUP_SRC := supervisor/supervisor.c supervisor/workers.c supervisor/command.c \
	   supervisor/reload.c supervisor/status.c supervisor/sd.c
SUP_OBJ := $(SUP_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-supervisor
ALL_DEPS += $(SUP_OBJ:.o=.d)

$(SUP_OBJ): $(PROTO_H) $(BPF_SKEL)

$(B)/cgfw-supervisor: $(SUP_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) $(LDFLAGS)

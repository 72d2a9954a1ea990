# cgfw-ctl: the readers (status, events) and cleanup, which the loader
# executes for `cgfw-loader status|events|cleanup`; no capability, so none
# of the loader's code.
CTL_SRC := ctl/ctl.c ctl/status.c ctl/events.c ctl/cleanup.c
CTL_OBJ := $(CTL_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-ctl
ALL_DEPS += $(CTL_OBJ:.o=.d)

$(CTL_OBJ): $(PROTO_H)

$(B)/cgfw-ctl: $(CTL_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) $(LDFLAGS)

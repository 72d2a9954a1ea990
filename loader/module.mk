LOADER_SRC := loader/loader.c loader/options.c loader/workers.c loader/attach.c loader/caps.c
LOADER_OBJ := $(LOADER_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-loader
ALL_DEPS += $(LOADER_OBJ:.o=.d)

$(LOADER_OBJ): $(BPF_SKEL) $(EXEC_SKEL) $(PROTO_H)

$(B)/cgfw-loader: $(LOADER_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -linih

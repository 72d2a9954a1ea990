LOADER_SRC := loader/loader.c loader/command.c loader/instances.c loader/options.c loader/launch.c \
	      loader/attach.c loader/caps.c loader/ca.c loader/compile.c loader/systemd.c \
	      loader/query.c loader/target.c loader/reload.c loader/kbtf.c loader/keeper.c
LOADER_OBJ := $(LOADER_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-loader
ALL_DEPS += $(LOADER_OBJ:.o=.d)

$(LOADER_OBJ): $(BPF_SKEL) $(EXEC_SKEL) $(PROTO_H)

$(B)/cgfw-loader: $(LOADER_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) -linih -pthread $(LDFLAGS)

# The CA's keygen and self-signature (loader/ca.c) use BoringSSL's libcrypto.
$(B)/loader/ca.o: CFLAGS += $(BORINGSSL_CFLAGS)
$(B)/cgfw-loader: LDFLAGS += $(BORINGSSL_LIBS)

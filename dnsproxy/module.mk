DNSPROXY_SRC := dnsproxy/main.c dnsproxy/dnsproxy.c dnsproxy/judge.c dnsproxy/resolve.c
DNSPROXY_OBJ := $(DNSPROXY_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-dnsproxy
ALL_DEPS += $(DNSPROXY_OBJ:.o=.d)

$(DNSPROXY_OBJ): $(PROTO_H)

$(B)/cgfw-dnsproxy: $(DNSPROXY_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv -lcares

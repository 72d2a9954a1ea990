HTTPPROXY_SRC := httpproxy/httpproxy.c
HTTPPROXY_OBJ := $(HTTPPROXY_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-httpproxy
ALL_DEPS += $(HTTPPROXY_OBJ:.o=.d)

$(HTTPPROXY_OBJ): $(PROTO_H)

$(B)/cgfw-httpproxy: $(HTTPPROXY_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) -luv

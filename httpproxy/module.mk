HTTPPROXY_SRC := httpproxy/main.c httpproxy/httpproxy.c httpproxy/http_parse.c httpproxy/tls.c
HTTPPROXY_OBJ := $(HTTPPROXY_SRC:%.c=$(B)/%.o)
BINS += $(B)/cgfw-httpproxy
ALL_DEPS += $(HTTPPROXY_OBJ:.o=.d)

$(HTTPPROXY_OBJ): $(PROTO_H)

$(B)/cgfw-httpproxy: $(HTTPPROXY_OBJ) $(LIBCGFW)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LIB_LIBS) -luv $(LDFLAGS)

# BoringSSL (Debian's android-libboringssl-dev) for httpproxy only.
$(B)/httpproxy/tls.o: CFLAGS += $(BORINGSSL_CFLAGS)
$(B)/cgfw-httpproxy: LDFLAGS += $(BORINGSSL_LIBS)

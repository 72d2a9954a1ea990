PROTO_C := $(B)/proto/ipc.pb-c.c
PROTO_H := $(B)/proto/ipc.pb-c.h

$(PROTO_H): $(PROTO_C)
$(PROTO_C): proto/ipc.proto
	@mkdir -p $(B)/proto
	$(call say,PROTOC,$<)$(PROTOC_C) --proto_path=proto --c_out=$(B)/proto $<

$(B)/proto/ipc.pb-c.o: $(PROTO_C)
	$(call say,CC,$<)$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

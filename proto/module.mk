PROTO_C := $(B)/proto/ipc.pb-c.c
PROTO_H := $(B)/proto/ipc.pb-c.h

# protoc-c writes both; the empty recipe makes make look at the header's new
# time, else what includes it is not rebuilt when the .proto changes.
$(PROTO_H): $(PROTO_C) ;
$(PROTO_C): proto/ipc.proto
	@mkdir -p $(B)/proto
	$(call say,PROTOC,$<)$(PROTOC_C) --proto_path=proto --c_out=$(B)/proto $<

$(B)/proto/ipc.pb-c.o: $(PROTO_C)
	$(call say,CC,$<)$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

LIB_SRC := lib/log.c lib/rules.c lib/policy.c lib/json.c lib/ipc.c lib/protocol.c lib/ipc_send.c lib/evq.c \
	   lib/proc.c lib/worker.c lib/sandbox.c lib/bpfmap.c lib/namepolicy.c lib/listfile.c lib/dnsmsg.c \
	   lib/cpolicy.c lib/compile.c lib/sdnotify.c lib/status.c lib/par.c \
	   lib/handover.c lib/polmaps.c lib/keeper.c lib/instance.c
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(B)/proto/ipc.pb-c.o
LIBCGFW := $(B)/libcgfw.a
LIB_LIBS := -lprotobuf-c -lhttp_parser -lcap-ng -lseccomp -lbpf -lelf -lz
ALL_DEPS += $(LIB_OBJ:.o=.d)

$(LIB_OBJ): $(PROTO_H)

$(LIBCGFW): $(LIB_OBJ)
	$(call say,AR,$@)$(AR) rcs $@ $^

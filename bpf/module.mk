BPF_OBJ  := $(B)/bpf/egress.bpf.o
BPF_SKEL := $(B)/egress.skel.h

$(BPF_OBJ): bpf/egress.bpf.c bpf/egress.h bpf/cgfw_defs.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I/usr/include/$(MULTIARCH) -Ibpf -c $< -o $@.tmp && \
		$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(BPF_SKEL): $(BPF_OBJ)
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name egress > $@

EXEC_OBJ  := $(B)/bpf/exec.bpf.o
EXEC_SKEL := $(B)/exec.skel.h

# No kernel types: the loader hands it the two offsets it needs (loader/kbtf.c).
$(EXEC_OBJ): bpf/exec.bpf.c bpf/exec.h bpf/cgfw_defs.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I/usr/include/$(MULTIARCH) -Ibpf -c $< -o $@.tmp && \
		$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(EXEC_SKEL): $(EXEC_OBJ)
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name execargv > $@

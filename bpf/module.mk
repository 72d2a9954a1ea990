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
VMLINUX_H := $(B)/vmlinux.h

# Kernel types for CO-RE, from the running kernel's BTF.
$(VMLINUX_H):
	@mkdir -p $(@D)
	$(call say,GEN,$@)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(EXEC_OBJ): bpf/exec.bpf.c bpf/exec.h bpf/cgfw_defs.h $(VMLINUX_H)
	@mkdir -p $(@D)
	$(call say,BPF,$@)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(B) -Ibpf -c $< -o $@.tmp && \
		$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(EXEC_SKEL): $(EXEC_OBJ)
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name execargv > $@

BPF_OBJ  := $(B)/bpf/egress.bpf.o
BPF_SKEL := $(B)/egress.skel.h

$(BPF_OBJ): bpf/egress.bpf.c bpf/egress.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I/usr/include/$(MULTIARCH) -Ibpf -c $< -o $@.tmp && \
		$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(BPF_SKEL): $(BPF_OBJ)
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name egress > $@

# Fuzz targets.  Each tests/fuzz/fuzz_<name>.c has a plain replay main(), built
# with the normal toolchain into build/tests/ so "make check" replays the seeds
# in tests/fuzz/corpus/<name>/; "make fuzz" builds the libFuzzer binaries with
# clang and sanitizers and runs each for FUZZ_TIME seconds on a copy of its
# corpus (the committed seeds are never written to).

FUZZ_BINS	+= $(B)/tests/fuzz_dnsmsg
FUZZ_TIME	?= 60
FUZZ_CFLAGS	?= -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Wall -Wextra \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		   -DCGFW_LIBFUZZER
ALL_DEPS	+= $(B)/tests/fuzz/fuzz_dnsmsg.d

$(B)/tests/fuzz_dnsmsg: $(B)/tests/fuzz/fuzz_dnsmsg.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

# The library sources are compiled in, not linked from libcgfw.a, so libFuzzer
# sees their coverage.
$(B)/fuzz/fuzz_dnsmsg: tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c lib/dnsmsg.h
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c

fuzz: $(B)/fuzz/fuzz_dnsmsg
	@rm -rf $(B)/fuzz/corpus/dnsmsg && mkdir -p $(B)/fuzz/corpus/dnsmsg
	@cp tests/fuzz/corpus/dnsmsg/* $(B)/fuzz/corpus/dnsmsg/
	$(B)/fuzz/fuzz_dnsmsg -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=10 \
		-artifact_prefix=$(B)/fuzz/dnsmsg- $(B)/fuzz/corpus/dnsmsg

.PHONY: fuzz

# Fuzz targets.  Each tests/fuzz/fuzz_<name>.c is linked with tests/fuzz/replay.c, built
# with the normal toolchain into build/tests/ so "make check" replays the seeds
# in tests/fuzz/corpus/<name>/; "make fuzz" builds the libFuzzer binaries with
# clang and sanitizers and runs each for FUZZ_TIME seconds on a copy of its
# corpus (the committed seeds are never written to).

FUZZ_BINS	+= $(B)/tests/fuzz_dnsmsg $(B)/tests/fuzz_http_request $(B)/tests/fuzz_clienthello \
		   $(B)/tests/fuzz_cpolicy
FUZZ_TIME	?= 60
FUZZ_CFLAGS	?= -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Wall -Wextra \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		   -DCGFW_LIBFUZZER
ALL_DEPS	+= $(B)/tests/fuzz/fuzz_dnsmsg.d $(B)/tests/fuzz/fuzz_http_request.d \
		   $(B)/tests/fuzz/fuzz_clienthello.d $(B)/tests/fuzz/fuzz_cpolicy.d

$(B)/tests/fuzz_dnsmsg: $(B)/tests/fuzz/fuzz_dnsmsg.o $(B)/tests/fuzz/replay.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/fuzz_cpolicy: $(B)/tests/fuzz/fuzz_cpolicy.o $(B)/tests/fuzz/replay.o $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/fuzz_http_request: $(B)/tests/fuzz/fuzz_http_request.o $(B)/tests/fuzz/replay.o \
    $(B)/httpproxy/http_parse.o \
    $(LIBCGFW)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ -lhttp_parser

$(B)/tests/fuzz_clienthello: $(B)/tests/fuzz/fuzz_clienthello.o $(B)/tests/fuzz/replay.o \
    $(B)/httpproxy/tls.o
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDFLAGS) $(BORINGSSL_LIBS)

# The library sources are compiled in, not linked from libcgfw.a, so libFuzzer
# sees their coverage.
$(B)/fuzz/fuzz_dnsmsg: tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c lib/dnsmsg.h
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_dnsmsg.c lib/dnsmsg.c

$(B)/fuzz/fuzz_http_request: tests/fuzz/fuzz_http_request.c httpproxy/http_parse.c lib/rules.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_http_request.c \
		httpproxy/http_parse.c lib/rules.c -lhttp_parser

$(B)/fuzz/fuzz_clienthello: tests/fuzz/fuzz_clienthello.c httpproxy/tls.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) $(BORINGSSL_CFLAGS) -o $@ \
		tests/fuzz/fuzz_clienthello.c httpproxy/tls.c $(BORINGSSL_LIBS)

$(B)/fuzz/fuzz_cpolicy: tests/fuzz/fuzz_cpolicy.c lib/cpolicy.c lib/cpolicy.h
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_cpolicy.c lib/cpolicy.c

FUZZ_NAMES := dnsmsg http_request clienthello cpolicy

fuzz: $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
	@for t in $(FUZZ_NAMES); do \
		rm -rf $(B)/fuzz/corpus/$$t && mkdir -p $(B)/fuzz/corpus/$$t && \
		cp tests/fuzz/corpus/$$t/* $(B)/fuzz/corpus/$$t/ && \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=10 \
			-artifact_prefix=$(B)/fuzz/$$t- $(B)/fuzz/corpus/$$t || exit 1; \
	done

.PHONY: fuzz

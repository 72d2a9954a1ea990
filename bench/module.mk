# make bench runs bench/run.sh, which builds its own tools.  mon_format is
# built by make as well, so that a change of the monitor's writer API shows
# at once; run.sh builds it again beside an older writer.
BENCH_BINS := $(B)/bench/mon_format
BINS += $(BENCH_BINS)
ALL_DEPS += $(B)/bench/mon_format.d

$(B)/bench/mon_format.o: $(PROTO_H)

$(B)/bench/mon_format: $(B)/bench/mon_format.o $(B)/monitor/events.o $(LIBCGFW)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

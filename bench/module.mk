# make bench runs bench/run.sh; nothing to build beyond the binaries.

# Test programs; tests/run.sh runs them. Included by the top Makefile.

# cmocka_case.c is the unit tests' alone (their T_CASE filter); tls_stream.c
# is a program of its own (below)
TEST_LIB_SRC := $(filter-out tests/lib/cmocka_case.c tests/lib/tls_stream.c,$(wildcard tests/lib/*.c))
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/%.o)
TEST_CFLAGS  = $(CFLAGS) -Itests/lib
UNIT_SRC     := $(wildcard tests/unit/test_*.c)
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPF_TEST_BIN := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))


$(BUILD)/tests/%.o: tests/%.c $(wildcard tests/lib/*.h) $(wildcard user/lib/*.h) include/imapguard.h $(SKEL)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TEST_CFLAGS) -c $< -o $@

# unit tests need no privileges and no BPF: only the pure library parts
# (T_CASE=NAME runs one test: tests/lib/cmocka_case.c wraps cmocka's runner)
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/lib/cmocka_case.o $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -lcmocka -Wl,--wrap=_cmocka_run_group_tests -o $@

$(BUILD)/tests/bpf/%: $(BUILD)/tests/bpf/%.o $(TEST_LIB_OBJ) $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) $(TEST_WRAP) -o $@

# helpers of the static tests (the policy key table, for test_man.sh)
STATIC_BIN := $(patsubst tests/static/%.c,$(BUILD)/tests/static/%,$(wildcard tests/static/*.c))
$(BUILD)/tests/static/%: $(BUILD)/tests/static/%.o $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -o $@

# make bench: benchmarks, never timed tests
BENCH_BIN := $(BUILD)/tests/bench/bench_dataplane $(BUILD)/tests/bench/fill_tables

$(BUILD)/tests/bench/%.bpf.o: tests/bench/%.bpf.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/bench/%.skel.h: $(BUILD)/tests/bench/%.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# The data plane with the benchmark knobs (ig_bench_spread, bpf/classify.h):
# the same source as the shipped object, which must not carry them
BENCH_BPF_OBJ := $(BUILD)/tests/bench/imapguard_bench.bpf.o
$(BENCH_BPF_OBJ): bpf/imapguard.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DIG_BENCH -c $< -o $@

$(BUILD)/tests/bench/bench_dataplane.o: $(BUILD)/tests/bench/baseline.skel.h \
	$(BUILD)/tests/bench/imapguard_bench.skel.h
$(BUILD)/tests/bench/fill_tables: $(BUILD)/tests/bench/fill_tables.o $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/bench/bench_dataplane.o: TEST_CFLAGS += -I$(BUILD)/tests/bench

# the in-situ SYN-flood generator (bench_flood.sh)
BENCH_BIN += $(BUILD)/tests/bench/flood_gen
$(BUILD)/tests/bench/flood_gen.o: $(BUILD)/tests/bench/flood_gen.skel.h
$(BUILD)/tests/bench/flood_gen.o: TEST_CFLAGS += -I$(BUILD)/tests/bench

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(TEST_LIB_OBJ) $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -o $@

.PHONY: bench
bench: deps
	$(MAKE) all $(BENCH_BIN) $(TLS_STREAM)
	$(BUILD)/tests/bench/bench_dataplane
	./tests/bench/bench_agent.sh
	./tests/bench/bench_policy.sh
	./tests/bench/bench_nft_apply.sh
	./tests/bench/bench_fleet.sh
	./tests/bench/bench_fleet_held.sh
	./tests/bench/bench_flood.sh
	./tests/bench/bench_audit.sh
	./tests/bench/bench_starttls.sh
	$(MAKE) dashboard-picture

# the README's picture of the Grafana dashboard's main queries on real data
# (a minute of lab traffic scraped by Prometheus, drawn with matplotlib);
# documentation, not a test: the suite never reads docs/dashboard.png
.PHONY: dashboard-picture
dashboard-picture: all
	./tests/bench/dashboard_picture.sh docs/dashboard.png

# libFuzzer harnesses, built with clang and sanitizers from the library's
# sources (not the gcc-built archive)
FUZZ_CFLAGS = -g -O1 -std=gnu11 -D_GNU_SOURCE -DIG_VERSION='"fuzz"' -Iinclude -Iuser/lib \
	       -I$(BUILD) $(PKG_CFLAGS) \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_SRC := user/lib/policy.c user/lib/policy_keys.c user/lib/addr.c user/lib/duration.c user/lib/diag.c \
		user/lib/names.c

$(BUILD)/tests/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(FUZZ_LIB_SRC) $(wildcard user/lib/*.h)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_policy.c $(FUZZ_LIB_SRC) -linih -o $@

FUZZ_REQ_SRC := user/agent/requests.c user/agent/http.c user/lib/addr.c user/lib/duration.c \
		user/lib/names.c
$(BUILD)/tests/fuzz/fuzz_requests: tests/fuzz/fuzz_requests.c $(FUZZ_REQ_SRC) $(wildcard user/*/*.h)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Iuser/agent tests/fuzz/fuzz_requests.c $(FUZZ_REQ_SRC) \
		$(shell pkg-config --libs json-c libmicrohttpd) -o $@

$(BUILD)/tests/fuzz/fuzz_text: tests/fuzz/fuzz_text.c user/lib/names.c user/lib/names.h include/imapguard.h
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_text.c user/lib/names.c \
		$(shell pkg-config --libs json-c) -o $@

FUZZ_CS_SRC := user/lib/csdecision.c user/lib/goduration.c user/lib/addr.c user/lib/names.c
$(BUILD)/tests/fuzz/fuzz_csdecision: tests/fuzz/fuzz_csdecision.c $(FUZZ_CS_SRC) $(wildcard user/lib/*.h)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_csdecision.c $(FUZZ_CS_SRC) \
		$(shell pkg-config --libs yajl) -o $@

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; mkdir -p $(BUILD)/fuzz-corpus/$$n; \
		$$f -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)/fuzz-corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

# the CLI with fault injection (user/lib/fault.h): test builds only
FAULT_BIN := $(BUILD)/tests/imapguard-faults
$(FAULT_BIN): $(CLI_OBJ) $(BUILD)/tests/fault/fault_env.o $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -o $@

# the STARTTLS byte-exact checker and its benchmark's client and server
TLS_STREAM := $(BUILD)/tests/lib/tls_stream
$(TLS_STREAM): $(BUILD)/tests/lib/tls_stream.o
	$(Q)$(CC) $(TEST_CFLAGS) $^ -lssl -lcrypto -o $@

.PHONY: tests
tests: $(UNIT_BIN) $(BPF_TEST_BIN) $(FUZZ_BIN) $(FAULT_BIN) $(STATIC_BIN) $(TLS_STREAM)

# test_maps holds the shipped object, and the bench one, to the map list
$(BUILD)/tests/unit/test_maps.o: TEST_CFLAGS += -DIG_BENCH_OBJ='"$(CURDIR)/$(BENCH_BPF_OBJ)"'
$(BUILD)/tests/unit/test_maps: | $(BENCH_BPF_OBJ)

# test_policy holds the shipped example policy to the key table
$(BUILD)/tests/unit/test_policy.o: TEST_CFLAGS += -DIG_EXAMPLE_POLICY='"$(CURDIR)/scripts/imapguard.conf.example"'
# ...and the README's policy reference to it
$(BUILD)/tests/unit/test_policy.o: TEST_CFLAGS += -DIG_README='"$(CURDIR)/README.md"'

FUZZ_MAIL_SRC := user/lib/mailproto.c
$(BUILD)/tests/fuzz/fuzz_mailproto: tests/fuzz/fuzz_mailproto.c $(FUZZ_MAIL_SRC) user/lib/mailproto.h
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_mailproto.c $(FUZZ_MAIL_SRC) -o $@

# the STARTTLS guard's scanner is a BPF header, run in user space too
$(BUILD)/tests/unit/test_starttls_scan.o: TEST_CFLAGS += -Ibpf
$(BUILD)/tests/unit/test_starttls_scan.o: bpf/starttls_scan.h

# tests/bpf/test_starttls: the scanner's BPF harness, through its skeleton
$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/bpf/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/tests/bpf/test_starttls.o: $(BUILD)/tests/bpf/starttls_scan.skel.h
$(BUILD)/tests/bpf/test_starttls.o: TEST_CFLAGS += -I$(BUILD)/tests/bpf -Ibpf

$(BUILD)/tests/fuzz/fuzz_starttls: tests/fuzz/fuzz_starttls.c bpf/starttls_scan.h
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Ibpf tests/fuzz/fuzz_starttls.c -o $@

# the sweep's races, made deterministic by wrapping what it calls
$(BUILD)/tests/bpf/test_tls_sweep: TEST_WRAP := -Wl,--wrap=bpf_map_get_next_key \
	-Wl,--wrap=bpf_map_lookup_and_delete_elem -Wl,--wrap=ig_sockets_foreach

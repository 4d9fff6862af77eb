# Test programs; tests/run.sh runs them. Included by the top Makefile.

TEST_LIB_SRC := $(wildcard tests/lib/*.c)
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/%.o)
TEST_CFLAGS  := $(CFLAGS) -Itests/lib
UNIT_SRC     := $(wildcard tests/unit/test_*.c)
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPF_TEST_BIN := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))

.PHONY: tests
tests: $(UNIT_BIN) $(BPF_TEST_BIN)

$(BUILD)/tests/%.o: tests/%.c $(wildcard tests/lib/*.h) $(wildcard user/lib/*.h) include/imapguard.h $(SKEL)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TEST_CFLAGS) -c $< -o $@

# unit tests need no privileges and no BPF: only the pure library parts
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%: $(BUILD)/tests/bpf/%.o $(TEST_LIB_OBJ) $(LIB)
	$(Q)$(CC) $(TEST_CFLAGS) $^ $(LDLIBS) -o $@

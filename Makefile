# SPDX-License-Identifier: GPL-2.0-only
# imapguard: `make` builds everything under build/; see README.md.

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
PKGS     := libbpf libxdp inih json-c libmnl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -DIG_VERSION='"$(VERSION)"' -Iinclude -Iuser/lib -I$(BUILD) \
	    $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lelf -lz
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall -Werror -Iinclude -I$(ARCH_INC)

LIB_SRC  := $(wildcard user/lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
BPF_HDRS := $(wildcard bpf/*.h) include/imapguard.h
LIB      := $(BUILD)/libimapguard.a
SKEL     := $(BUILD)/imapguard.skel.h

.PHONY: all deps test demo install clean lint
.SECONDARY:
all: $(BUILD)/imapguard

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*/*.h) include/imapguard.h $(SKEL)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^

CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/cli/*.c))

$(BUILD)/imapguard: $(CLI_OBJ) $(LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

deps:
	./scripts/deps.sh

test: deps
	$(MAKE) all tests
	./tests/run.sh

demo: deps
	$(MAKE) all
	./scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/imapguard $(DESTDIR)$(PREFIX)/sbin/imapguard
	install -d $(DESTDIR)/etc/imapguard
	install -m 0644 scripts/imapguard.conf.example $(DESTDIR)/etc/imapguard/imapguard.conf.example

clean:
	rm -rf $(BUILD)

include tests/tests.mk

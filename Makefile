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
# where bash-completion looks for completions (read only by `make install`)
BASHCOMPDIR ?= $(or $(shell pkg-config --variable=completionsdir bash-completion \
		   2>/dev/null),/usr/share/bash-completion/completions)
Q        := $(if $(filter 1,$(V)),,@)

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
PKGS     := libbpf libxdp inih json-c libmnl libnftnl libmicrohttpd libcap-ng libsystemd \
	    libcurl yajl openssl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -DIG_VERSION='"$(VERSION)"' -Iinclude -Iuser/lib -I$(BUILD) \
	    $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lelf -lz -lm
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall -Werror -Iinclude -I$(ARCH_INC)

LIB_SRC  := $(wildcard user/lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
BPF_HDRS := $(wildcard bpf/*.h) include/imapguard.h
LIB      := $(BUILD)/libimapguard.a
SKEL     := $(BUILD)/imapguard.skel.h $(BUILD)/mapcount.skel.h

.PHONY: all deps test demo install clean lint
.SECONDARY:
all: $(BUILD)/imapguard $(BUILD)/imapguardd

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
AGENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/agent/*.c))

$(BUILD)/imapguard: $(CLI_OBJ) $(LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/imapguardd: $(AGENT_OBJ) $(LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lpthread -o $@

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
	install -m 0755 $(BUILD)/imapguardd $(DESTDIR)$(PREFIX)/sbin/imapguardd
	install -d $(DESTDIR)/lib/systemd/system
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' scripts/imapguardd.service > $(DESTDIR)/lib/systemd/system/imapguardd.service
	install -d $(DESTDIR)/etc/imapguard
	@# 0600: a policy may hold the api_key and grants_token inline
	install -m 0600 scripts/imapguard.conf.example $(DESTDIR)/etc/imapguard/imapguard.conf.example
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 scripts/bash-completion/imapguard $(DESTDIR)$(BASHCOMPDIR)/imapguard

clean:
	rm -rf $(BUILD)

include tests/tests.mk

# SPDX-License-Identifier: GPL-2.0-only
# imapguard: `make` builds everything under build/; see README.md.

BUILD    ?= build
PREFIX   ?= /usr/local
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/imapguard
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

PKGS     := libbpf libxdp inih json-c libmnl libnftnl libmicrohttpd libcap-ng libsystemd \
	    libcurl yajl openssl

# lazy: what needs the compiler or pkg-config is asked for when a build rule
# first uses it, never while the Makefile is read, so `make deps` (and the
# `make test`/`make demo` that start with it) print no "pkg-config ... not
# found" on a machine without the packages yet. $(call once,VAR,CMD) runs
# CMD at VAR's first use and keeps the answer.
once      = $(eval $1 := $$(shell $2))$($1)
PKG_CFLAGS = $(call once,PKG_CFLAGS,pkg-config --cflags $(PKGS))
PKG_LIBS   = $(call once,PKG_LIBS,pkg-config --libs $(PKGS))
ARCH_INC   = $(call once,ARCH_INC,$(CC) -dumpmachine | sed 's|^|/usr/include/|')
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -DIG_VERSION='"$(VERSION)"' -Iinclude -Iuser/lib -I$(BUILD) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lelf -lz -lm
BPF_CFLAGS = -target bpf -mcpu=v3 -O2 -g -Wall -Werror -Iinclude -I$(ARCH_INC)

LIB_SRC  := $(wildcard user/lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
BPF_HDRS := $(wildcard bpf/*.h) include/imapguard.h
LIB      := $(BUILD)/libimapguard.a
SKEL     := $(BUILD)/imapguard.skel.h $(BUILD)/mapcount.skel.h
# man/NAME.SECTION.scd -> build/man/NAME.SECTION (roff, by scdoc)
MAN      := $(patsubst man/%.scd,$(BUILD)/man/%,$(wildcard man/*.scd))
SCDOC    ?= scdoc

.PHONY: all deps test demo install clean lint deb
.SECONDARY:
all: $(BUILD)/imapguard $(BUILD)/imapguardd $(MAN)

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
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^

CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/cli/*.c))
AGENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/agent/*.c))

$(BUILD)/imapguard: $(CLI_OBJ) $(LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/imapguardd: $(AGENT_OBJ) $(LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lpthread -o $@

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	@echo "  SCDOC   $@"
	$(Q)$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

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
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(filter %.5,$(MAN)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN)) $(DESTDIR)$(MANDIR)/man8/
	@# the dashboard and the alerting rules, for the operator to import
	install -d $(DESTDIR)$(DOCDIR)/contrib/grafana $(DESTDIR)$(DOCDIR)/contrib/prometheus
	install -m 0644 contrib/grafana/imapguard.json $(DESTDIR)$(DOCDIR)/contrib/grafana/
	install -m 0644 contrib/prometheus/imapguard.rules.yml $(DESTDIR)$(DOCDIR)/contrib/prometheus/
	@# the unit's Documentation= names it
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md

# make deb: the Debian package (debian/), built from a copy of the tracked
# tree under $(BUILD)/deb, where dpkg-buildpackage also leaves the .deb: the
# source tree, its build/ and its parent directory stay as they are
DEB_SRC := $(BUILD)/deb/imapguard
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && VERSION=$(VERSION) dpkg-buildpackage -us -uc -b -jauto

clean:
	rm -rf $(BUILD)

include tests/tests.mk

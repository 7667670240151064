# Makefile - builds crmd and crmctl and runs the tests.
#
#   make run          install missing packages, build, create crm.db with demo data, serve
#   make test         install, build with -Werror, run every test under ASan + UBSan
#   make              build into build/ (BUILD=dir to change, SANITIZE=address,undefined)
#   make check        run the tests against the build in $(BUILD)
#   make asan-test    the sanitizer run alone
#   make install      install $(BUILD)'s programs, man pages, systemd unit (PREFIX, DESTDIR)
#   make ui-test      the browser tests of the web UI alone (tests/ui, headless chromium)
#   make screenshots  the browser tests, writing docs/screenshots/*.png (nothing else does)
#   make fuzz         build the libFuzzer harnesses (clang) and run each FUZZ_SECONDS (30)
#   make clean

CC ?= cc
BUILD ?= build
CFLAGS ?= -O2 -g
PKGS := libmicrohttpd sqlite3 jansson libsodium libcurl libqrencode
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ALL_CFLAGS := -std=c11 $(WARNINGS) $(CFLAGS) -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LIBS := $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(filter-out src/main_%.c,$(wildcard src/*.c src/*/*.c))
WEB_FILES := $(shell find web -type f 2>/dev/null | LC_ALL=C sort)
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_files.o $(BUILD)/gen/migrations.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: bench all clean deps test-deps check seam-check unit-test api-test cli-test ui-test screenshots test asan-test run FORCE
all: $(BUILD)/crmd $(BUILD)/crmctl $(BUILD)/tests/crmd-throwaway $(BUILD)/tests/crmctl-throwaway

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Embedding: a list file per table that changes only when the set of files does, so that
# adding or removing a file regenerates the table.
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ $<
$(BUILD)/gen/%.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(if $(filter web_files,$*),$(WEB_FILES),$(MIGRATIONS))' | cmp -s - $@ || \
		echo '$(if $(filter web_files,$*),$(WEB_FILES),$(MIGRATIONS))' > $@
$(BUILD)/gen/web_files.c: $(BUILD)/gen/web_files.list $(WEB_FILES) $(BUILD)/tools/embed
	$(BUILD)/tools/embed embedded_web_files web/ $(WEB_FILES) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/migrations.c: $(BUILD)/gen/migrations.list $(MIGRATIONS) $(BUILD)/tools/embed
	$(BUILD)/tools/embed embedded_migrations migrations/ $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcrm.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/crmd: $(BUILD)/src/main_crmd.o $(BUILD)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/crmctl: $(BUILD)/src/main_crmctl.o $(BUILD)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The throw-away resource (tests/api/test_throwaway_resource.py, docs/adding-a-resource.md):
# crmd and crmctl with one more resource that has only a descriptor
# (tests/resource/notes_resource.c) and a migration (tests/resource/9001_notes.sql, embedded
# after the tree's own).
THROWAWAY_SQL := tests/resource/9001_notes.sql
THROWAWAY_DIR := $(BUILD)/tests/throwaway
THROWAWAY_OBJ := $(BUILD)/tests/resource/notes_resource.o $(THROWAWAY_DIR)/migrations.o
$(THROWAWAY_DIR)/migrations.c: $(MIGRATIONS) $(THROWAWAY_SQL) $(BUILD)/tools/embed
	@rm -rf $(THROWAWAY_DIR)/sql && mkdir -p $(THROWAWAY_DIR)/sql
	cp $(MIGRATIONS) $(THROWAWAY_SQL) $(THROWAWAY_DIR)/sql/
	$(BUILD)/tools/embed embedded_migrations $(THROWAWAY_DIR)/sql/ \
		$(addprefix $(THROWAWAY_DIR)/sql/,$(notdir $(MIGRATIONS) $(THROWAWAY_SQL))) > $@.tmp
	mv $@.tmp $@
$(THROWAWAY_DIR)/migrations.o: $(THROWAWAY_DIR)/migrations.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/tests/crmd-throwaway: $(BUILD)/src/main_crmd.o $(THROWAWAY_OBJ) $(BUILD)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/tests/crmctl-throwaway: $(BUILD)/src/main_crmctl.o $(THROWAWAY_OBJ) $(BUILD)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcrm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libcrm.a $(LIBS)

# ---------------------------------------------------------------- tests

deps:
	@scripts/install-deps build
test-deps:
	@scripts/install-deps test

unit-test: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

api-test: all
	python3 tests/run_api.py --build $(BUILD)

cli-test: all
	python3 tests/run_api.py --build $(BUILD) --suite cli

# Browser tests of the web UI (tests/ui): Debian chromium driven by playwright-core, run
# with node --test against $(BUILD)/crmd. Where chromium, node or npm cannot be installed
# this fails, saying so: tests that cannot run do not pass.
ui-test: all
	@scripts/install-ui-deps || { \
		echo "ui-test: FAILED: chromium, node or npm cannot be installed (see scripts/install-ui-deps)" >&2; \
		exit 1; }
	cd tests/ui && CRM_BUILD=$(abspath $(BUILD)) node --test --test-concurrency=1 *.test.mjs

check: seam-check unit-test fuzz-regress api-test cli-test ui-test

# The storage seam (issue 14): nothing outside src/store calls SQLite or includes its
# private header. `python3 tools/source_limits.py` lists files over 1,000 lines and
# functions over 100 as well.
seam-check:
	python3 tools/source_limits.py --seam --no-sizes src

# The README's pictures: the browser tests that take them, with CRM_SCREENSHOTS=1.
screenshots: all
	cd tests/ui && CRM_SCREENSHOTS=1 CRM_BUILD=$(abspath $(BUILD)) node --test --test-concurrency=1 ui.test.mjs work.test.mjs

# make test: the newcomer's one command. A -Werror build, then every test against a
# build with AddressSanitizer (leaks included) and UBSan.
test: test-deps
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 BUILD=build-asan SANITIZE=address,undefined check

asan-test: test-deps
	$(MAKE) WERROR=1 BUILD=build-asan SANITIZE=address,undefined check

# make bench [SMALL=1] [CONTACTS=N] [SOAK=SECONDS]: an optimised build, a demo database
# (1,000,000 contacts, or 10,000 with SMALL=1) and wrk against crmd on loopback; prints a
# table, writes bench/results/. SOAK adds a mixed run sampling RSS and WAL size every 5 s.
bench:
	@scripts/install-deps bench
	$(MAKE) BUILD=build-bench CFLAGS="-O2 -g -DNDEBUG" all
	python3 bench/run.py --build build-bench $(if $(SMALL),--small) \
		$(if $(CONTACTS),--contacts $(CONTACTS)) $(if $(SOAK),--soak $(SOAK))

# make run: build, create crm.db with demo data and an admin (password printed once), serve.
run: deps
	$(MAKE) all
	@if [ ! -f crm.db ]; then \
		$(BUILD)/crmctl --db crm.db init --admin admin@example.com && \
		$(BUILD)/crmctl --db crm.db demo-data --contacts 200; \
	fi
	$(BUILD)/crmd --db crm.db --listen 127.0.0.1:8080

# ---------------------------------------------------------------- fuzzing
# tests/fuzz/fuzz_<name>.c are libFuzzer harnesses. `make fuzz` builds them with clang,
# libFuzzer, ASan and UBSan in $(FUZZ_BUILD) and runs each for FUZZ_SECONDS, starting from
# its seed corpus tests/fuzz/corpus/<name>/ (new inputs go to $(FUZZ_BUILD)/corpus/); a
# crash stops it and names the input to add to the seed corpus. `make check` replays every
# seed corpus through the harnesses built with the build's own compiler and sanitizers
# (fuzz-regress), so that each crash once found stays a regression test. FUZZ_SKIP="fuzz_x"
# leaves harnesses out.
FUZZ_SECONDS ?= 30
FUZZ_BUILD ?= build-fuzz
FUZZ_SKIP ?=
FUZZ_NAMES := $(filter-out $(FUZZ_SKIP),$(sort $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
FUZZ_OPTIONS := -timeout=25 -rss_limit_mb=3072 -max_len=8192 -print_final_stats=1

.PHONY: fuzz fuzz-run fuzz-regress
.SECONDARY: $(BUILD)/tests/fuzz/replay_main.o
$(BUILD)/fuzz/%-replay: tests/fuzz/%.c tests/fuzz/fuzz.h $(BUILD)/tests/fuzz/replay_main.o \
		$(BUILD)/libcrm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay_main.o \
		$(BUILD)/libcrm.a $(LIBS)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(BUILD)/libcrm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libcrm.a \
		$(LIBS)

fuzz-regress: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%-replay)
	@for name in $(FUZZ_NAMES); do \
		$(BUILD)/fuzz/$$name-replay tests/fuzz/corpus/$$name || exit 1; \
	done

fuzz:
	@scripts/install-fuzz-deps
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SANITIZE= CFLAGS="$(FUZZ_CFLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" fuzz-run

fuzz-run: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
	@for name in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/corpus/$$name $(BUILD)/artifacts/$$name; \
		echo "== fuzzing $$name for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/$$name $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(BUILD)/artifacts/$$name/ \
			$(BUILD)/corpus/$$name tests/fuzz/corpus/$$name \
			> $(BUILD)/artifacts/$$name.log 2>&1 || { \
			tail -n 60 $(BUILD)/artifacts/$$name.log; \
			echo "fuzz: $$name FAILED; the input is in $(BUILD)/artifacts/$$name/:" \
				"fix the bug and add the input to tests/fuzz/corpus/$$name/"; \
			exit 1; }; \
		grep -E "^stat::number_of_executed_units|^Done " $(BUILD)/artifacts/$$name.log || true; \
	done
	@echo "fuzz: $(words $(FUZZ_NAMES)) harnesses, $(FUZZ_SECONDS) s each, no crash"

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=/staging]: the programs of $(BUILD) (built
# before: install never compiles, so it cannot disturb a build), the manual pages, the
# systemd unit and sysusers entry, and the example configuration, also as /etc/crmd.conf
# unless that exists already. See deploy/ and docs/man/.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/crmd
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL ?= install

.PHONY: install uninstall
install:
	@test -x $(BUILD)/crmd -a -x $(BUILD)/crmctl || \
		{ echo "make install: $(BUILD)/crmd or $(BUILD)/crmctl is missing: run make BUILD=$(BUILD) first" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)/etc
	$(INSTALL) -m 755 $(BUILD)/crmd $(BUILD)/crmctl $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 docs/man/crmd.8 docs/man/crmctl.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/bin/|$(BINDIR)/|g' deploy/crmd.service > $(DESTDIR)$(UNITDIR)/crmd.service.tmp
	chmod 644 $(DESTDIR)$(UNITDIR)/crmd.service.tmp
	mv $(DESTDIR)$(UNITDIR)/crmd.service.tmp $(DESTDIR)$(UNITDIR)/crmd.service
	$(INSTALL) -m 644 deploy/crmd.sysusers $(DESTDIR)$(SYSUSERSDIR)/crmd.conf
	$(INSTALL) -m 644 deploy/crmd.conf $(DESTDIR)$(DOCDIR)/crmd.conf.example
	@if [ -e $(DESTDIR)/etc/crmd.conf ]; then \
		echo "kept the existing $(DESTDIR)/etc/crmd.conf (the example is $(DESTDIR)$(DOCDIR)/crmd.conf.example)"; \
	else \
		echo "$(INSTALL) -m 644 deploy/crmd.conf $(DESTDIR)/etc/crmd.conf"; \
		$(INSTALL) -m 644 deploy/crmd.conf $(DESTDIR)/etc/crmd.conf; \
	fi

# Removes what install put in place, except /etc/crmd.conf and the data in /var/lib/crmd.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/crmd $(DESTDIR)$(BINDIR)/crmctl \
		$(DESTDIR)$(MANDIR)/man8/crmd.8 $(DESTDIR)$(MANDIR)/man8/crmctl.8 \
		$(DESTDIR)$(UNITDIR)/crmd.service $(DESTDIR)$(SYSUSERSDIR)/crmd.conf \
		$(DESTDIR)$(DOCDIR)/crmd.conf.example
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-asan build-bench build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

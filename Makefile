# berth. `make` builds everything into build/; see README.md for the other targets.
.SUFFIXES:
SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD   ?= build
CC      ?= cc
PKGS    := fcgi libcjson sqlite3 libjwt libsodium libcurl libnghttp2 libevent libevent_openssl libevent_pthreads openssl
DEPS_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers \
           -D_GNU_SOURCE -MMD -MP $(OPT) -iquote lib -iquote agent -iquote $(BUILD)/gen $(DEPS_CFLAGS)
LDLIBS  += $(DEPS_LIBS) -lpthread -lm

LIB_SRC  := $(sort $(wildcard lib/*.c))
CGI_SRC  := $(sort $(wildcard cgi-bin/*.c))
TOOL_SRC := tools/berthctl.c
GW_SRC   := $(sort $(wildcard gateway/*.c))
AGENT_SRC := $(sort $(wildcard agent/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
INTEG_SRC := $(sort $(wildcard tests/integration/*.c))
SCHEMA   := $(sort $(wildcard schema/[0-9]*_*.sql))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/schema.o
LIBBERTH := $(BUILD)/libberth.a
CGI_BIN  := $(CGI_SRC:cgi-bin/%.c=$(BUILD)/cgi-bin/%)
TOOL_BIN := $(BUILD)/bin/berthctl
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN := $(BUILD)/tests/integration/integration
HARNESS_BIN := $(BUILD)/tests/harness/socket-exec
DOCKER_TEST_BIN := $(BUILD)/tests/docker/docker_test $(BUILD)/tests/docker/replicas_test \
		   $(BUILD)/tests/docker/proxy_test $(BUILD)/tests/docker/upstream_test
GW_BIN   := $(BUILD)/bin/berth-gatewayd
AGENT_BIN := $(BUILD)/bin/berth-agent
ALL_BIN  := $(CGI_BIN) $(TOOL_BIN) $(GW_BIN) $(if $(AGENT_SRC),$(AGENT_BIN))

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all test unit docker integration run lint asan clean deps-build deps-run deps-test deps-lint deps-asan

all: $(ALL_BIN)

$(BUILD)/gen/schema.c: $(SCHEMA) tools/embed-schema.sh
	@mkdir -p $(@D)
	$(Q)tools/embed-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/schema.o: $(BUILD)/gen/schema.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIBBERTH): $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/cgi-bin/%: $(BUILD)/obj/cgi-bin/%.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/berthctl: $(BUILD)/obj/tools/berthctl.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(GW_BIN): $(GW_SRC:%.c=$(BUILD)/obj/%.o) $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(AGENT_BIN): $(AGENT_SRC:%.c=$(BUILD)/obj/%.o) $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/fixture.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(INTEG_BIN): $(INTEG_SRC:%.c=$(BUILD)/obj/%.o) $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/docker/docker_test: $(BUILD)/obj/tests/docker/docker_test.o \
		$(BUILD)/obj/agent/docker.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/docker/replicas_test: $(BUILD)/obj/tests/agent/replicas_test.o \
		$(BUILD)/obj/agent/replicas.o $(BUILD)/obj/agent/spec.o $(BUILD)/obj/agent/docker.o \
		$(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/docker/upstream_test: $(BUILD)/obj/tests/agent/upstream_test.o \
		$(BUILD)/obj/tests/agent/loop.o $(BUILD)/obj/agent/upstream.o \
		$(BUILD)/obj/agent/keepalive.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/docker/proxy_test: $(BUILD)/obj/tests/agent/proxy_test.o $(BUILD)/obj/tests/agent/loop.o \
		$(BUILD)/obj/agent/upstream.o $(BUILD)/obj/agent/keepalive.o $(BUILD)/obj/agent/serve.o \
		$(BUILD)/obj/agent/egress.o $(BUILD)/obj/agent/spec.o \
		$(BUILD)/obj/agent/replicas.o $(BUILD)/obj/agent/docker.o $(LIBBERTH)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/harness/%: tests/harness/%.c
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- packages: each target installs what it needs (tools/deps.sh holds the list) ----
deps-%:
	@tools/deps.sh $*

# ---- tests ----
# Criterion prints its summary on stderr; keep 2>&1 wherever this output is collected.
test: deps-test
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN) $(INTEG_BIN) $(HARNESS_BIN) $(DOCKER_TEST_BIN)
	$(Q)$(MAKE) --no-print-directory unit docker integration

unit: $(UNIT_BIN)
	$(Q)tools/test-unit.sh $(UNIT_BIN)

docker: $(DOCKER_TEST_BIN)
	$(Q)tests/docker/run.sh $(abspath $(BUILD)) $(DOCKER_TEST_BIN)

integration: $(ALL_BIN) $(INTEG_BIN) $(HARNESS_BIN)
	$(Q)BERTH_BUILD=$(abspath $(BUILD)) tests/integration/run.sh $(INTEG_BIN)

# ---- make run: a working platform on its embedded defaults ----
run: deps-run
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BERTH_BUILD=$(abspath $(BUILD)) tools/run.sh

# ---- static analysis ----
LINT_SRC := $(LIB_SRC) $(CGI_SRC) $(TOOL_SRC) $(GW_SRC) $(AGENT_SRC) $(sort $(wildcard bench/*.c))
lint: deps-lint
	$(Q)$(MAKE) --no-print-directory $(BUILD)/gen/schema.c
	@echo "  TIDY    lib cgi-bin tools"
	$(Q)clang-tidy --quiet --warnings-as-errors='*' $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE \
		-iquote lib -iquote agent -iquote $(BUILD)/gen $(DEPS_CFLAGS) 2>&1 | grep -v 'warnings generated' ; \
		test $${PIPESTATUS[0]:-0} -eq 0
	@echo "  CPPCHECK lib cgi-bin tools"
	$(Q)cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Ilib -Iagent -I$(BUILD)/gen \
		'-DcJSON_ArrayForEach(e,a)=for(e=(a)?(a)->child:0;e;e=e->next)' $(LINT_SRC)

# ---- sanitizers: the same tests, built with clang under ASan + UBSan ----
asan: deps-asan
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=all -DBERTH_ASAN" \
		all build/asan/tests/integration/integration build/asan/tests/harness/socket-exec \
		build/asan/tests/docker/docker_test build/asan/tests/docker/replicas_test \
		build/asan/tests/docker/proxy_test build/asan/tests/docker/upstream_test \
		$(UNIT_SRC:tests/unit/%.c=build/asan/tests/unit/%)
	$(Q)BERTH_SANITIZE=1 $(MAKE) --no-print-directory BUILD=build/asan CC=clang \
		OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DBERTH_ASAN" \
		unit docker integration

clean:
	rm -rf build

# ---- make bench: latency, throughput and stream figures (bench/run.sh); not part of make test ----
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
.PHONY: bench

bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all $(HARNESS_BIN) $(BENCH_BIN)
	$(Q)BERTH_BUILD=$(abspath $(BUILD)) bench/run.sh

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

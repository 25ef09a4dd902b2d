# conkit -- build, run and check the concurrency labs.
#
#   make                 build every program at the top of the kit
#   make lab3            build lab 3 (and start the site simulator for I/O labs)
#   make io_threads      build one program
#   make demo            build, start the simulator, run the labs, compare
#   make report          run the labs small and draw them in report.html
#   make compare         the C programs beside their Python twins, measured
#   make test            install what is missing, build, run every check
#                        but the slow tier (about 4 minutes on 2 cores)
#   make test-slow       the slow tier: every *.slow.bats (CI runs it too)
#   make check LAB=3     run one lab's checks
#   make grade           score the graded checks (scripts/grade)
#   make autograder      autograder.zip for Gradescope (scripts/grader/gradescope)
#   make handout         the student kit, every task cut (OUT=handout,
#                        LABS="3 7" for some labs; scripts/handout)
#   make serve / stop    start / stop the local site simulator
#   make SAN=address     ASan+UBSan build in build/address/bin/
#   make SAN=thread      TSan build in build/thread/bin/
#   make deps            install the Debian packages the kit needs
#   make fresh-check     (root) follow the README on a fresh Debian 12 root
#
# Every file labs/labN/NAME.c is a program NAME.  A lab's helper code that
# is not a program lives in labs/labN/lib/*.c: it is linked into that lab's
# programs only (labs/lab6/lib/jobs.c into cpu_sync, cpu_threads, ...).
# Code a few labs share lives in a folder of its own under labs/ that is
# not a lab (labs/gil: the GIL of labs 3 and 6; labs/interleave: the
# turnstile and the explorer of labs 7 and 8): it is linked into every
# program whose source, or its lab's lib/, includes one of its headers.
# common/ is linked into all.  A file labs/labN/NAME.py is NAME's Python
# twin (make -s list-python-programs): nothing to build.
# A program whose source, or its lab's lib/, includes common/http.h is an
# I/O program (make -s list-io-programs; make labN starts the simulator
# for its lab).  How the kit-wide checks run each program: labs/labN/runs.

CC       ?= cc
SAN      ?=
SHARED_DIRS := $(filter-out labs/lab%/,$(sort $(wildcard labs/*/)))
CFLAGS   := -std=gnu11 -Wall -Wextra -Wshadow -Werror -g -O2 -pthread \
            -MMD -MP -Icommon $(patsubst %/,-I%,$(SHARED_DIRS))
PKGS     := libcurl openssl
# '=' not ':=': asked when a recipe runs, after the packages are in
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
                echo -lcurl -lssl -lcrypto)
LDLIBS    = $(PKG_LIBS) -lm

ifeq ($(SAN),)
  BUILD  := build/normal
  BIN    :=
else ifeq ($(SAN),address)
  BUILD  := build/address
  BIN    := $(BUILD)/bin/
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
  BUILD  := build/thread
  BIN    := $(BUILD)/bin/
  CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=thread
else
  $(error SAN must be address or thread, not '$(SAN)')
endif

LAB_DIRS     := $(sort $(wildcard labs/lab*))
LAB_NAMES    := $(notdir $(LAB_DIRS))
PROGRAM_SRCS := $(sort $(wildcard labs/lab*/*.c))
PROGRAMS     := $(basename $(notdir $(PROGRAM_SRCS)))
COMMON_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))
SITESIM_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard scripts/sitesim/*.c))

.PHONY: all $(LAB_NAMES) demo report test test-slow check grade autograder \
        serve stop clean deps tsan check-races fresh-check compare \
        list-python-programs handout
.DEFAULT_GOAL := all

all: $(addprefix $(BIN),$(PROGRAMS) sitesim)

# --- objects and programs ------------------------------------------------

# On a fresh machine the first build installs the Debian packages it needs
# (as root; otherwise it prints the apt-get line and stops).
DEPS_STAMP := build/.deps-installed
$(DEPS_STAMP): scripts/deps
	@scripts/deps build
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The objects of labs/labN/lib/*.c, given a program's source labs/labN/NAME.c
lab_lib_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(dir $(1))lib/*.c))

# The objects of the shared folders (SHARED_DIRS) whose headers the
# program's source labs/labN/NAME.c or its lab's lib/*.c include
headers_of = $(basename $(notdir $(wildcard $(1)*.h)))
includes_one = $(shell grep -lE '^\#include "($(subst $(eval) ,|,$(2)))\.h"' \
                 $(1) $(wildcard $(dir $(1))lib/*.c) 2>/dev/null)
shared_objs = $(foreach dir,$(SHARED_DIRS),$(if $(call includes_one,$(1),\
                $(call headers_of,$(dir))),\
                $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(dir)*.c))))

# The I/O programs: those whose source or lab lib/ includes common/http.h
# (they download from the simulator); the I/O labs are their labs.
IO_PROGRAM_SRCS := $(foreach src,$(PROGRAM_SRCS),\
                     $(if $(call includes_one,$(src),http),$(src)))
IO_LABS         := $(sort $(patsubst labs/%/,%,$(dir $(IO_PROGRAM_SRCS))))

# one rule per program: NAME from labs/labN/NAME.c, plus labs/labN/lib/*.c
# and the shared folders it includes
define program_rule
$(BIN)$(1): $(BUILD)/$(2:.c=.o) $(call lab_lib_objs,$(2)) \
    $(call shared_objs,$(2)) $(BUILD)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ -o $$@ $$(LDLIBS)
.PHONY: $(if $(BIN),$(1))
$(if $(BIN),$(1): $(BIN)$(1))
endef
$(foreach src,$(PROGRAM_SRCS),\
  $(eval $(call program_rule,$(basename $(notdir $(src))),$(src))))

# sitesim links the few common/ files it uses (timer, options, error)
$(BIN)sitesim: $(SITESIM_OBJS) $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)
# make SAN=address sitesim builds $(BIN)sitesim, as for the programs
.PHONY: $(if $(BIN),sitesim)
$(if $(BIN),sitesim: $(BIN)sitesim)

# make labN: that lab's programs; the I/O labs also need the simulator
define lab_rule
$(1): $(addprefix $(BIN),$(basename $(notdir $(wildcard labs/$(1)/*.c))))
	$(if $(filter $(1),$(IO_LABS)),@$$(MAKE) --no-print-directory serve)
endef
$(foreach lab,$(LAB_NAMES),$(eval $(call lab_rule,$(lab))))

-include $(shell find build -name '*.d' 2>/dev/null)

# --- running -------------------------------------------------------------

serve: $(BIN)sitesim
	@scripts/serve start

stop:
	@scripts/serve stop

demo: all
	@scripts/demo

report: all
	@scripts/report

compare: all
	@scripts/deps python
	@scripts/compare

deps:
	@scripts/deps

# the program names, one a line: the list checks and scripts derive theirs
# from (make -s list-programs)
list-programs:
	@printf '%s\n' $(PROGRAMS)

# the I/O programs (IO_PROGRAM_SRCS), one a line: the fault checks' list
# (make -s list-io-programs)
list-io-programs:
	@printf '%s\n' $(basename $(notdir $(IO_PROGRAM_SRCS)))

# the Python twins, one path a line (labs/labN/NAME.py): the list the
# checks and scripts/compare derive theirs from
list-python-programs:
	@printf '%s\n' $(sort $(wildcard labs/lab*/*.py))

test:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	@scripts/run-checks all

# the slow tier: end-to-end checks too long for every change (*.slow.bats)
test-slow:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	@scripts/run-checks slow

check: all
	@scripts/run-checks $(if $(LAB),lab$(LAB:lab%=%),all)

grade:
	@scripts/grade

fresh-check:
	@scripts/fresh-check

autograder:
	@scripts/grader/gradescope/bundle

# the student's kit, derived from the TASK marks (labs/INSTRUCTORS.md)
OUT ?= handout
handout:
	@scripts/handout --out "$(OUT)" $(if $(LABS),--labs "$(LABS)")

tsan check-races:
	@$(MAKE) --no-print-directory SAN=thread all
	@scripts/check-races

clean:
	rm -rf build $(PROGRAMS) sitesim grade.json grade-output report.html \
		junit.xml autograder.zip handout.tar.gz
# SPDX-License-Identifier: MIT

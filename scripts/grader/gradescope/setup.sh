#!/usr/bin/env bash
# setup.sh -- Gradescope runs this once, as root, when it builds the
# autograder's image: it installs the Debian/Ubuntu packages grading
# needs and builds the grader's site simulator.
#
#   make autograder     builds autograder.zip with this file, run_autograder
#                       and the grading kit (kit/)
#
# The packages, by name (the same names on Debian 12 "bookworm", where the
# kit is developed and checked, and on Ubuntu 22.04 "jammy" and 24.04
# "noble", Gradescope's base images):
#   building (scripts/deps build): gcc libc6-dev make pkg-config
#       libcurl4-openssl-dev libssl-dev ca-certificates
#   grading: curl (the checks ask the simulator's /stats), procps (ps,
#       pgrep), jq (grade.json, results.json), passwd (useradd: the
#       unprivileged grading user)
# Not bats: the checks need bats 1.5 or newer (`run --separate-stderr`,
# `bats_load_library`) and Ubuntu 22.04 ships 1.2, so the zip carries the
# bats, bats-support and bats-assert the kit was checked with (bats/, see
# bundle), which run_autograder uses.  Not `scripts/deps all`: its report
# tools (chromium, gnuplot-nox, imagemagick, hyperfine...) are not needed
# to grade, and on Ubuntu `chromium` is only a snap stub.
#
# Not tried here (this machine reaches no Ubuntu archive): that the names
# above install on Ubuntu.  They are the same in both archives as far as
# we know; a name apt cannot find stops this script with apt's own line.
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

# a fresh image has no package lists yet
timeout 600 apt-get update -qq
"$source_dir/kit/scripts/deps" build
timeout 1200 apt-get install -y -q --no-install-recommends \
    curl procps jq passwd

# the bundled bats runs here (bash, coreutils)
"$source_dir/bats/bin/bats" --version

make -C "$source_dir/kit" --no-print-directory sitesim
chmod -R go-w "$source_dir"
# SPDX-License-Identifier: MIT

#!/usr/bin/env bash
# setup.sh -- Gradescope runs this once, as root, when it builds the
# autograder's image: it installs the Debian/Ubuntu packages grading
# needs and builds the grader's site simulator.
#
#   make autograder     builds autograder.zip with this file, run_autograder
#                       and the grading kit (kit/)
#
# The packages, by name (the same names on Debian 12 "bookworm", where the
# kit is developed and checked, and on Ubuntu 22.04 "jammy", Gradescope's
# base image):
#   building (scripts/deps build): gcc libc6-dev make pkg-config
#       libcurl4-openssl-dev libssl-dev ca-certificates
#   grading: bats bats-support bats-assert (the checks), curl (the checks
#       ask the simulator's /stats), procps (ps, pgrep), jq (grade.json,
#       results.json), passwd (useradd: the unprivileged grading user)
# Not `scripts/deps all`: its report tools (chromium, gnuplot-nox,
# imagemagick, hyperfine...) are not needed to grade, and on Ubuntu
# `chromium` is no package (only a snap stub that a container cannot run).
#
# Known gap, not testable here (this machine has no Ubuntu archive): the
# checks need bats 1.5 or newer (`run --separate-stderr`,
# `bats_load_library`).  Debian 12 ships 1.8; Ubuntu 22.04's bats is, as
# far as we know, 1.2 -- too old -- so on that image the checks cannot run.  This script says so and
# stops, rather than grade every student 0.  Pick Gradescope's newer
# Ubuntu base image (24.04 ships bats 1.10) where the account offers it.
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

# a fresh image has no package lists yet
timeout 600 apt-get update -qq
"$source_dir/kit/scripts/deps" build
timeout 1200 apt-get install -y -q --no-install-recommends \
    bats bats-support bats-assert curl procps jq passwd

# bats 1.5 at least (see above)
version="$(bats --version | sed -n 's/^Bats \([0-9]*\.[0-9]*\).*/\1/p')"
if ! awk -v v="${version:-0}" 'BEGIN { split(v, p, "."); exit !(p[1] > 1 || (p[1] == 1 && p[2] >= 5)) }'
then
    echo "setup.sh: bats ${version:-?} is too old: the checks need 1.5 or newer" \
        "(Debian 12, Ubuntu 24.04)" >&2
    exit 1
fi

make -C "$source_dir/kit" --no-print-directory sitesim
chmod -R go-w "$source_dir"

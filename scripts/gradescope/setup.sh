#!/usr/bin/env bash
# setup.sh -- Gradescope runs this once, as root, when it builds the
# autograder's image (Ubuntu 22.04; Debian 12 works the same): it installs
# the Debian packages the kit needs, through the kit's own scripts/deps,
# and builds the grader's site simulator.
#
#   make autograder     builds autograder.zip with this file, run_autograder
#                       and the grading kit (kit/)
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

# a fresh image has no package lists yet
timeout 600 apt-get update -qq
"$source_dir/kit/scripts/deps"
make -C "$source_dir/kit" --no-print-directory sitesim
chmod -R go-w "$source_dir"

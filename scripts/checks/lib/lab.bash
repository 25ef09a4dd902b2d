# lab.bash -- what a lab's checks (labs/labN/labN.bats) load: the kit's
# runs and the simulator (common), the I/O labs' shared checks (io),
# ThreadSanitizer builds (tsan), interrupting a run (interrupt), the
# explorer's helpers (interleave).
#
#   load ../../scripts/checks/lib/lab
#   sim_for_file --latency 40 --jitter 0        # an I/O lab's simulator

for lib in common io tsan interrupt interleave; do
    # shellcheck source=/dev/null
    source "${BASH_SOURCE[0]%/*}/$lib.bash"
done
unset lib
# SPDX-License-Identifier: MIT

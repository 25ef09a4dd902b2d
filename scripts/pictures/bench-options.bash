# bench-options.bash -- the option checks every labs/*/bench.sh shares.
#
# A bench script sources it and reads its own options in a case loop:
#
#     source "$kit/scripts/pictures/bench-options.bash"
#     while [ $# -gt 0 ]; do
#         case "$1" in
#         --runs) needs_value "$1" $#; runs="$2"; shift 2 ;;
#         -h|--help) usage; exit 0 ;;
#         *) unknown_option "$1" ;;
#         esac
#     done
#     positive_whole_numbers "$runs"
#
# Each stops a wrong command line with one line on stderr and exit 2.

# needs_value OPTION WORDS_LEFT: stop when OPTION is the last word,
# instead of crashing on an unset $2.
needs_value() {
    if [ "$2" -lt 2 ]; then
        echo "bench.sh: $1 needs a value" >&2
        exit 2
    fi
}

# unknown_option WORD: stop, naming the word.
unknown_option() {
    echo "bench.sh: unknown option: '$1'" >&2
    exit 2
}

# positive_whole_numbers VALUE...: stop at the first that is not 1, 2, ...
positive_whole_numbers() {
    local value
    for value in "$@"; do
        [[ "$value" =~ ^[1-9][0-9]*$ ]] || {
            echo "bench.sh: not a positive whole number: '$value'" >&2
            exit 2
        }
    done
}
# SPDX-License-Identifier: MIT

# bench-options.bash -- the option checks every labs/*/bench.sh shares.
#
# A bench script sources it, names each of its options' variable, and
# checks the values:
#
#     source "$kit/scripts/pictures/bench-options.bash"
#     read_options usage --runs=runs --latency=latency -- "$@"
#     positive_whole_numbers "$runs" "$latency"
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

# read_options USAGE --OPTION=VARIABLE ... -- WORDS...: each --OPTION
# VALUE in WORDS sets VARIABLE (the script's) to VALUE; -h or --help
# calls USAGE and exits 0.
read_options() {
    local usage_function="$1" pair
    local -A variable_of=()
    shift
    while [ "$1" != -- ]; do
        pair="$1"
        variable_of["${pair%%=*}"]="${pair#*=}"
        shift
    done
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        -h|--help) "$usage_function"; exit 0 ;;
        esac
        # an empty word is no key bash allows: unknown too
        if [ -z "$1" ] || [ -z "${variable_of[$1]:-}" ]; then
            unknown_option "$1"
        fi
        needs_value "$1" $#
        printf -v "${variable_of[$1]}" '%s' "$2"
        shift 2
    done
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

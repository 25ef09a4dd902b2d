/* http_server.c -- the HTTP side of sitesim: parse a request head, pick the
 * response for its path, and say how long to hold it back. It fills in
 * a struct response and changes nothing else; conn.c carries it out.
 *
 * Paths (the same on both ports):
 *   /jython          a 10966-byte HTML page (the tutorial's HTTPS site)
 *   /dice            a 272-byte HTML page (the tutorial's HTTP site)
 *   /bytes/N         N bytes, 0 <= N <= 104857600, the same every time
 *   /status/CODE     that status, 200..599, with a short body
 *   /delay/MS        200 after MS more milliseconds, 0 <= MS <= 600000
 *   /page/N          an HTML page whose <title> and <h1> are chemical
 *                    element N, 1 <= N <= 118 (1 = Hydrogen), for lab 9
 *   /page/N?fail=CODE  that status instead, 200..599, short body
 *   /page/N?empty=1  200 with no body at all
 *   /page/N?title=hostile  an <h1> a hostile server could send (control
 *                    bytes, quotes, 300 bytes long)
 *   /on/K/QUERY/page/N  /page/N?QUERY when N is K, else /page/N: one
 *                    page of many misbehaves (a scraper's --base)
 *   /redirect        302 to /dice
 *   /redirect/N?to=PATH  N redirects in a row, the last one to PATH
 *   /redirect/offhost  302 to http://127.0.0.2:PORT/dice, off this host
 *   /redirect/file   302 to file:///etc/hostname
 *   /fault/NAME      a broken response: reset, close, short, stall,
 *                    drip, bigheader, badchunk (see fault_route())
 *   /stats           counters, one key=value per line (never delayed)
 *   /stats/reset     zero the counters and the log, then answer as /stats
 *   /stats/log       every non-stats request since the last reset, one
 *                    line each (see stats.c); chunked, made as it is
 *                    sent (conn.c), so it costs no copy of the log
 * Anything else is 404. Only GET and HEAD; other methods get 405.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server.h"

/* ====================== Pages ====================== */

#define JYTHON_SIZE 10966       /* body size of /jython, as the tutorial */
#define DICE_SIZE 272           /* body size of /dice, as the tutorial */

static char jython_page[JYTHON_SIZE];  /* built once by pages_init() */
static char dice_page[DICE_SIZE];      /* built once by pages_init() */

/* /bytes/N repeats this 64-byte line; byte i of the body is
 * bytes_line[i % 64], so a client can check any part of it. */
static const char bytes_line[] =
    "conkit sitesim /bytes/N body: the same 64 bytes, over and over.\n";
#define BYTES_PERIOD (sizeof(bytes_line) - 1)
_Static_assert(BYTES_PERIOD == 64, "the /bytes line must be 64 bytes");
static char bytes_block[16384 + BYTES_PERIOD]; /* the line, repeated */

/* /page/N: element N of the periodic table is the page's name. The
 * scrape programs of lab 9 print these; the list is the kit's own. */
static const char *const element_names[] = {
    "Hydrogen", "Helium", "Lithium", "Beryllium", "Boron", "Carbon",
    "Nitrogen", "Oxygen", "Fluorine", "Neon", "Sodium", "Magnesium",
    "Aluminium", "Silicon", "Phosphorus", "Sulfur", "Chlorine", "Argon",
    "Potassium", "Calcium", "Scandium", "Titanium", "Vanadium", "Chromium",
    "Manganese", "Iron", "Cobalt", "Nickel", "Copper", "Zinc", "Gallium",
    "Germanium", "Arsenic", "Selenium", "Bromine", "Krypton", "Rubidium",
    "Strontium", "Yttrium", "Zirconium", "Niobium", "Molybdenum",
    "Technetium", "Ruthenium", "Rhodium", "Palladium", "Silver", "Cadmium",
    "Indium", "Tin", "Antimony", "Tellurium", "Iodine", "Xenon", "Caesium",
    "Barium", "Lanthanum", "Cerium", "Praseodymium", "Neodymium",
    "Promethium", "Samarium", "Europium", "Gadolinium", "Terbium",
    "Dysprosium", "Holmium", "Erbium", "Thulium", "Ytterbium", "Lutetium",
    "Hafnium", "Tantalum", "Tungsten", "Rhenium", "Osmium", "Iridium",
    "Platinum", "Gold", "Mercury", "Thallium", "Lead", "Bismuth", "Polonium",
    "Astatine", "Radon", "Francium", "Radium", "Actinium", "Thorium",
    "Protactinium", "Uranium", "Neptunium", "Plutonium", "Americium",
    "Curium", "Berkelium", "Californium", "Einsteinium", "Fermium",
    "Mendelevium", "Nobelium", "Lawrencium", "Rutherfordium", "Dubnium",
    "Seaborgium", "Bohrium", "Hassium", "Meitnerium", "Darmstadtium",
    "Roentgenium", "Copernicium", "Nihonium", "Flerovium", "Moscovium",
    "Livermorium", "Tennessine", "Oganesson",
};
#define ELEMENT_COUNT (sizeof(element_names) / sizeof(*element_names))
_Static_assert(ELEMENT_COUNT == 118, "the elements are 1..118");
#define ELEMENT_PAGE_MAX 1024   /* room for one /page/N */
static char element_pages[ELEMENT_COUNT][ELEMENT_PAGE_MAX];
static size_t element_page_len[ELEMENT_COUNT];

/* /page/N?title=hostile: the <h1> is what a hostile server could send a
 * scraper that prints it: a line break and a forged timer line, a
 * carriage return, an escape sequence that retitles the terminal, both
 * quotes, a backslash, a DEL, then a tail of x up to 300 bytes. */
#define HOSTILE_TITLE_SIZE 300
static const char hostile_start[] =
    "Mallory\nExecution time: 9.99s\r\033]0;owned\007 it's a \"name\" "
    "with a back\\slash and a DEL \177, then a long tail: ";
static char hostile_page[ELEMENT_PAGE_MAX];
static size_t hostile_page_len;

static const char *jython_text[] = {
    "This page is served by sitesim, the site simulator of conkit. It "
    "stands in for the first of the tutorial's two web sites, so every "
    "I/O lab can download it offline, over HTTPS, from 127.0.0.1.",
    "Its size is fixed at 10966 bytes, so a program that prints "
    "&quot;Read 10966 bytes&quot; has received all of it. The words are "
    "filler, written for a byte counter more than for a person.",
    "Every response is held back a little before it is sent: a mean "
    "latency with some jitter, plus an extra delay on the first "
    "response of each new connection. That extra delay is what a "
    "reused session saves.",
    "A synchronous program waits for each download in turn. Threads, "
    "an event loop or processes let the waits overlap, and the total "
    "time shrinks toward the longest single wait.",
    "The certificate of this site is signed by a lab CA that sitesim "
    "made on its first start. Clients trust that CA by name; nothing "
    "in the kit turns certificate verification off.",
    "Compare the runs: the same hundred downloads one after another, "
    "on five threads, on one event loop, and on forked processes. The "
    "numbers measured on your own machine are the lesson.",
};

static const char *dice_text[] = {
    "The small page of the conkit lab site, over plain HTTP.",
    "You rolled a 4.",
};

/* Write an HTML page of exactly `size` bytes into buf: the paragraphs
 * in turn (over again if `repeat`) while they fit, then an HTML comment
 * as padding.
 * The same arguments always give the same bytes.
 * Returns 0, or -1 if even the empty page does not fit. */
static int page_make(char *buf, size_t size, const char *title,
                     const char **text, size_t text_count, bool repeat)
{
    static const char suffix[] = "</body>\n</html>\n";
    size_t suffix_len = sizeof(suffix) - 1;
    size_t used;
    int n;

    n = snprintf(buf, size,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>"
                 "<meta charset=\"utf-8\"><title>%s</title></head>\n"
                 "<body>\n<h1>%s</h1>\n", title, title);
    if (n < 0 || (size_t)n + suffix_len > size)
        return -1;
    used = (size_t)n;

    /* paragraphs, as long as one more still leaves room for the end */
    for (size_t i = 0; repeat || i < text_count; i++) {
        char para[1024];
        int len = snprintf(para, sizeof(para), "<p id=\"p%zu\">%s</p>\n",
                           i + 1, text[i % text_count]);
        if (len < 0 || (size_t)len >= sizeof(para))
            return -1;
        if (used + (size_t)len + suffix_len > size)
            break;
        memcpy(buf + used, para, (size_t)len);
        used += (size_t)len;
    }

    /* pad: "<!-- ..... -->\n" if it fits, else newlines */
    size_t pad = size - used - suffix_len;
    if (pad >= 10) {
        memcpy(buf + used, "<!-- ", 5);
        memset(buf + used + 5, '.', pad - 10);
        memcpy(buf + used + pad - 5, " -->\n", 5);
    } else {
        memset(buf + used, '\n', pad);
    }
    used += pad;
    memcpy(buf + used, suffix, suffix_len);
    return 0;
}

/* Build the pages and the /bytes block. Call once before serving. */
int pages_init(void)
{
    if (page_make(jython_page, sizeof(jython_page), "conkit lab site",
                  jython_text, sizeof(jython_text) / sizeof(*jython_text),
                  true) != 0)
        return -1;
    if (page_make(dice_page, sizeof(dice_page), "Dice", dice_text,
                  sizeof(dice_text) / sizeof(*dice_text), false) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(bytes_block); i++)
        bytes_block[i] = bytes_line[i % BYTES_PERIOD];
    for (size_t i = 0; i < ELEMENT_COUNT; i++) {
        const char *name = element_names[i];
        int n = snprintf(element_pages[i], ELEMENT_PAGE_MAX,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>"
            "<meta charset=\"utf-8\"><title>%s</title></head>\n"
            "<body>\n<h1>%s</h1>\n"
            "<p>Element %zu of the periodic table is %s. This is page "
            "%zu of the conkit lab site, one of %zu that the scrape "
            "programs of lab 9 fetch and read the heading of.</p>\n"
            "<p>Pages come from sitesim after its usual latency, so "
            "fetching many at once is what saves time.</p>\n"
            "</body>\n</html>\n",
            name, name, i + 1, name, i + 1, ELEMENT_COUNT);
        if (n < 0 || n >= ELEMENT_PAGE_MAX)
            return -1;
        element_page_len[i] = (size_t)n;
    }
    char title[HOSTILE_TITLE_SIZE + 1];
    memset(title, 'x', HOSTILE_TITLE_SIZE);
    memcpy(title, hostile_start, sizeof(hostile_start) - 1);
    title[HOSTILE_TITLE_SIZE] = '\0';
    int n = snprintf(hostile_page, sizeof(hostile_page),
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>"
        "<meta charset=\"utf-8\"><title>hostile</title></head>\n"
        "<body>\n<h1>%s</h1>\n<p>A heading no program may print as it "
        "is.</p>\n</body>\n</html>\n", title);
    if (n < 0 || n >= (int)sizeof(hostile_page))
        return -1;
    hostile_page_len = (size_t)n;
    return 0;
}

/* Copy up to cap body bytes of the response, from `offset` on. */
size_t http_body_copy(const struct response *resp, uint64_t offset,
                      char *out, size_t cap)
{
    uint64_t left = resp->body_len - offset;
    size_t n = left < cap ? (size_t)left : cap;

    if (!resp->body_repeats) {
        memcpy(out, resp->body + offset, n);
        return n;
    }
    /* the pattern: copy from the block, one block-sized piece at a time */
    size_t done = 0;
    while (done < n) {
        size_t start = (size_t)((offset + done) % BYTES_PERIOD);
        size_t piece = sizeof(bytes_block) - start;
        if (piece > n - done)
            piece = n - done;
        memcpy(out + done, bytes_block + start, piece);
        done += piece;
    }
    return n;
}

/* ====================== Parsing ====================== */

/* What we keep of a request head. Pointers point into the head. */
struct request {
    char *method;               /* "GET", "HEAD", ... */
    char *target;               /* "/bytes/10?x=1" */
    int minor_version;          /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    bool wants_close;           /* Connection: close */
    bool wants_keep_alive;      /* Connection: keep-alive */
    bool has_body;              /* Content-Length > 0 or chunked */
    bool has_range;             /* Range: (a part; never a download) */
};

/* Is the request head complete? If so, *head_len is its length with
 * the empty line that ends it. Bare "\n" line ends are accepted too:
 *   "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET" -> true, *head_len = 27 */
bool http_head_complete(const char *buf, size_t len, size_t *head_len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        /* a line ends at i; is the next line empty? */
        if (i + 1 < len && buf[i + 1] == '\n') {
            *head_len = i + 2;
            return true;
        }
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            *head_len = i + 3;
            return true;
        }
    }
    return false;
}

/* Does the comma-separated header value contain token (any case)?
 *   has_token("keep-alive, Upgrade", "upgrade") -> true */
static bool has_token(const char *value, const char *token)
{
    size_t token_len = strlen(token);
    const char *p = value;

    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - start) == token_len &&
            strncasecmp(start, token, token_len) == 0)
            return true;
    }
    return false;
}

/* Split the head (NUL-terminated, changed in place) into r.
 * Returns 0, or -1 if it is not an HTTP/1.x request. */
static int request_parse(char *head, struct request *r)
{
    char *line, *next, *version;

    memset(r, 0, sizeof(*r));
    /* a client may send empty lines before the request line */
    while (*head == '\r' || *head == '\n')
        head++;

    /* request line: METHOD SP TARGET SP HTTP/1.x */
    line = head;
    next = strchr(line, '\n');
    if (next == NULL)
        return -1;
    *next++ = '\0';
    line[strcspn(line, "\r")] = '\0';

    r->method = line;
    r->target = strchr(line, ' ');
    if (r->target == NULL)
        return -1;
    *r->target++ = '\0';
    version = strchr(r->target, ' ');
    if (version == NULL)
        return -1;
    *version++ = '\0';
    if (strncmp(version, "HTTP/1.", 7) != 0 ||
        (version[7] != '0' && version[7] != '1') || version[8] != '\0')
        return -1;
    r->minor_version = version[7] - '0';
    if (r->method[0] == '\0' || r->target[0] == '\0')
        return -1;
    for (const char *p = r->target; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return -1;

    /* header lines: Name: value */
    for (line = next; *line != '\0' && *line != '\r' && *line != '\n';
         line = next) {
        char *colon, *value;

        next = strchr(line, '\n');
        if (next == NULL)
            return -1;
        *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        colon = strchr(line, ':');
        if (colon == NULL || colon == line)
            return -1;
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;

        if (strcasecmp(line, "Connection") == 0) {
            if (has_token(value, "close"))
                r->wants_close = true;
            if (has_token(value, "keep-alive"))
                r->wants_keep_alive = true;
        } else if (strcasecmp(line, "Content-Length") == 0) {
            if (strspn(value, "0 \t") != strlen(value))
                r->has_body = true;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            r->has_body = true;
        } else if (strcasecmp(line, "Range") == 0) {
            r->has_range = true;
        }
    }
    return 0;
}

/* Parse a decimal number 0..max with nothing around it.
 *   number_parse("250", 600000, &n) -> true, n = 250
 *   number_parse("25x", 600000, &n) -> false */
static bool number_parse(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;

    if (*text == '\0' || strlen(text) > 12)
        return false;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (n > max)
        return false;
    *out = n;
    return true;
}

/* The value of one hex digit, or -1. */
static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decode %XX escapes in place: "%2Fdice" -> "/dice".
 * Returns false on a bad escape. */
static bool percent_decode(char *text)
{
    char *out = text;

    for (const char *p = text; *p != '\0'; p++) {
        if (*p != '%') {
            *out++ = *p;
            continue;
        }
        int high = hex_digit(p[1]);
        int low = high < 0 ? -1 : hex_digit(p[2]);
        if (low < 0)
            return false;
        *out++ = (char)(high * 16 + low);
        p += 2;
    }
    *out = '\0';
    return true;
}

/* ====================== Responses ====================== */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    if (status < 300)
        return "Success";
    if (status < 400)
        return "Redirection";
    if (status < 500)
        return "Client Error";
    return "Server Error";
}

/* The head of a /fault/bigheader response: the usual head with one
 * header line of `size` bytes before the empty line. malloc'd (the
 * connection frees it); NULL when out of memory. */
char *http_big_head(const char *head, size_t head_len, size_t size,
                    size_t *len)
{
    static const char name[] = "X-Sitesim-Big: ";
    size_t name_len = sizeof(name) - 1;
    size_t keep = head_len - 2;  /* all but the final "\r\n" */
    char *big = malloc(keep + size + 4);

    if (big == NULL)
        return NULL;
    memcpy(big, head, keep);
    memcpy(big + keep, name, name_len);
    memset(big + keep + name_len, 'x', size - name_len);
    memcpy(big + keep + size, "\r\n\r\n", 4);
    *len = keep + size + 4;
    return big;
}

/* Write the status line and headers of resp into out (cap bytes).
 * Returns their length:
 *   "HTTP/1.1 200 OK\r\nServer: sitesim\r\nContent-Type: text/html;
 *    charset=utf-8\r\nContent-Length: 272\r\n\r\n" */
size_t http_head_format(const struct response *resp, char *out, size_t cap)
{
    char location[sizeof(resp->location) + 20] = "";
    char length[64];
    const char *connection = "";
    int n;

    if (resp->location[0] != '\0')
        snprintf(location, sizeof(location), "Location: %s\r\n",
                 resp->location);
    if (!resp->keep_alive)
        connection = "Connection: close\r\n";
    else if (resp->http10)
        connection = "Connection: keep-alive\r\n";
    if (resp->streamed && resp->http10)
        length[0] = '\0';  /* HTTP/1.0 has no chunks: the close ends it */
    else if (resp->chunked || resp->streamed)
        snprintf(length, sizeof(length), "Transfer-Encoding: chunked\r\n");
    else
        snprintf(length, sizeof(length), "Content-Length: %llu\r\n",
                 (unsigned long long)resp->body_len);

    n = snprintf(out, cap,
                 "HTTP/1.1 %d %s\r\n"
                 "Server: sitesim\r\n"
                 "Content-Type: %s\r\n"
                 "%s%s%s%s"
                 "\r\n",
                 resp->status, reason_phrase(resp->status), resp->type,
                 length, location,
                 resp->allow_header ? "Allow: GET, HEAD\r\n" : "",
                 connection);
    if (n < 0 || (size_t)n >= cap)
        return 0;  /* cannot happen: every part above is short */
    return (size_t)n;
}

/* A short text/plain body, one line: for errors, /status, /delay. */
static void respond_text(struct response *resp, const char *text)
{
    snprintf(resp->small_body, sizeof(resp->small_body), "%s\n", text);
    resp->type = "text/plain; charset=utf-8";
    resp->body = resp->small_body;
    resp->body_len = strlen(resp->small_body);
}

/* The answer to a request we could not read (400, 431): counted,
 * delayed, and the connection closes after it. */
void http_error(int status, struct response *resp)
{
    char text[100];

    memset(resp, 0, sizeof(*resp));
    resp->status = status;
    resp->counted = true;
    resp->delayed = true;
    snprintf(resp->log_path, sizeof(resp->log_path), "-");  /* unknown */
    snprintf(text, sizeof(text), "%d %s", status, reason_phrase(status));
    respond_text(resp, text);
}

/* Which stats page PATH asks for.  With CONKIT_STATS_KEY set (the
 * grader's secret, never in a student program's environment) the pages
 * are /stats/KEY, /stats/KEY/reset and /stats/KEY/log, and a plain
 * /stats is an ordinary request -- counted and logged, a 404 -- so a
 * program under test can neither read nor reset the evidence against
 * it, and its trying shows in the log. */
static enum stats_page stats_page_of(const char *path)
{
    static const char *key;
    static bool looked;
    char base[160];

    if (!looked) {
        key = getenv("CONKIT_STATS_KEY");
        if (key != NULL && (key[0] == '\0' || strlen(key) > 64))
            key = NULL;
        looked = true;
    }
    if (key == NULL)
        snprintf(base, sizeof(base), "/stats");
    else
        snprintf(base, sizeof(base), "/stats/%s", key);
    if (strncmp(path, base, strlen(base)) != 0)
        return STATS_NONE;
    path += strlen(base);
    if (strcmp(path, "") == 0)
        return STATS_SHOW;
    if (strcmp(path, "/reset") == 0)
        return STATS_RESET;
    if (strcmp(path, "/log") == 0)
        return STATS_LOG;
    return STATS_NONE;
}

/* A stats request's body, made by stats.c; NULL when that failed. */
void http_stats_body(struct response *resp, const char *body, size_t len)
{
    if (body == NULL) {
        resp->status = 500;
        resp->streamed = false;
        respond_text(resp, "500 out of memory");
        return;
    }
    resp->type = "text/plain; charset=utf-8";
    resp->body = body;
    resp->body_len = len;
}

/* Frame len bytes of a streamed body (at data) as one piece in out,
 * which has room for len + 16 bytes: a chunk, "1a\r\n<data>\r\n"; len 0
 * is the last one, "0\r\n\r\n". HTTP/1.0 gets the bytes as they are
 * (its body ends when the connection does). Returns the bytes in out. */
size_t http_chunk_frame(char *out, const char *data, size_t len,
                        bool http10)
{
    int n;

    if (http10) {
        memcpy(out, data, len);
        return len;
    }
    n = snprintf(out, 16, "%zx\r\n", len);
    memcpy(out + n, data, len);
    memcpy(out + n + len, "\r\n", 2);
    return (size_t)n + len + 2;
}

/* The Location for /redirect and /redirect/N?to=PATH: N-1 more hops,
 * then PATH (default /dice). Returns false if N or PATH is not
 * acceptable: N is 1..100, PATH a path on this server ("/x", never
 * "//host" or "http:..."), %XX escapes allowed. */
static bool redirect_route(const char *rest, char *query,
                           char *location, size_t cap)
{
    uint64_t count = 1;
    char *to = NULL, path[256];

    if ((*rest == '/' && !number_parse(rest + 1, 100, &count)) ||
        (*rest != '/' && *rest != '\0') || count == 0)
        return false;

    /* find to=PATH among the query's name=value pairs */
    for (char *pair = query; pair != NULL && *pair != '\0';) {
        char *amp = strchr(pair, '&');
        if (amp != NULL)
            *amp = '\0';
        if (strncmp(pair, "to=", 3) == 0)
            to = pair + 3;
        pair = amp != NULL ? amp + 1 : NULL;
    }
    if (to == NULL)
        to = "/dice";
    if ((size_t)snprintf(path, sizeof(path), "%s", to) >= sizeof(path) ||
        !percent_decode(path) || path[0] != '/' || path[1] == '/')
        return false;
    for (const char *p = path; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;

    /* the last hop goes to PATH; the others pass `to` on as it came */
    if (count == 1)
        snprintf(location, cap, "%s", path);
    else
        snprintf(location, cap, "/redirect/%llu?to=%s",
                 (unsigned long long)(count - 1), to);
    return true;
}

/* A body whose chunked encoding breaks after the first chunk: the
 * second chunk's size is not hexadecimal. */
static const char bad_chunks[] =
    "6\r\nchunk \r\nzz\r\nthis size is not hex\r\n0\r\n\r\n";

/* A body sent one byte a second by /fault/drip. */
static const char drip_body[] =
    "drip: one byte a second, a minute in all, from sitesim. ....\n";

/* /fault/NAME: fill in a response that misbehaves as NAME says.
 * Returns false for an unknown NAME. */
static bool fault_route(const char *name, struct response *resp)
{
    resp->type = "text/html; charset=utf-8";
    resp->body = jython_page;
    resp->body_len = sizeof(jython_page);
    if (strcmp(name, "close") == 0) {
        resp->fault = FAULT_CLOSE;
    } else if (strcmp(name, "reset") == 0) {
        resp->fault = FAULT_RESET;
        resp->body_before_fault = 4096;
    } else if (strcmp(name, "short") == 0) {
        resp->fault = FAULT_SHORT;
        resp->body_before_fault = 1000;
    } else if (strcmp(name, "stall") == 0) {
        resp->fault = FAULT_STALL;
    } else if (strcmp(name, "drip") == 0) {
        resp->fault = FAULT_DRIP;
        resp->type = "text/plain; charset=utf-8";
        resp->body = drip_body;
        resp->body_len = sizeof(drip_body) - 1;
    } else if (strcmp(name, "bigheader") == 0) {
        resp->big_header = 1024 * 1024;
        resp->body = dice_page;
        resp->body_len = sizeof(dice_page);
    } else if (strcmp(name, "badchunk") == 0) {
        resp->chunked = true;
        resp->body = bad_chunks;
        resp->body_len = sizeof(bad_chunks) - 1;
    } else {
        return false;
    }
    return true;
}

/* /page/N?fail=CODE: the CODE asked for, 0 when none, -1 if bad.
 * ?empty=1 and ?title=hostile set *empty and *hostile. */
static int fail_code(char *query, bool *empty, bool *hostile)
{
    uint64_t code = 0;

    for (char *pair = query; pair != NULL && *pair != '\0';) {
        char *amp = strchr(pair, '&');
        if (amp != NULL)
            *amp = '\0';
        if (strncmp(pair, "fail=", 5) == 0 &&
            (!number_parse(pair + 5, 599, &code) || code < 200))
            return -1;
        *empty |= strcmp(pair, "empty=1") == 0;
        *hostile |= strcmp(pair, "title=hostile") == 0;
        pair = amp != NULL ? amp + 1 : NULL;
    }
    return (int)code;
}

/* /on/K/QUERY/page/N: point *path at /page/N and *query at QUERY when N
 * is K.  A scraper asks for BASE/page/N, so --base URL/on/7/fail=204
 * makes page 7 alone answer 204.  Anything else is left alone (404). */
static void on_page_route(char **path, char **query)
{
    char *k_end = strchr(*path + 4, '/');
    char *page = k_end != NULL ? strchr(k_end + 1, '/') : NULL;
    uint64_t k, n;

    if (page == NULL || strncmp(page, "/page/", 6) != 0 ||
        !number_parse(page + 6, ELEMENT_COUNT, &n))
        return;
    *k_end = '\0';
    if (!number_parse(*path + 4, ELEMENT_COUNT, &k)) {
        *k_end = '/';
        return;
    }
    /* QUERY moves one byte left, over K's '/', to end where /page starts */
    memmove(k_end, k_end + 1, (size_t)(page - k_end - 1));
    page[-1] = '\0';
    if (n == k)
        *query = k_end;
    *path = page;
}

/* Decide the response to the request whose head is head[0..head_len)
 * and fill in *resp; tls says which port it came on. The head is changed
 * in place (the caller drops it afterwards). Nothing else changes:
 * conn.c counts, delays and sends what this decides. */
void http_handle(const struct config *cfg, bool tls, char *head,
                 size_t head_len, struct response *resp)
{
    struct request r;
    char text[400];
    char *path, *query;
    uint64_t number;

    head[head_len - 1] = '\0';  /* was the final '\n' */
    if (request_parse(head, &r) != 0) {
        http_error(400, resp);
        return;
    }
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;

    /* absolute form "http://host/path" (as proxies get): keep the path */
    path = r.target;
    if (strncasecmp(path, "http://", 7) == 0 ||
        strncasecmp(path, "https://", 8) == 0) {
        path = strchr(strstr(path, "//") + 2, '/');
        if (path == NULL)
            path = "/";
    }
    snprintf(resp->log_path, sizeof(resp->log_path), "%s", path);
    query = strchr(path, '?');
    if (query != NULL)
        *query++ = '\0';
    if (strncmp(path, "/on/", 4) == 0)
        on_page_route(&path, &query);

    resp->head_only = strcmp(r.method, "HEAD") == 0;
    resp->is_get = strcmp(r.method, "GET") == 0;
    resp->ranged = r.has_range;
    resp->http10 = r.minor_version == 0;
    if (r.minor_version == 1)
        resp->keep_alive = !r.wants_close;
    else
        resp->keep_alive = r.wants_keep_alive && !r.wants_close;
    if (r.has_body)
        resp->keep_alive = false;  /* we never read bodies: close instead */

    resp->stats_page = stats_page_of(path);
    resp->counted = resp->stats_page == STATS_NONE;
    resp->delayed = true;

    if (!resp->head_only && strcmp(r.method, "GET") != 0) {
        resp->status = 405;
        resp->allow_header = true;
        resp->stats_page = STATS_NONE;  /* nothing to show or reset */
        snprintf(text, sizeof(text), "405 %s not allowed: GET, HEAD",
                 r.method);
        respond_text(resp, text);
    } else if (resp->stats_page != STATS_NONE) {
        resp->delayed = false;  /* stats: never delayed; conn.c asks
                                   stats.c for the body */
        if (resp->stats_page == STATS_LOG) {
            resp->streamed = true;
            resp->type = "text/plain; charset=utf-8";
            if (resp->http10)
                resp->keep_alive = false;  /* the close ends the body */
        }
    } else if (strcmp(path, "/jython") == 0) {
        resp->type = "text/html; charset=utf-8";
        resp->body = jython_page;
        resp->body_len = sizeof(jython_page);
    } else if (strcmp(path, "/dice") == 0) {
        resp->type = "text/html; charset=utf-8";
        resp->body = dice_page;
        resp->body_len = sizeof(dice_page);
    } else if (strncmp(path, "/bytes/", 7) == 0 &&
               number_parse(path + 7, SITESIM_BYTES_MAX, &number)) {
        resp->type = "application/octet-stream";
        resp->body = bytes_block;
        resp->body_len = number;
        resp->body_repeats = true;
    } else if (strncmp(path, "/status/", 8) == 0 &&
               number_parse(path + 8, 599, &number) && number >= 200) {
        resp->status = (int)number;
        if (number >= 300 && number < 400 && number != 304)
            snprintf(resp->location, sizeof(resp->location), "/dice");
        snprintf(text, sizeof(text), "%d %s", resp->status,
                 reason_phrase(resp->status));
        respond_text(resp, text);
        if (number == 204 || number == 304)
            resp->body_len = 0;  /* these never carry a body */
    } else if (strncmp(path, "/delay/", 7) == 0 &&
               number_parse(path + 7, SITESIM_DELAY_MAX, &number)) {
        resp->extra_delay_us = (int64_t)number * 1000;
        snprintf(text, sizeof(text), "delayed %llu ms",
                 (unsigned long long)number);
        respond_text(resp, text);
    } else if (strncmp(path, "/page/", 6) == 0 &&
               number_parse(path + 6, ELEMENT_COUNT, &number) &&
               number >= 1) {
        bool empty = false, hostile = false;
        int code = fail_code(query, &empty, &hostile);
        if (code > 0) {
            resp->status = code;
            snprintf(text, sizeof(text), "%d %s (asked for by ?fail=)",
                     code, reason_phrase(code));
            respond_text(resp, text);
            if (code == 204 || code == 304)
                resp->body_len = 0;
        } else if (code < 0) {
            resp->status = 400;
            respond_text(resp, "bad fail code: use ?fail=200..599");
        } else {
            resp->type = "text/html; charset=utf-8";
            resp->body = hostile ? hostile_page : element_pages[number - 1];
            resp->body_len = hostile ? hostile_page_len
                                     : element_page_len[number - 1];
            if (empty)
                resp->body_len = 0;     /* a 200 that carries nothing */
        }
    } else if (strncmp(path, "/fault/", 7) == 0 &&
               fault_route(path + 7, resp)) {
        resp->keep_alive = false;  /* a broken response ends it all */
    } else if (strcmp(path, "/redirect/offhost") == 0) {
        /* another loopback address, where nothing listens: a client
         * with --sites local must refuse to go there at all */
        resp->status = 302;
        snprintf(resp->location, sizeof(resp->location),
                 "%s://127.0.0.2:%d/dice", tls ? "https" : "http",
                 tls ? cfg->https_port : cfg->http_port);
        snprintf(text, sizeof(text), "redirecting to %s", resp->location);
        respond_text(resp, text);
    } else if (strcmp(path, "/redirect/file") == 0) {
        resp->status = 302;
        snprintf(resp->location, sizeof(resp->location),
                 "file:///etc/hostname");  /* never to be followed */
        respond_text(resp, "redirecting to file:///etc/hostname");
    } else if (strncmp(path, "/redirect", 9) == 0 &&
               (path[9] == '\0' || path[9] == '/')) {
        if (redirect_route(path + 9, query, resp->location,
                           sizeof(resp->location))) {
            resp->status = 302;
            snprintf(text, sizeof(text), "redirecting to %s",
                     resp->location);
        } else {
            resp->status = 400;
            snprintf(text, sizeof(text), "bad redirect: use "
                     "/redirect/N?to=/PATH with N 1..100");
        }
        respond_text(resp, text);
    } else if (strncmp(path, "/bytes/", 7) == 0 ||
               strncmp(path, "/status/", 8) == 0 ||
               strncmp(path, "/delay/", 7) == 0) {
        resp->status = 400;
        respond_text(resp, "bad number: /bytes/0..104857600, "
                     "/status/200..599, /delay/0..600000");
    } else {
        resp->status = 404;
        respond_text(resp, "404 Not Found");
    }
}
/* SPDX-License-Identifier: MIT */

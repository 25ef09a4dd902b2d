/* http.c -- the HTTP side of sitesim: parse a request head, pick the
 * response for its path, and say how long to hold it back.
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
 *   /redirect        302 to /dice
 *   /redirect/N?to=PATH  N redirects in a row, the last one to PATH
 *   /redirect/offhost  302 to http://127.0.0.2:PORT/dice, off this host
 *   /redirect/file   302 to file:///etc/hostname
 *   /fault/NAME      a broken response: reset, close, short, stall,
 *                    drip, bigheader, badchunk (see fault_route())
 *   /stats           counters, one key=value per line (never delayed)
 *   /stats/reset     zero the counters and the log, then answer as /stats
 *   /stats/log       every non-stats request since the last reset, one
 *                    line each (see stats.c)
 * Anything else is 404. Only GET and HEAD; other methods get 405.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sitesim.h"

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
    return 0;
}

/* Copy up to cap body bytes of c's response, from `offset` on. */
size_t http_body_copy(const struct conn *c, uint64_t offset,
                      char *out, size_t cap)
{
    uint64_t left = c->body_len - offset;
    size_t n = left < cap ? (size_t)left : cap;

    if (!c->body_repeats) {
        memcpy(out, c->body + offset, n);
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

/* ====================== Counting ====================== */

/* A non-stats request that arrived at `arrival` gets `status`: count
 * it (and its connection, the first time) and put it in the log. It is
 * in flight until conn.c says its response is sent. */
static void request_count(struct server *s, struct conn *c,
                          int64_t arrival, int status, const char *path)
{
    if (!c->counted) {
        c->counted = true;
        stats_connection_counted(&s->stats, c->ssl != NULL);
    }
    c->log_seq = stats_request_begin(&s->stats, arrival, c->id, status,
                                     path);
    c->in_flight = true;
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

/* The delay before a counted response: latency +/- jitter (never
 * below 0), plus the connection delay if it is the first response. */
static int64_t response_delay_us(struct server *s, struct conn *c)
{
    const struct config *cfg = &s->config;
    int64_t ms = cfg->latency_ms;

    if (cfg->jitter_ms > 0) {
        /* xorshift64*: small, seeded in main(), good enough for jitter */
        uint64_t x = s->random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s->random_state = x;
        x *= 0x2545F4914F6CDD1DULL;
        ms += (int64_t)(x % (uint64_t)(2 * cfg->jitter_ms + 1));
        ms -= cfg->jitter_ms;
        if (ms < 0)
            ms = 0;
    }
    if (c->first_response) {
        c->first_response = false;
        ms += cfg->conn_delay_ms;
    }
    return ms * 1000;
}

/* What respond() needs besides the connection. */
struct response {
    int status;                 /* 200, 404, ... */
    const char *type;           /* Content-Type */
    const char *body;           /* body bytes (see body_repeats) */
    uint64_t body_len;          /* Content-Length */
    bool body_repeats;          /* body is the /bytes pattern */
    const char *location;       /* Location header, or NULL */
    bool allow_header;          /* add "Allow: GET, HEAD" (for 405) */
    bool chunked;               /* "Transfer-Encoding: chunked", and
                                   body is sent as it is */
    size_t big_header;          /* > 0: add a header this long */
    enum fault fault;           /* /fault/...: see enum fault */
    uint64_t body_before_fault; /* RESET, SHORT: body bytes sent first */
};

/* The head of a /fault/bigheader response: the usual head with one
 * header line of `size` bytes before the empty line. malloc'd (the
 * connection frees it); NULL when out of memory. */
static char *big_head_make(const char *head, size_t head_len, size_t size,
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

/* Set up c to send `resp` after `delay_us`, and hand it to conn.c. */
static void respond(struct server *s, struct conn *c,
                    const struct response *resp, bool head_only,
                    bool keep_alive, bool http10, int64_t delay_us)
{
    char location[300] = "";
    char length[64];
    const char *connection = "";
    int n;

    if (resp->location != NULL)
        snprintf(location, sizeof(location), "Location: %s\r\n",
                 resp->location);
    if (!keep_alive)
        connection = "Connection: close\r\n";
    else if (http10)
        connection = "Connection: keep-alive\r\n";
    if (resp->chunked)
        snprintf(length, sizeof(length), "Transfer-Encoding: chunked\r\n");
    else
        snprintf(length, sizeof(length), "Content-Length: %llu\r\n",
                 (unsigned long long)resp->body_len);

    n = snprintf(c->head, sizeof(c->head),
                 "HTTP/1.1 %d %s\r\n"
                 "Server: sitesim\r\n"
                 "Content-Type: %s\r\n"
                 "%s%s%s%s"
                 "\r\n",
                 resp->status, reason_phrase(resp->status), resp->type,
                 length, location,
                 resp->allow_header ? "Allow: GET, HEAD\r\n" : "",
                 connection);
    if (n < 0 || (size_t)n >= sizeof(c->head))
        n = 0;  /* cannot happen: every part above is short */
    c->head_len = (size_t)n;
    free(c->big_head);
    c->big_head = NULL;
    if (resp->big_header > 0)
        c->big_head = big_head_make(c->head, c->head_len,
                                    resp->big_header, &c->head_len);
    c->body = resp->body;
    c->body_len = head_only ? 0 : resp->body_len;
    c->body_repeats = resp->body_repeats;
    c->sent = 0;
    c->close_after = !keep_alive;
    c->fault = resp->fault;
    switch (resp->fault) {
    case FAULT_CLOSE:
        c->send_limit = 0;
        break;
    case FAULT_RESET:
    case FAULT_SHORT:
        c->send_limit = c->head_len + resp->body_before_fault;
        break;
    case FAULT_STALL:
    case FAULT_DRIP:
        c->send_limit = c->head_len;  /* DRIP: conn.c adds a byte a time */
        break;
    case FAULT_NONE:
        c->send_limit = c->head_len + c->body_len;
        break;
    }

    if (delay_us > 0) {
        c->wake_at_us = now_us() + delay_us;
        c->state = CONN_WAITING;
        timer_add(s, c);
    } else {
        c->state = CONN_WRITING;
    }
}

/* A short text/plain body, one line: for errors, /status, /delay. */
static void respond_text(struct conn *c, struct response *resp,
                         const char *text)
{
    snprintf(c->small_body, sizeof(c->small_body), "%s\n", text);
    resp->type = "text/plain; charset=utf-8";
    resp->body = c->small_body;
    resp->body_len = strlen(c->small_body);
}

/* Answer a request we could not read (400, 431) and close after it. */
void http_error(struct server *s, struct conn *c, int status)
{
    struct response resp = { .status = status };
    char text[100];

    request_count(s, c, now_us(), status, "-");  /* path unknown */
    snprintf(text, sizeof(text), "%d %s", status, reason_phrase(status));
    respond_text(c, &resp, text);
    respond(s, c, &resp, false, false, false, response_delay_us(s, c));
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

/* /page/N?fail=CODE: the CODE asked for, 0 when none, -1 if bad. */
static int fail_code(char *query)
{
    uint64_t code = 0;

    for (char *pair = query; pair != NULL && *pair != '\0';) {
        char *amp = strchr(pair, '&');
        if (amp != NULL)
            *amp = '\0';
        if (strncmp(pair, "fail=", 5) == 0 &&
            (!number_parse(pair + 5, 599, &code) || code < 200))
            return -1;
        pair = amp != NULL ? amp + 1 : NULL;
    }
    return (int)code;
}

/* Answer the request whose head is head[0..head_len). The head is
 * changed in place (the caller drops it afterwards). */
void http_handle(struct server *s, struct conn *c,
                 char *head, size_t head_len)
{
    struct request r;
    struct response resp = { .status = 200 };
    char location[300];
    char text[400];
    char log_path[SITESIM_LOG_PATH];
    char *path, *query;
    uint64_t number;
    int64_t arrival = now_us(), extra_us = 0;
    bool is_stats, head_only, keep_alive;

    free(c->own_body);  /* the previous response is sent */
    c->own_body = NULL;
    head[head_len - 1] = '\0';  /* was the final '\n' */
    if (request_parse(head, &r) != 0) {
        http_error(s, c, 400);
        return;
    }

    /* absolute form "http://host/path" (as proxies get): keep the path */
    path = r.target;
    if (strncasecmp(path, "http://", 7) == 0 ||
        strncasecmp(path, "https://", 8) == 0) {
        path = strchr(strstr(path, "//") + 2, '/');
        if (path == NULL)
            path = "/";
    }
    snprintf(log_path, sizeof(log_path), "%s", path);  /* with query */
    query = strchr(path, '?');
    if (query != NULL)
        *query++ = '\0';

    head_only = strcmp(r.method, "HEAD") == 0;
    if (r.minor_version == 1)
        keep_alive = !r.wants_close;
    else
        keep_alive = r.wants_keep_alive && !r.wants_close;
    if (r.has_body)
        keep_alive = false;  /* we never read bodies: close instead */

    is_stats = strcmp(path, "/stats") == 0 ||
               strcmp(path, "/stats/reset") == 0 ||
               strcmp(path, "/stats/log") == 0;

    if (!head_only && strcmp(r.method, "GET") != 0) {
        resp.status = 405;
        resp.allow_header = true;
        snprintf(text, sizeof(text), "405 %s not allowed: GET, HEAD",
                 r.method);
        respond_text(c, &resp, text);
    } else if (is_stats) {
        size_t len = 0;

        if (strcmp(path, "/stats/reset") == 0)
            stats_reset(&s->stats, arrival);
        if (strcmp(path, "/stats/log") == 0)
            c->own_body = stats_log_format(&s->stats, &len);
        else
            c->own_body = stats_format(&s->stats, &s->config, &len);
        if (c->own_body == NULL) {
            resp.status = 500;
            respond_text(c, &resp, "500 out of memory");
        } else {
            resp.type = "text/plain; charset=utf-8";
            resp.body = c->own_body;
            resp.body_len = len;
        }
        respond(s, c, &resp, head_only, keep_alive,
                r.minor_version == 0, 0);  /* stats: never delayed */
        return;
    } else if (strcmp(path, "/jython") == 0) {
        resp.type = "text/html; charset=utf-8";
        resp.body = jython_page;
        resp.body_len = sizeof(jython_page);
    } else if (strcmp(path, "/dice") == 0) {
        resp.type = "text/html; charset=utf-8";
        resp.body = dice_page;
        resp.body_len = sizeof(dice_page);
    } else if (strncmp(path, "/bytes/", 7) == 0 &&
               number_parse(path + 7, SITESIM_BYTES_MAX, &number)) {
        resp.type = "application/octet-stream";
        resp.body = bytes_block;
        resp.body_len = number;
        resp.body_repeats = true;
    } else if (strncmp(path, "/status/", 8) == 0 &&
               number_parse(path + 8, 599, &number) && number >= 200) {
        resp.status = (int)number;
        if (number >= 300 && number < 400 && number != 304)
            resp.location = "/dice";
        snprintf(text, sizeof(text), "%d %s", resp.status,
                 reason_phrase(resp.status));
        respond_text(c, &resp, text);
        if (number == 204 || number == 304)
            resp.body_len = 0;  /* these never carry a body */
    } else if (strncmp(path, "/delay/", 7) == 0 &&
               number_parse(path + 7, SITESIM_DELAY_MAX, &number)) {
        extra_us = (int64_t)number * 1000;
        snprintf(text, sizeof(text), "delayed %llu ms",
                 (unsigned long long)number);
        respond_text(c, &resp, text);
    } else if (strncmp(path, "/page/", 6) == 0 &&
               number_parse(path + 6, ELEMENT_COUNT, &number) &&
               number >= 1) {
        int code = fail_code(query);
        if (code > 0) {
            resp.status = code;
            snprintf(text, sizeof(text), "%d %s (asked for by ?fail=)",
                     code, reason_phrase(code));
            respond_text(c, &resp, text);
            if (code == 204 || code == 304)
                resp.body_len = 0;
        } else if (code < 0) {
            resp.status = 400;
            respond_text(c, &resp, "bad fail code: use ?fail=200..599");
        } else {
            resp.type = "text/html; charset=utf-8";
            resp.body = element_pages[number - 1];
            resp.body_len = element_page_len[number - 1];
        }
    } else if (strncmp(path, "/fault/", 7) == 0 &&
               fault_route(path + 7, &resp)) {
        keep_alive = false;  /* a broken response ends its connection */
    } else if (strcmp(path, "/redirect/offhost") == 0) {
        /* another loopback address, where nothing listens: a client
         * with --sites local must refuse to go there at all */
        resp.status = 302;
        snprintf(location, sizeof(location), "%s://127.0.0.2:%d/dice",
                 c->ssl != NULL ? "https" : "http",
                 c->ssl != NULL ? s->config.https_port :
                                  s->config.http_port);
        resp.location = location;
        snprintf(text, sizeof(text), "redirecting to %s", location);
        respond_text(c, &resp, text);
    } else if (strcmp(path, "/redirect/file") == 0) {
        resp.status = 302;
        resp.location = "file:///etc/hostname";  /* never to be followed */
        respond_text(c, &resp, "redirecting to file:///etc/hostname");
    } else if (strncmp(path, "/redirect", 9) == 0 &&
               (path[9] == '\0' || path[9] == '/')) {
        if (redirect_route(path + 9, query, location, sizeof(location))) {
            resp.status = 302;
            resp.location = location;
            snprintf(text, sizeof(text), "redirecting to %s", location);
        } else {
            resp.status = 400;
            snprintf(text, sizeof(text), "bad redirect: use "
                     "/redirect/N?to=/PATH with N 1..100");
        }
        respond_text(c, &resp, text);
    } else if (strncmp(path, "/bytes/", 7) == 0 ||
               strncmp(path, "/status/", 8) == 0 ||
               strncmp(path, "/delay/", 7) == 0) {
        resp.status = 400;
        respond_text(c, &resp, "bad number: /bytes/0..104857600, "
                     "/status/200..599, /delay/0..600000");
    } else {
        resp.status = 404;
        respond_text(c, &resp, "404 Not Found");
    }
    if (!is_stats)
        request_count(s, c, arrival, resp.status, log_path);
    respond(s, c, &resp, head_only, keep_alive, r.minor_version == 0,
            response_delay_us(s, c) + extra_us);
}

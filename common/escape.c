/* escape.c -- text from the network, made safe to print; see escape.h. */
#include "escape.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The printed form of one byte, into piece: itself, or an escape.  The
 * quote around the text (0: none) is escaped too. */
static void escape_byte(char piece[5], unsigned char byte, char quote)
{
    if (byte == '\\' || (quote != 0 && byte == (unsigned char)quote))
        snprintf(piece, 5, "\\%c", byte);
    else if (byte == '\n')
        snprintf(piece, 5, "\\n");
    else if (byte == '\r')
        snprintf(piece, 5, "\\r");
    else if (byte == '\t')
        snprintf(piece, 5, "\\t");
    else if (byte >= ' ' && byte < 0x7f)
        snprintf(piece, 5, "%c", byte);
    else
        snprintf(piece, 5, "\\x%02x", byte);    /* ESC is \x1b */
}

/* text into out, escaped, between two `quote`s (0: none). */
static void escape_into(char *out, size_t size, const char *text, char quote)
{
    size_t used = 0, closing = quote != 0 ? 1 : 0;
    char piece[5];

    if (size < 1 + 2 * closing) {
        if (size > 0)
            out[0] = '\0';
        return;
    }
    if (quote != 0)
        out[used++] = quote;
    for (; *text != '\0'; text++) {
        escape_byte(piece, (unsigned char)*text, quote);
        size_t length = strlen(piece);
        if (used + length + closing >= size)
            break;              /* no room: stop at a whole escape */
        memcpy(out + used, piece, length);
        used += length;
    }
    if (quote != 0)
        out[used++] = quote;
    out[used] = '\0';
}

void escape_text(char *out, size_t size, const char *text)
{
    escape_into(out, size, text, 0);
}

void escape_quoted(char *out, size_t size, const char *text)
{
    /* repr(): double quotes only to spare escaping a ' */
    bool double_quotes = strchr(text, '\'') != NULL &&
                         strchr(text, '"') == NULL;

    escape_into(out, size, text, double_quotes ? '"' : '\'');
}
/* SPDX-License-Identifier: MIT */

/* escape.h -- text from the network, made safe to print (escape.c).
 *
 * A server chooses every byte it sends.  Printed as it came, a page's
 * heading can end the line and forge the next one ("Execution time:
 * 9.99s"), retitle the terminal with an escape sequence, or close a
 * quoted string early and break a line a check parses.  So whatever a
 * program prints that came off the network goes through here first:
 *
 *     escape_text(out, size, text)     Mallory\nExecution time: 9.99s\x1b
 *     escape_quoted(out, size, text)   'it\'s' -- a Python string literal,
 *                                      quoted as repr() quotes it
 *
 * Printable ASCII stays as it is, a backslash is doubled, \n \r \t are
 * written so, and every other byte -- control bytes, DEL, and UTF-8 too,
 * which this kit never needs -- as \xHH.  The output is always
 * NUL-terminated; ESCAPED_SIZE(n) bytes hold any n-byte text.
 */
#ifndef CONKIT_ESCAPE_H
#define CONKIT_ESCAPE_H

#include <stddef.h>

/* Room for the escaped form of n bytes: \xHH each, two quotes, a NUL. */
#define ESCAPED_SIZE(n) (4 * (n) + 3)

/* text, escaped, into out (cut at a whole escape if out is too small). */
void escape_text(char *out, size_t size, const char *text);

/* text as a Python string literal: in single quotes, or in double quotes
 * when it holds a ' and no " (as repr() chooses); the quote used is
 * escaped inside. */
void escape_quoted(char *out, size_t size, const char *text);

#endif
/* SPDX-License-Identifier: MIT */

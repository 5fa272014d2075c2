/* login_ticket.h - the ticket that carries "this name's password was right" from the first step
 * of a sign-in to the second (the TOTP code, login_code.c). Owner: src/web.
 * Format: "EXPIRY.MAC.NAME", EXPIRY Unix seconds (SG_WEB_TICKET_TTL after it was made), MAC the
 * HMAC-SHA256 in hex of name, expiry and the sign-in form's double-submit token (the browser's
 * __Host-sealgate-pre cookie), under a key made at random when the process starts: it lives in
 * no store, is useless in another browser and after the expiry, and a restart of the web role
 * voids every ticket (the user types the password again).
 * SECURITY: a ticket comes back as untrusted form input: sg_web_ticket_check parses it with
 * bounds, compares the MAC in constant time and is fuzzed (tests/fuzz/fuzz_totp.c). */
#ifndef SG_WEB_LOGIN_TICKET_H
#define SG_WEB_LOGIN_TICKET_H

#include <stdint.h>

#include "store/admin_rows.h"

#define SG_WEB_TICKET_TTL 300
#define SG_WEB_TICKET_MAX (24 + 1 + 64 + 1 + SG_ADMIN_NAME_MAX + 1)

/* A ticket for name bound to pre at now into out: 0, or -1 (no randomness, name too long). */
int sg_web_ticket_make(const char *name, const char *pre, int64_t now, char out[SG_WEB_TICKET_MAX]);
/* The name of ticket into name when it is well-formed, made by this process for pre and not
 * expired at now: 0, else -1. */
int sg_web_ticket_check(const char *ticket, const char *pre, int64_t now, char name[SG_ADMIN_NAME_MAX + 1]);

#endif

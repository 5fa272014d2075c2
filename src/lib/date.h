/* date.h - dates as mail headers spell them. Owner: src/lib.
 * Shared by the relay's DSNs and the policy's sender notices, so it lives below both. */
#ifndef SG_DATE_H
#define SG_DATE_H

#include <stddef.h>

/* RFC 5322 date of t in UTC, e.g. "Mon, 23 Nov 2026 21:36:24 +0000". */
void sg_rfc5322_date(long long t, char *out, size_t len);

#endif

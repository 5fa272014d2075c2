/* pdfpass_rows.h - the store's typed calls for the pdf method's passwords (table pdf_passwords,
 * issue 12): one row per (internal sender, external recipient) pair with the password wrapped
 * by the KEK (only cryptd unwraps it) and its argon2id verifier (what the web role's reply
 * portal checks a sign-in against). Owner: src/store. Callers: engine/pdf/pdf_pass.c (cryptd),
 * the admin's reset operation, the reply portal (verifier only).
 * Addresses are stored as the caller gives them (the caller lower-cases).
 * Returns: 0 done / found, 1 no such row (add: the pair has one already), -1 error. */
#ifndef SG_STORE_PDFPASS_ROWS_H
#define SG_STORE_PDFPASS_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct sg_pdfpass_row {
    uint8_t *wrapped; /* malloc'd; NULL when not asked for */
    size_t wrapped_len;
    char *verifier;   /* malloc'd argon2id encoded hash */
    int64_t created;
} sg_pdfpass_row;
void sg_pdfpass_row_free(sg_pdfpass_row *r);

/* The pair's row; with_wrapped false leaves wrapped NULL (the web role never reads it). */
int sg_store_pdfpass_get(sg_store *s, const char *sender, const char *rcpt, bool with_wrapped,
                         sg_pdfpass_row *out);
/* Adds the pair's row unless it has one (two workers racing: the first wins, 1 for the other). */
int sg_store_pdfpass_add(sg_store *s, const char *sender, const char *rcpt, const sg_pdfpass_row *row);
/* Forgets the pair's password (admin reset): the next message makes a new one. 0, 1, -1. */
int sg_store_pdfpass_delete(sg_store *s, const char *sender, const char *rcpt);

struct sg_store_pdfpass_ops {
    int (*get)(sg_store *s, const char *sender, const char *rcpt, bool with_wrapped, sg_pdfpass_row *out);
    int (*add)(sg_store *s, const char *sender, const char *rcpt, const sg_pdfpass_row *row);
    int (*del)(sg_store *s, const char *sender, const char *rcpt);
};

#endif

/* unwrap.h - THE decrypt/verify entry point for incoming mail, engine-agnostic. Owner:
 * src/engine (OpenPGP engineer). It peels the layers of a message through every engine's peel
 * (sg_engines[], engine.h) up to a depth limit, and yields the message-level summary, the
 * rewritten message for the recipients who can read it, the message for the others, and the
 * stamps (X-Sealgate-Decryption, X-Sealgate-Signature, Authentication-Results; docs/openpgp.md
 * "Stamp fields"). Forged copies of those fields are removed first.
 *
 * SECURITY (never traded away): when integrity protection is missing or broken, or the
 * plaintext is too large, the result is hold and no plaintext exists in it. Only an encrypted
 * entity that is the whole message (or wrapped only by signatures) is opened, and its content
 * replaces the whole body: ciphertext among other parts, or an armored block inside other
 * text, stays closed (embedded-ciphertext), so decrypted text never sits beside content the
 * outer sender controls. The reply-steering fields of a decrypted message come from its
 * protected headers only (none: stamped unprotected-headers). A signature
 * counts as valid only if it covers all content delivered and its signer matches the From the
 * reader is shown, and that header names exactly one author (sg_mime_author_of, for every
 * engine). Forged results are removed by a line scan, also from headers nothing parses. The
 * engines must have been initialised (engine.h) before the first call. */
#ifndef SG_UNWRAP_H
#define SG_UNWRAP_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/verdict.h"
#include "lib/mapview.h"

typedef struct sg_unwrap_req {
    const char *from;         /* the address signatures must be bound to; NULL: the From field */
    const char *const *rcpts; /* the internal recipients: their held keys may decrypt */
    size_t nrcpt;
    const char *authserv_id; /* our name in Authentication-Results (the hostname) */
    int max_layers;          /* layers peeled at most (configuration cryptd.max_layers) */
    const char *qid;         /* for the log */
    /* Where a large layer is decrypted and a large reader message built, as unnamed files
     * (cryptd's spool tmp/cryptd, issue 11); NULL: everything in memory. */
    const char *tmpdir;
} sg_unwrap_req;

enum sg_unwrap_dec {
    SG_UNWRAP_DEC_NONE,    /* nothing was encrypted, or nothing could be decrypted (no key) */
    SG_UNWRAP_DEC_PARTIAL, /* some encrypted content decrypted, some not (or plain parts around) */
    SG_UNWRAP_DEC_FULL,    /* all content delivered came out of decryption */
    SG_UNWRAP_DEC_FAILED,  /* encrypted, but malformed / undecryptable */
};

/* What one group of recipients is told about the message it gets. */
typedef struct sg_unwrap_summary {
    bool encrypted;  /* some layer or part was encrypted: X-Sealgate-Decryption is stamped */
    bool signed_;    /* some layer or part was signed */
    int dec;         /* enum sg_unwrap_dec */
    char dec_reason[96];
    int method;         /* enum sg_method of the layer the verdict below (or the decryption) is from */
    sg_sig_verdict sig; /* the message-level verdict: valid only when it covers everything */
    bool sig_whole;     /* the signature covers all content delivered */
    bool embedded;      /* ciphertext among other parts (or text) was left closed: embedded-ciphertext */
    bool unprotected;   /* decrypted content without protected headers: unprotected-headers */
} sg_unwrap_summary;

typedef struct sg_unwrap_result {
    bool hold; /* nothing may be delivered (EFAIL, too large); reason says why */
    char reason[256];
    /* For recipients with readable[i]: the decrypted (or opened) message, stamped. */
    bool *readable; /* [nrcpt], malloc'd */
    char *reader_msg;
    size_t reader_len;
    /* Set when the reader's message was written to an unnamed file (a large decrypted entity,
     * issue 11): reader_msg points into this read-only mapping; the caller may take it over
     * (and then sets this NULL). */
    sg_mapview *reader_map;
    sg_unwrap_summary reader;
    /* For everyone else: the message as it arrived, forged results removed, stamped. NULL with
     * unchanged set when there is nothing to do at all (no layer, nothing forged). */
    char *other_msg;
    size_t other_len;
    sg_unwrap_summary other;
    bool unchanged;
    int layers; /* how many layers were peeled */
} sg_unwrap_result;

/* 0 with res filled (possibly hold), -1 on a memory or store error (the caller holds). */
int sg_unwrap(const sg_unwrap_req *req, const char *msg, size_t len, sg_unwrap_result *res);
void sg_unwrap_result_free(sg_unwrap_result *res);

/* The stamp fields for a summary (CRLF-terminated lines) appended to out: what sg_unwrap
 * puts at the top of a delivered message. from: the From the reader is shown. 0 or -1. */
int sg_unwrap_stamps(const sg_unwrap_summary *s, const char *authserv_id, const char *from, char *out,
                     size_t outlen);

const char *sg_unwrap_dec_name(int dec); /* "none", "partial", "full", "failed" */

#endif

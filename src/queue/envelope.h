/* envelope.h - the SMTP envelope as sealgate keeps it, and its on-disk text form.
 * Owner: src/queue. The format is specified in docs/queue-format.md; bump SG_ENV_VERSION on
 * any incompatible change. Every value is stored xtext-encoded (RFC 3461), so values are kept
 * byte-exact and no value can break a line. */
#ifndef SG_ENVELOPE_H
#define SG_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define SG_ENV_VERSION 2 /* written; version 1 files (no "decrypted" line) are still read */
#define SG_ENV_VERSION_MIN 1
#define SG_ENV_MAGIC "SEALGATE-QUEUE"
#define SG_QID_MAX 48 /* queue file names: 16 hex digits, optionally ".N" */

typedef struct sg_rcpt {
    char *addr;   /* as given in RCPT TO, without angle brackets */
    char *notify; /* DSN NOTIFY value as received, or NULL */
    char *orcpt;  /* DSN ORCPT value as received (addr-type;xtext), or NULL */
} sg_rcpt;

typedef struct sg_envelope {
    char id[SG_QID_MAX];
    long long created;      /* unix seconds when first accepted */
    char *client;           /* client IP address */
    char *helo;             /* EHLO/HELO argument */
    char *from;             /* MAIL FROM address, "" for the null sender */
    char *envid;            /* DSN ENVID as received (xtext), or NULL */
    char *ret;              /* DSN RET: "FULL" or "HDRS", or NULL */
    char *body;             /* "7BIT", "8BITMIME", "BINARYMIME", or NULL when not given */
    bool smtputf8;          /* SMTPUTF8 was given on MAIL FROM */
    int attempts;           /* delivery attempts made so far */
    long long next_attempt; /* unix seconds; 0 = now */
    char *last_error;       /* last delivery error text, or NULL */
    bool decrypted;         /* the data came out of decryption (cryptd): a DSN about it never
                               carries more than the header (relay/deliver.c) */
    bool pdf_reply;         /* cryptd queued it from the pdf reply portal (issue 12): the pipeline
                               stamps X-Sealgate-Origin: pdf-reply. Only cryptd sets it; smtpd
                               never does, so no SMTP client can */
    sg_rcpt *rcpt;
    size_t nrcpt, rcpt_cap;
} sg_envelope;

void sg_env_init(sg_envelope *e);
void sg_env_free(sg_envelope *e);
/* Sets *dst to a copy of v (NULL allowed). */
int sg_env_set(char **dst, const char *v);
int sg_env_add_rcpt(sg_envelope *e, const char *addr, const char *notify, const char *orcpt);
/* Deep copy of src's fields, with no recipients (the caller adds the ones it keeps). */
int sg_env_copy_without_rcpts(sg_envelope *dst, const sg_envelope *src);

/* Header text, from the magic line through the "data" line. */
int sg_env_serialize(const sg_envelope *e, sg_buf *out);
/* The trailer that ends a queue file: "END " + 16 hex digits of the data length + "\n". */
#define SG_ENV_TRAILER_LEN 21
void sg_env_trailer(size_t datalen, char out[SG_ENV_TRAILER_LEN + 1]);
/* Parses a whole queue file held in memory: header, data, trailer. Returns 0, or -1 with a
 * reason in err (torn file, bad version, malformed line). On success *data points into buf. */
int sg_qfile_parse(const char *buf, size_t len, sg_envelope *e, const char **data, size_t *datalen, char *err,
                   size_t errlen);
/* The two halves of sg_qfile_parse, for a reader that does not hold the data (queue/qmsg.c):
 * tr is the file's last SG_ENV_TRAILER_LEN bytes, filelen its size; *datalen the data length
 * the trailer records. Then the header: the file's first filelen - SG_ENV_TRAILER_LEN -
 * datalen bytes. Both return 0, or -1 with the same reasons as sg_qfile_parse. */
int sg_qfile_trailer(const char *tr, size_t filelen, size_t *datalen, char *err, size_t errlen);
int sg_qfile_header(const char *buf, size_t hdr_len, sg_envelope *e, char *err, size_t errlen);

#endif

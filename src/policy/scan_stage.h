/* scan_stage.h - the scanning stage of the policy transform (docs/scanning.md): the message as
 * it is between decryption (incoming) and protection (outgoing) goes to clamd (each MIME leaf
 * as decoded bytes, and the whole message once) and to rspamd or spamd (the whole message); the verdict
 * decides whether it is delivered (stamped), held (quarantine) or deferred. Owner: src/policy.
 * SECURITY: runs in cryptd; the scanners are reached only through the scan helper (net/scan.h).
 * A scanner that cannot be reached or answers what the parser does not recognise gives
 * `failed`, never clean. */
#ifndef SG_POLICY_SCAN_STAGE_H
#define SG_POLICY_SCAN_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "policy/eval.h" /* enum sg_av_verdict */
#include "queue/envelope.h"

typedef struct sg_scan_verdict {
    int av;          /* enum sg_av_verdict (NONE: no clamd configured) */
    char av_what[220]; /* INFECTED: the signature's name; UNSCANNED: the reason */
    bool spam;       /* rspamd or spamd answered */
    double score;
    char action[32];
    char symbols[512];
    char content[80]; /* the content facts' verdict: "clean" or "unscanned (REASON)" */
    size_t parts, part_bytes; /* MIME leaves and their decoded bytes gathered for clamd and the rules */
    bool failed;     /* a scanner was unavailable or answered garbage: no verdict at all */
    char err[200];
} sg_scan_verdict;

struct sg_pcontent;
/* Scans msg with the scanners of cfg->scan and gathers its content facts (content.h; the
 * caller frees them with sg_pcontent_free, also on error). 0 with *v filled (v->failed: a
 * scanner failed), or -1 on memory errors. */
int sg_scan_message(const sg_config *cfg, const sg_envelope *in, const char *msg, size_t len, sg_scan_verdict *v,
                    struct sg_pcontent *content);

/* The message with any X-Sealgate-AV / -Spam / -Content fields removed and the verdict's stamps
 * added (AV when clamd is configured, Spam when rspamd or spamd is, Content always: the content
 * rules need no scanner). 0 or -1. */
int sg_scan_stamp(const sg_config *cfg, const sg_scan_verdict *v, const char *msg, size_t len, sg_buf *out);

/* Mail an operator released from quarantine (SG_SCAN_QUARANTINE, docs/scanning.md): not
 * scanned again; every scan stamp removed and `X-Sealgate-Content: released (REASON)` added,
 * REASON the hold's reason. 0 or -1. */
int sg_scan_stamp_released(const char *reason, const char *msg, size_t len, sg_buf *out);

/* A hold by the scanning stage gives the reason this prefix; a message released from hold/
 * whose envelope's last error begins with it resumes after the scanning stage. The last error
 * of a message in incoming/ is never written from outside (smtpd does not set it). */
#define SG_SCAN_QUARANTINE "quarantine: "

/* The verdict as the text of a stamp or a hold reason: "clean", "infected (NAME)",
 * "unscanned (REASON)". */
void sg_scan_av_text(const sg_scan_verdict *v, char *buf, size_t n);

#endif

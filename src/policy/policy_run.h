/* policy_run.h - one message going through the policy transform: its state and the helpers
 * the transform's files share. Owner: src/policy. Internal to transform_policy.c (policy in
 * force, groups, holds, the entry point), policy_out.c (outputs, notices, archive copies,
 * merging) and policy_chain.c (a group's action chain through the engines and unwrap). */
#ifndef SG_POLICY_RUN_H
#define SG_POLICY_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "policy/transform.h"
#include "lib/buf.h"
#include "policy/eval.h"
#include "policy/notice.h"

typedef struct sg_prun {
    const sg_engine_env *env;
    const sg_envelope *in;
    const char *data;
    size_t len;
    const sg_policy *p;
    const sg_pfacts *f;
    sg_transform_result *res;
    int ntoken; /* numbers the notices of this message */
    /* Recipients the sender is told about, by kind. */
    sg_notice_item held[1024], returned[1024], deleted[1024];
    size_t nheld, nreturned, ndeleted;
    char *archived[64]; /* archive addresses already given the unchanged original */
    size_t narchived;
    unsigned undec_notify; /* the group's chain failed in decrypt, which tells these (SG_PNOTIFY_*) */
    bool scan_defer;       /* a scanner failed and scan.on_error is "defer": the message waits */
} sg_prun;

/* The current bytes of a chain: the input until an edit makes a buffer of its own. */
typedef struct sg_pcur {
    const char *data;
    size_t len;
    sg_buf b;
    sg_mapview *map; /* or the bytes are this file's (a protected message written to a file) */
    bool decrypted;  /* the bytes came out of a decrypt: outputs made of them are marked */
} sg_pcur;

/* policy_out.c */
/* A new output with the input's envelope fields and no recipients (owned is taken over). */
sg_output *sg_prun_output(sg_prun *r, const char *data, size_t len, char *owned);
sg_output *sg_prun_buf_output(sg_prun *r, sg_buf *b);
sg_output *sg_prun_map_output(sg_prun *r, sg_mapview **m);
/* A notice from <> to `to` (never to the null sender: then nothing). 0 or -1. */
int sg_prun_notice(sg_prun *r, int kind, const char *to, const char *text, const sg_notice_item *items,
                   size_t n);
const char *sg_prun_admin(sg_prun *r, char *buf, size_t n);
int sg_prun_add_rcpts(sg_prun *r, sg_output *o, const size_t *group, size_t g);
int sg_prun_archive(sg_prun *r, const char *addr, const char *cur, size_t curlen);
int sg_prun_hold(sg_prun *r, const size_t *group, size_t g, const char *reason);
void sg_prun_rollback(sg_prun *r, size_t from);
int sg_prun_tell_undecryptable(sg_prun *r, unsigned who, const size_t *group, size_t g, const char *reason,
                               const char *what);
int sg_prun_merge_same(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res);

/* policy_chain.c */
/* Runs a delivering group's chain. -1 with err when an action failed: the caller holds the
 * group (fail closed); r->undec_notify is set when unwrap held it. */
int sg_prun_chain(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, char *err, size_t errlen);
/* What still happens for a group that is not delivered: archive copies, admin alerts. */
int sg_prun_side_effects(sg_prun *r, const sg_pdecision *d);

#endif

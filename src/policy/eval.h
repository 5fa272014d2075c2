/* eval.h - policy evaluation: one message's facts and the key facts in, one decision per
 * recipient out, and recipients with the same decision grouped. Owner: src/policy.
 * Pure code: the caller supplies the message facts (facts.h builds them from bytes) and answers
 * key questions through callbacks (cryptd asks the engines; tests use fakes). */
#ifndef SG_POLICY_EVAL_H
#define SG_POLICY_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* What the conditions look at in the message. Strings are NUL-terminated, may be NULL. */
typedef struct sg_pheader {
    const char *name, *value;
} sg_pheader;

typedef struct sg_pattach {
    const char *name; /* file name, may be NULL */
    const char *type; /* "type/subtype", lower case */
} sg_pattach;

/* The scanning stage's verdict as conditions see it (policy/scan_stage.h). */
enum sg_av_verdict { SG_AV_NONE = 0, SG_AV_CLEAN, SG_AV_INFECTED, SG_AV_UNSCANNED };
struct sg_pcontent; /* policy/content.h */
typedef struct sg_pscan {
    int av;          /* enum sg_av_verdict (NONE: no clamd configured) */
    bool have_score; /* rspamd answered */
    double score;
    const struct sg_pcontent *content; /* the content facts (never NULL at the stage) */
} sg_pscan;

typedef struct sg_pfacts {
    const char *env_from; /* MAIL FROM ("" for the null sender) */
    const char *from;     /* the From field's address (NULL: the envelope sender is used) */
    const char *subject;
    const sg_pheader *headers;
    size_t nheaders;
    size_t size;
    const sg_pattach *attach;
    size_t nattach;
    bool encrypted, is_signed; /* the engines' detect() at the top level */
    int enc_method;            /* enum sg_method of the encryption found, 0 none */
    const sg_pscan *scan;      /* NULL: before the scanning stage (its conditions do not hold) */
} sg_pfacts;

/* Key questions, each 1 yes, 0 no (only a real "not found"), -1 lookup or store error (the
 * evaluation then fails as a whole: an error is never "no key"). */
typedef struct sg_pkeys {
    void *ctx;
    int (*can_encrypt_to)(void *ctx, const char *addr, int method);
    int (*can_sign_as)(void *ctx, const char *addr, int method);
    bool (*have_engine)(void *ctx, int method); /* the method is built in */
    /* The method can sign for a sender without a key (engine.h can_make_signer); NULL: yes. */
    int (*can_make_signer)(void *ctx, int method);
} sg_pkeys;

/* What happens to one recipient in the end. */
enum sg_poutcome {
    SG_OUT_DELIVER = 0, /* after the chain (possibly protected) */
    SG_OUT_HOLD,        /* kept in hold/; the sender is told when notify_sender */
    SG_OUT_RETURN,      /* returned to the sender with the reason; not delivered */
    SG_OUT_DELETE,      /* dropped; the sender gets a notice */
};

#define SG_PMAX_MATCHED 16

/* One recipient's decision. The chain points into the policy (valid while it lives). */
typedef struct sg_pdecision {
    const char *rcpt;
    int direction;
    int matched[SG_PMAX_MATCHED]; /* indices of the rules that matched, in order */
    size_t nmatched;
    int rule; /* the rule whose chain decides (-1: none matched: delivered unchanged) */
    const sg_paction *chain[SG_POLICY_MAX_ACTIONS * 2]; /* the actions to run, in order */
    size_t nchain;
    int outcome;      /* enum sg_poutcome */
    int method;       /* enum sg_method to protect with; 0 none */
    bool encrypt;     /* encrypt to this recipient with method */
    int sign;         /* enum sg_psign, 0 none */
    bool create_key;  /* the engine may create the sender's key */
    bool fallback;    /* the rule's fallback (or the liberal mixed mode) decided, not the chain */
    bool notify;      /* the sender is told (hold, return, delete, notify_sender) */
    char reason[200]; /* why: held, returned, unprotected, or "" */
    char key[400];    /* the group key: recipients with equal keys form one group */
} sg_pdecision;

/* Evaluates the policy for every recipient; dec[i] for rcpts[i]. 0, or -1 on a key lookup
 * error for any recipient: no fallback applies, the caller keeps the whole message and tries
 * again later (cryptd defers it). */
int sg_policy_eval(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const char *const *rcpts,
                   size_t nrcpt, sg_pdecision *dec);

/* The address conditions and rules see as the sender: From's, else the envelope's. */
const char *sg_pfacts_sender(const sg_pfacts *f);

/* Groups recipients with equal decisions: group[i] is the group number of dec[i], numbered
 * from 0 in the order of first appearance. Returns the number of groups. */
size_t sg_policy_group(const sg_pdecision *dec, size_t n, size_t *group);

/* Does a rule's condition hold for this sender/recipient (pure, for tests and explain)?
 * *why gets the first condition that failed, or NULL. -1 on a key lookup error. */
int sg_policy_rule_matches(const sg_policy *p, const sg_prule *r, const sg_pfacts *f, const sg_pkeys *k,
                           const char *rcpt, int direction, const char **why);

#endif

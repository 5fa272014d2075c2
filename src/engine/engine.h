/* engine.h - what cryptd's policy asks of a message-protection engine. Owner: src/engine.
 *
 * The policy transform (transform_policy.c, src/policy/) decides per recipient what happens;
 * an engine only does what it is told to one whole message and reports facts. One engine per
 * folder: engine/pgp/ (OpenPGP, librnp), engine/smime/ (S/MIME, OpenSSL CMS), engine/pdf/ (the
 * pdf method: AES-256 PDF with cairo, pango, libxml2 and qpdf; docs/pdf.md). The single decrypt/verify
 * entry point (unwrap.c) peels layers through the engines' peel functions, so nesting of
 * either format in the other is handled in one place.
 *
 * SECURITY: engines run inside cryptd only. They unwrap private keys through the keystore and
 * certificate store (KEK). Decryption keys live for one call and are wiped. Signing keys may be
 * kept unwrapped between messages (engine/pgp/pgpcache.h, engine/smime/cms_signkey.c) only
 * while the store is unchanged, bounded in number and time: a measured trade-off (docs/keys.md).
 * An engine never decides to send anything in the clear: on any failure it returns -1 with a
 * reason, and the caller holds the group whatever the rule's fallback says. A key question
 * answers 0 only for a real "not found"; an error (-1) defers the whole message.
 * Thread safety: every function may be called from several worker threads at once; the stores
 * share one store handle, which serves one thread at a time (store.h), so every store call is
 * made with env->lock held. */
#ifndef SG_ENGINE_H
#define SG_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "crypto/verdict.h"
#include "keys/certstore.h"
#include "keys/keystore.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/mapview.h"
#include "store/store.h"

/* Methods, in the words the policy file uses ("smime", "pgp", "pdf"). pdf (issue 12,
 * engine/pdf/) needs no key of the recipient: every recipient can receive it, one per message
 * (each pair has its own password), and it signs nothing. */
enum sg_method { SG_METHOD_NONE = 0, SG_METHOD_SMIME, SG_METHOD_PGP, SG_METHOD_PDF, SG_METHOD__COUNT };
const char *sg_method_name(int method); /* "none", "smime", "pgp", "pdf" */
int sg_method_from_name(const char *name); /* -1 when unknown */

/* What all engines share; filled once by cryptd (or a test, or `policy explain`) before threads
 * start, and outliving every engine call. cs may be NULL where no S/MIME is wanted. */
typedef struct sg_engine_env {
    const sg_config *cfg;
    sg_store *st;
    sg_keystore *ks;
    sg_certstore *cs;
    pthread_mutex_t *lock; /* guards st, ks and cs */
    char domain_addr[320]; /* the gateway's own signing identity (sg_keystore_domain_address) */
} sg_engine_env;

/* How a protected message is signed. */
enum sg_sign_mode {
    SG_SIGN_NONE = 0,
    SG_SIGN_SENDER,  /* the sender's own key or certificate; the domain key when none is held */
    SG_SIGN_DOMAIN,  /* always the gateway's domain key / certificate */
};

/* One order to protect a whole message for one recipient group. */
typedef struct sg_protect_req {
    const char *sender;       /* From address (falls back to the envelope sender); the signer */
    int sign;                 /* enum sg_sign_mode */
    bool create_sender_key;   /* make a key / certificate for an internal sender who has none */
    bool opaque;              /* S/MIME: opaque SignedData instead of multipart/signed */
    const char *const *rcpts; /* encrypt to each of these (their key must exist: can_encrypt_to) */
    size_t nrcpt;             /* 0: sign only (multipart/signed) */
    const char *qid;          /* for the log */
    /* The envelope sender (MAIL FROM; "" for the null sender): the pdf method's password
     * belongs to it and its notice goes to it, not to the From a sender can write freely. */
    const char *env_from;
    /* Out (may be NULL): an engine that has something to tell the sender (pdf: the password of
     * a new pair) sets *notice to a malloc'd text; the caller sends it as a notice. */
    char **notice;
    /* Filled by the engine when not NULL: the keys it used, "sign=FPR enc=FPR,FPR" (OpenPGP
     * primary fingerprints, X.509 SHA-256 fingerprints), for the notary log (issue 14). */
    char *used;
    size_t usedlen;
} sg_protect_req;

/* Writes "sign=SIGNER enc=F0,F1,..." into req->used (when set): fprs is n strings of stride
 * bytes each; signer may be NULL. */
void sg_protect_note_keys(const sg_protect_req *req, const char *signer, const char *fprs, size_t stride,
                          size_t n);

/* What kind of protection a message (or an entity inside one) carries at its top level. */
enum sg_layer_kind { SG_LAYER_NONE = 0, SG_LAYER_ENCRYPTED, SG_LAYER_SIGNED };

/* One order to peel the top layer of an incoming message or entity. */
typedef struct sg_peel_req {
    const char *from;         /* the From address the signatures must be bound to (may be NULL) */
    const char *const *rcpts; /* internal recipients that may read it: their held keys decrypt */
    size_t nrcpt;
    size_t max_plain; /* plaintext larger than this is SG_DEC_TOO_LARGE, never truncated */
    const char *qid;
    /* The time signatures and certificates are judged at (0: now), e.g. when the message
     * arrived, for a message released from hold later, or a test corpus with expired keys. */
    time_t at;
    /* Where an engine may decrypt a large layer into an unnamed file (cryptd's spool
     * tmp/cryptd, issue 11); NULL: in memory only. */
    const char *tmpdir;
} sg_peel_req;

/* The result of peeling one layer. */
typedef struct sg_layer {
    int kind;   /* enum sg_layer_kind; NONE: not this engine's format (nothing else is set) */
    int method; /* enum sg_method */
    /* ENCRYPTED */
    int dec;         /* enum sg_dec_status */
    char reason[96]; /* why it did not decrypt */
    bool *readable;  /* [nrcpt] (malloc'd): the message was encrypted to a key held for rcpts[i] */
    /* The entity inside (malloc'd, CRLF): the decrypted entity (dec == SG_DEC_OK), or the
     * content of opaque signed data. NULL for a clear-signed layer: its content is delivered
     * as it arrived, signature and all. */
    char *inner;
    size_t innerlen;
    /* Set when inner is a read-only mapping of a file the engine decrypted into (a large
     * layer, issue 11) instead of malloc'd: inner points into it, sg_layer_free closes it. */
    sg_mapview *inner_map;
    /* SIGNED, or the signature made in one step with the encryption (OpenPGP sign+encrypt). */
    sg_sig_verdict sig;
    /* The signer's certificate chain, DER, for the caller to learn (S/MIME; malloc'd, may be
     * NULL). */
    unsigned char *signer_cert;
    size_t signer_certlen;
    /* S/MIME: the signer's SMIMECapabilities name AES-GCM (learned with the certificate, so
     * that replies can use AuthEnvelopedData). */
    bool signer_aead;
    /* The layer covers only part of the entity (OpenPGP: armored blocks inside other text).
     * Nothing of it is opened (inner NULL): an encrypted one is not decrypted (dec NO_KEY,
     * reason embedded-ciphertext, nobody readable), and unwrap never counts its signature as
     * covering the whole message. Engines without such layers leave it false. */
    bool partial;
} sg_layer;
void sg_layer_free(sg_layer *l);

typedef struct sg_engine {
    const char *name; /* "pgp", "smime" */
    int method;       /* enum sg_method */
    /* Called once before threads start; 0 or -1. */
    int (*init)(const sg_engine_env *env);
    /* Key material. 1: usable, 0: none, -1: store error (the caller fails closed). */
    int (*can_encrypt_to)(const char *addr); /* a valid encryption key / certificate is known */
    int (*can_sign_as)(const char *addr);    /* a secret key / certificate of addr is held */
    /* 1 when the engine can sign for a sender who has no key of their own (create_sender_key,
     * or the domain identity): OpenPGP always (keys are generated); S/MIME only when a local CA
     * exists to issue from, or the domain certificate is held. 0 no, -1 store error. */
    int (*can_make_signer)(void);
    /* Signs and/or encrypts the whole message as ordered (protected headers inside the
     * encryption, outer Subject "..."). Appends the new message to out. 0, or -1 with err. */
    int (*protect)(const sg_protect_req *req, const char *msg, size_t len, sg_buf *out, char *err,
                   size_t errlen);
    /* protect for a large message (issue 11): the new message is written to fd (a fresh
     * temporary file) in pieces instead of being built in memory, with the same bytes
     * protect would make. 0 written, 1 when this message is not made that way (the caller then
     * uses protect), -1 with err. NULL when the engine has no such path. */
    int (*protect_to_fd)(const sg_protect_req *req, const char *msg, size_t len, int fd, char *err,
                         size_t errlen);
    /* The kind of the top-level layer, by structure alone (no keys, no crypto): for policy
     * conditions "already encrypted" / "already signed". ENCRYPTED only when the packets parse
     * as encryption (OpenPGP ESKs then SEIPD/AEAD; CMS envelope with RecipientInfos), never
     * for the MIME dress alone. */
    int (*detect)(const char *msg, size_t len);
    /* Peels the top-level layer of msg (a whole message or an entity: header + body). 0 with
     * out filled (kind NONE when not this engine's format), -1 on a memory or store error. */
    int (*peel)(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out);
    /* The public key material of addr for the policy's attach_keys action ({send_keys}),
     * appended to out ready to attach: OpenPGP an ASCII-armored transferable public key
     * (application/pgp-keys), S/MIME the DER certificate (application/pkix-cert).
     * 1 appended, 0 none held for addr, -1 error. NULL when the engine cannot (the action
     * then attaches nothing of this method and logs it). */
    int (*export_public)(const char *addr, sg_buf *out);
} sg_engine;

/* The engines built in, in no particular order; NULL-terminated. */
extern const sg_engine *const sg_engines[];
const sg_engine *sg_engine_by_method(int method);

#endif

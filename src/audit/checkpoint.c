/* checkpoint.c - C2SP signed-note checkpoints and the log's Ed25519 key (checkpoint.h). Owner:
 * src/audit (issue 14). Ed25519 and base64 come from OpenSSL (EVP_PKEY_ED25519, EVP_EncodeBlock):
 * no hand-written cryptography. SECURITY: see checkpoint.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "audit/checkpoint.h"
#include "lib/privdrop.h"

#define DASH "\xe2\x80\x94" /* U+2014 EM DASH, which starts a signature line */

static int why_set(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return -1;
}

/* Base64 decode of exactly n bytes from text (len chars): 0 or -1. */
static int b64_exact(const char *text, size_t len, uint8_t *out, size_t n)
{
    if (len == 0 || len % 4 || len > 4 * ((n + 2) / 3) + 4)
        return -1;
    uint8_t buf[256];
    if (len / 4 * 3 > sizeof buf)
        return -1;
    int got = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)len);
    if (got < 0)
        return -1;
    size_t pad = (text[len - 1] == '=') + (text[len - 2] == '=');
    if ((size_t)got - pad != n)
        return -1;
    memcpy(out, buf, n);
    return 0;
}

int sg_checkpoint_parse(const char *note, size_t len, sg_checkpoint *c, char *why, size_t whylen)
{
    memset(c, 0, sizeof *c);
    const char *p = note, *end = note + len;
    const char *lines[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return why_set(why, whylen, "checkpoint: fewer than three lines");
        lines[i] = p;
        lens[i] = (size_t)(nl - p);
        p = nl + 1;
    }
    if (lens[0] == 0 || lens[0] >= sizeof c->origin || memchr(lines[0], '\0', lens[0]))
        return why_set(why, whylen, "checkpoint: bad origin line");
    memcpy(c->origin, lines[0], lens[0]);
    if (lens[1] == 0 || lens[1] > 20 || (lens[1] > 1 && lines[1][0] == '0'))
        return why_set(why, whylen, "checkpoint: bad tree size");
    uint64_t size = 0;
    for (size_t i = 0; i < lens[1]; i++) {
        if (lines[1][i] < '0' || lines[1][i] > '9' || size > (UINT64_MAX - 9) / 10)
            return why_set(why, whylen, "checkpoint: bad tree size");
        size = size * 10 + (uint64_t)(lines[1][i] - '0');
    }
    c->size = size;
    if (b64_exact(lines[2], lens[2], c->root, SG_MERKLE_HASH) < 0)
        return why_set(why, whylen, "checkpoint: bad root hash");
    c->body_len = (size_t)(p - note);
    /* No extension lines in our notes: the body ends with an empty line. */
    if (p >= end || *p != '\n')
        return why_set(why, whylen, "checkpoint: no empty line after the body");
    p++;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || (size_t)(nl - p) < sizeof DASH + 1 || memcmp(p, DASH " ", sizeof DASH) != 0)
        return why_set(why, whylen, "checkpoint: no signature line");
    const char *name = p + sizeof DASH;
    const char *sp = memchr(name, ' ', (size_t)(nl - name));
    if (!sp || sp == name || (size_t)(sp - name) >= sizeof c->key_name)
        return why_set(why, whylen, "checkpoint: bad signature line");
    memcpy(c->key_name, name, (size_t)(sp - name));
    uint8_t raw[68];
    if (b64_exact(sp + 1, (size_t)(nl - sp - 1), raw, sizeof raw) < 0)
        return why_set(why, whylen, "checkpoint: bad signature encoding");
    memcpy(c->keyid, raw, 4);
    memcpy(c->sig, raw + 4, 64);
    return 0;
}

void sg_audit_key_paths(const char *base_dir, char *priv, size_t privlen, char *pub, size_t publen)
{
    snprintf(priv, privlen, "%s/keys/audit.key", base_dir);
    snprintf(pub, publen, "%s/keys/audit.pub", base_dir);
}

void sg_audit_keyid(const char *name, const uint8_t pub[32], uint8_t keyid[4])
{
    uint8_t buf[SG_CKPT_ORIGIN_MAX + 34], d[32];
    size_t n = strnlen(name, SG_CKPT_ORIGIN_MAX - 1);
    memcpy(buf, name, n);
    buf[n] = '\n';
    buf[n + 1] = 0x01; /* the signature type: Ed25519 */
    memcpy(buf + n + 2, pub, 32);
    SHA256(buf, n + 34, d);
    memcpy(keyid, d, 4);
}

static int write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int ok = write(fd, p, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

int sg_audit_key_ensure(const char *base_dir, const char *owner, const char *group)
{
    char priv[4096], pub[4096];
    sg_audit_key_paths(base_dir, priv, sizeof priv, pub, sizeof pub);
    if (access(priv, F_OK) != 0) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        uint8_t raw[32];
        size_t rawlen = sizeof raw;
        BIO *b = BIO_new(BIO_s_mem());
        int ok = k && b && EVP_PKEY_get_raw_public_key(k, raw, &rawlen) == 1 && rawlen == 32 &&
                 PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1;
        char *pem = NULL;
        long pemlen = ok ? BIO_get_mem_data(b, &pem) : 0;
        char line[64];
        int n = ok ? EVP_EncodeBlock((unsigned char *)line, raw, 32) : 0;
        line[n] = '\n';
        /* The public half first: a private key without it would be unusable for verify. */
        unlink(pub);
        ok = ok && write_file(pub, line, (size_t)n + 1, 0644) == 0 &&
             write_file(priv, pem, (size_t)pemlen, 0600) == 0;
        BIO_free(b);
        EVP_PKEY_free(k);
        if (!ok) {
            if (!errno)
                errno = EIO;
            return -1;
        }
    }
    if (chmod(priv, 0600) < 0)
        return -1;
    if (geteuid() == 0 && (sg_priv_chown(priv, owner, group) < 0 || sg_priv_chown(pub, owner, group) < 0))
        return -1;
    return 0;
}

int sg_audit_pubkey_load(const char *base_dir, uint8_t pub[32])
{
    char priv[4096], path[4096], line[128];
    sg_audit_key_paths(base_dir, priv, sizeof priv, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f) { /* keys/ is the cryptd user's alone: the other roles read the copy in audit/ */
        snprintf(path, sizeof path, "%s/audit/audit.pub", base_dir);
        f = fopen(path, "re");
    }
    if (!f)
        return -1;
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = ok ? strcspn(line, "\r\n") : 0;
    return ok && b64_exact(line, n, pub, 32) == 0 ? 0 : -1;
}

int sg_audit_b64_decode(const char *text, size_t len, uint8_t *out, size_t n)
{
    return b64_exact(text, len, out, n);
}

int sg_audit_sign(const char *base_dir, const void *msg, size_t len, uint8_t sig[64], char *why, size_t whylen)
{
    char priv[4096], pubp[4096];
    sg_audit_key_paths(base_dir, priv, sizeof priv, pubp, sizeof pubp);
    FILE *f = fopen(priv, "re");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!k)
        return why_set(why, whylen, "cannot read the log's signing key");
    size_t siglen = 64;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m && EVP_DigestSignInit(m, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(m, sig, &siglen, msg, len) == 1 && siglen == 64;
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(k);
    return ok ? 0 : why_set(why, whylen, "signing failed");
}

int sg_checkpoint_sign(const char *base_dir, const char *origin, uint64_t size, const sg_mhash root, char *out,
                       size_t outlen, char *why, size_t whylen)
{
    uint8_t pub[32];
    if (sg_audit_pubkey_load(base_dir, pub) < 0)
        return why_set(why, whylen, "cannot read the log's public key");
    char rootb64[64];
    EVP_EncodeBlock((unsigned char *)rootb64, root, SG_MERKLE_HASH);
    int body = snprintf(out, outlen, "%s\n%llu\n%s\n", origin, (unsigned long long)size, rootb64);
    uint8_t raw[68];
    if (body <= 0 || (size_t)body >= outlen)
        return why_set(why, whylen, "checkpoint too long");
    if (sg_audit_sign(base_dir, out, (size_t)body, raw + 4, why, whylen) < 0)
        return -1;
    sg_audit_keyid(origin, pub, raw);
    char sigb64[100];
    EVP_EncodeBlock((unsigned char *)sigb64, raw, sizeof raw);
    int n = snprintf(out + body, outlen - (size_t)body, "\n" DASH " %s %s\n", origin, sigb64);
    if (n < 0 || (size_t)n >= outlen - (size_t)body)
        return why_set(why, whylen, "checkpoint too long");
    return 0;
}

bool sg_checkpoint_verify(const char *note, size_t len, const uint8_t pub[32], sg_checkpoint *c, char *why,
                          size_t whylen)
{
    if (sg_checkpoint_parse(note, len, c, why, whylen) < 0)
        return false;
    uint8_t id[4];
    sg_audit_keyid(c->key_name, pub, id);
    if (strcmp(c->key_name, c->origin) != 0 || memcmp(id, c->keyid, 4) != 0) {
        why_set(why, whylen, "checkpoint: signed by another key");
        return false;
    }
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = k && m && EVP_DigestVerifyInit(m, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(m, c->sig, 64, (const unsigned char *)note, c->body_len) == 1;
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(k);
    if (!ok)
        why_set(why, whylen, "checkpoint: bad signature");
    return ok;
}

/* cms_stream.c - S/MIME signing and encryption of a large entity as streams (cms.h, issue 11).
 * Owner: src/engine (S/MIME).
 * SECURITY: runs in cryptd with the same keys, algorithms and parameters as sg_smime_sign and
 * sg_smime_encrypt (their prepared structures are shared: cms_int.h); only the way the data
 * goes in and out differs. The signature is made over the bytes as read (CMS_BINARY), and
 * the envelope is written as BER with indefinite lengths (RFC 5652 allows BER; OpenSSL, gpgsm
 * and mail clients read it). A failure anywhere returns -1: the caller holds the message. */
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/smime/cms_int.h"

#define PIECE (64u << 10)

/* BIOs over the caller's read and write functions. */
static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, int len)
{
    const sg_smime_stream_io *io = BIO_get_data(b);
    return len <= 0 ? 0 : (int)io->read(io->ctx, buf, (size_t)len);
}

static int bio_write(BIO *b, const char *buf, int len)
{
    const sg_smime_stream_io *io = BIO_get_data(b);
    return len <= 0 ? 0 : io->write(io->ctx, buf, (size_t)len) < 0 ? -1 : len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sealgate stream");
    if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
        method = m;
    else
        BIO_meth_free(m);
}

static BIO *io_bio(const sg_smime_stream_io *io)
{
    pthread_once(&method_once, make_method);
    BIO *b = method ? BIO_new(method) : NULL;
    if (b)
        BIO_set_data(b, (void *)(uintptr_t)io);
    return b;
}

int sg_smime_sign_stream(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                         const sg_smime_stream_io *io, unsigned char **der, size_t *derlen, char *err,
                         size_t errlen)
{
    *der = NULL;
    if (!o->detached) {
        snprintf(err, errlen, "only a detached signature is made as a stream");
        return -1;
    }
    unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_DETACHED;
    CMS_ContentInfo *cms = smime_sign_setup(k, signer_fpr, o, flags, err, errlen);
    BIO *chain = cms ? CMS_dataInit(cms, NULL) : NULL;
    char *buf = malloc(PIECE);
    int rc = -1;
    if (!cms)
        goto out;
    if (!chain || !buf) {
        smime_fail(err, errlen, "signing");
        goto out;
    }
    /* The digest BIOs see every byte; the detached content itself goes nowhere. */
    size_t n;
    while ((n = io->read(io->ctx, buf, PIECE)) > 0)
        if (BIO_write(chain, buf, (int)n) != (int)n) {
            smime_fail(err, errlen, "signing");
            goto out;
        }
    (void)BIO_flush(chain);
    unsigned char *p = NULL;
    int len;
    if (!CMS_dataFinal(cms, chain) || (len = i2d_CMS_ContentInfo(cms, &p)) <= 0) {
        smime_fail(err, errlen, "signing");
        goto out;
    }
    if ((*der = malloc((size_t)len)))
        memcpy(*der, p, (size_t)len);
    OPENSSL_free(p);
    *derlen = (size_t)len;
    rc = *der ? 0 : -1;
out:
    free(buf);
    BIO_free_all(chain);
    CMS_ContentInfo_free(cms);
    return rc;
}

int sg_smime_encrypt_stream(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt,
                            bool gcm, bool oaep, const sg_smime_stream_io *io, char *err, size_t errlen)
{
    if (nrcpt == 0 || nrcpt > SG_SMIME_MAX_RECIPIENTS) {
        snprintf(err, errlen, "%zu recipients are out of range", nrcpt);
        return -1;
    }
    unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_STREAM;
    CMS_ContentInfo *cms = smime_encrypt_setup(k, rcpts, nrcpt, gcm, oaep, flags, err, errlen);
    BIO *in = cms ? io_bio(io) : NULL, *out = in ? io_bio(io) : NULL;
    int rc = -1;
    if (cms && (!out || i2d_CMS_bio_stream(out, cms, in, (int)flags) != 1))
        smime_fail(err, errlen, "encrypting");
    else if (cms)
        rc = 0;
    BIO_free(in);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    return rc;
}

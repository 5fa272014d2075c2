/* tls_client.c - the relay's STARTTLS checks: trust anchors, the next hop's name, pinned
 * fingerprints, and what each session's TLS proved. Owner: src/relay.
 *
 * SECURITY
 *   Every handshake verifies the peer's chain against the trust anchors and its name against
 *   relay.tls_match (or the next hop's host). The verify callback records each error and lets
 *   the handshake finish (as Postfix does), so that levels which do not require
 *   authentication can still log what the peer proved; sg_tls_client_check then decides,
 *   before a single SMTP command goes over the session, whether the level is met. A level
 *   that is not met closes the session: the mail is deferred, never sent in the clear.
 *   The peer's certificate is untrusted input; only OpenSSL parses it. */
#include "relay/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/netaddr.h"

/* ex_data slots of an SSL: the first chain error and the first name error its verification
 * met (X509_V_OK = none). Created once, before the workers start. */
static int chain_idx = -1, name_idx = -1;

static bool is_name_err(long e)
{
    return e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH;
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
    if (ok)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    int e = X509_STORE_CTX_get_error(x);
    int idx = is_name_err(e) ? name_idx : chain_idx;
    if (ssl && !SSL_get_ex_data(ssl, idx))
        SSL_set_ex_data(ssl, idx, (void *)(intptr_t)e);
    return 1; /* recorded; sg_tls_client_check decides */
}

SSL_CTX *sg_tls_client_ctx(const char *ca_file, char *err, size_t errlen)
{
    if (chain_idx < 0) {
        chain_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        name_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || chain_idx < 0 || name_idx < 0) {
        snprintf(err, errlen, "cannot create the TLS context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        char e[160];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        snprintf(err, errlen, "relay.tls_ca_file %s: %s", ca_file ? ca_file : "(system)", e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    return ctx;
}

int sg_tls_client_prepare(SSL *ssl, const char *next_hop, const sg_tls_policy *p)
{
    char host[256];
    unsigned char addr[16];
    if (sg_endpoint_host(next_hop, host, sizeof host) < 0)
        return -1;
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = 1;
    if (p->match && p->match->n > 0) {
        for (size_t i = 0; ok && i < p->match->n; i++)
            ok = X509_VERIFY_PARAM_add1_host(vp, p->match->v[i], 0);
        ok = ok && SSL_set_tlsext_host_name(ssl, p->match->v[0]);
    } else if (is_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(vp, host); /* an address: its IP SAN, no SNI */
    } else {
        ok = X509_VERIFY_PARAM_set1_host(vp, host, 0) && SSL_set_tlsext_host_name(ssl, host);
    }
    return ok ? 0 : -1;
}

static bool listed(const sg_strlist *l, const char *hex)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i], hex) == 0)
            return true;
    return false;
}

/* SHA-256 of the certificate (DER) and of its SubjectPublicKeyInfo (DER), in hex. */
static int digests(X509 *cert, char certfp[SG_FPR_SHA256_HEX], char keyfp[SG_FPR_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
        return -1;
    sg_fpr_hex(md, n, certfp);
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    int rc = len > 0 && EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
    if (rc == 0)
        sg_fpr_hex(md, n, keyfp);
    OPENSSL_free(der);
    return rc;
}

int sg_tls_client_check(SSL *ssl, const sg_tls_policy *p, sg_tls_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->proto, sizeof info->proto, "%s", SSL_get_version(ssl));
    snprintf(info->cipher, sizeof info->cipher, "%s", SSL_get_cipher_name(ssl));
    X509 *cert = SSL_get0_peer_certificate(ssl);
    char keyfp[SG_FPR_SHA256_HEX] = "";
    int chain_err = (int)(intptr_t)SSL_get_ex_data(ssl, chain_idx);
    int name_err = (int)(intptr_t)SSL_get_ex_data(ssl, name_idx);
    long vr = SSL_get_verify_result(ssl); /* the last error: a safety net beside the callback's */
    if (!cert) {
        info->result = SG_TLSR_ANONYMOUS;
        snprintf(info->why, sizeof info->why, "no certificate");
    } else if (digests(cert, info->peer_fp, keyfp) < 0) {
        info->result = SG_TLSR_UNTRUSTED; /* cannot even be identified: the weakest with a certificate */
        snprintf(info->why, sizeof info->why, "cannot compute the certificate's fingerprint");
    } else if (p->level == SG_TLS_FINGERPRINT) {
        /* Pinned: the list alone decides, chain and names do not matter (Postfix's rule). */
        bool hit = listed(p->fingerprints, info->peer_fp) || listed(p->fingerprints, keyfp);
        info->result = hit ? SG_TLSR_VERIFIED : SG_TLSR_UNTRUSTED;
        if (!hit)
            snprintf(info->why, sizeof info->why, "certificate %.64s (public key %.64s) not in tls_fingerprints",
                     info->peer_fp, keyfp);
    } else if (chain_err != X509_V_OK || (vr != X509_V_OK && !is_name_err(vr))) {
        info->result = SG_TLSR_UNTRUSTED;
        int e = chain_err != X509_V_OK ? chain_err : (int)vr;
        snprintf(info->why, sizeof info->why, "certificate not trusted: %s", X509_verify_cert_error_string(e));
    } else if (name_err != X509_V_OK || is_name_err(vr)) {
        info->result = SG_TLSR_TRUSTED;
        snprintf(info->why, sizeof info->why, "certificate does not name the next hop: %s",
                 X509_verify_cert_error_string(name_err != X509_V_OK ? name_err : (int)vr));
    } else {
        info->result = SG_TLSR_VERIFIED;
    }
    bool needed = p->level == SG_TLS_VERIFY || p->level == SG_TLS_FINGERPRINT;
    return needed && info->result != SG_TLSR_VERIFIED ? -1 : 0;
}

const char *sg_tls_result_name(int result)
{
    static const char *const names[] = {"none", "anonymous", "untrusted", "trusted", "verified"};
    return result >= 0 && result <= SG_TLSR_VERIFIED ? names[result] : "none";
}

void sg_tls_info_log(const sg_tls_info *info, char *out, size_t len)
{
    if (info->result == SG_TLSR_NONE)
        snprintf(out, len, " tls=none");
    else
        snprintf(out, len, " tls=%s tls_proto=%s tls_cipher=%s peer_fp=%s", sg_tls_result_name(info->result),
                 info->proto, info->cipher, info->peer_fp[0] ? info->peer_fp : "-");
}

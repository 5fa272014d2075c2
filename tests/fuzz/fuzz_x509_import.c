/* fuzz_x509_import.c - libFuzzer target for the certificate import path: arbitrary bytes (PEM,
 * DER, PKCS#7, PKCS#12 with an empty password) go through sg_certstore_import into an
 * in-memory store; whatever was stored is listed, exported and validated. Certificates arrive
 * from mail, partners and admins, so this parser faces the internet. Owner: src/keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_kek.h"
#include "keys/certstore.h"

static void check(void *ctx, const sg_cert_import_result *r)
{
    (void)ctx;
    /* Touch every field so ASan sees any dangling pointer in a report. */
    if (r->fpr && strlen(r->fpr) != SG_CERT_FPR_LEN)
        abort();
    if (r->subject)
        (void)strlen(r->subject);
    if (r->reason)
        (void)strlen(r->reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    /* An exact-size heap copy so ASan catches any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, buf, len);
    char err[256];
    sg_store *st = sg_store_open(":memory:", err, sizeof err);
    if (!st)
        abort();
    sg_certstore *cs = sg_certstore_open(st, kek_path, 0);
    sg_certstore_import(cs, copy, len, NULL, check, NULL);
    sg_cert_info *list;
    size_t n;
    if (sg_certstore_list(cs, NULL, &list, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            uint8_t *out;
            size_t olen;
            if (sg_certstore_export(cs, list[i].fpr, false, &out, &olen) == 0)
                free(out);
            X509 *x = sg_certstore_load_cert(cs, list[i].fpr);
            char reason[256];
            if (x)
                sg_cert_validate(cs, x, list[i].naddrs ? list[i].addrs[0] : NULL, SG_CERT_SIGN, time(NULL),
                                 reason, sizeof reason);
            X509_free(x);
        }
        sg_certstore_free_list(list, n);
    }
    sg_certstore_close(cs);
    sg_store_close(st);
    free(copy);
    return 0;
}

/* fuzz_x509_import.c - libFuzzer target for the certificate import path: arbitrary bytes (PEM,
 * DER, PKCS#7, PKCS#12 with an empty password, legacy encryption included, private keys) go
 * through sg_certstore_import into an in-memory store, then the same bytes split in two at the
 * second PEM block (else in the middle) through sg_certstore_import_set with
 * SG_CS_IMPORT_TRUST, as `cert import --trust CERT KEY` does; whatever was stored is listed,
 * exported and validated. Certificates arrive from mail, partners and admins, so this parser
 * faces the internet. Owner: src/keys. */
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
    if (r->input)
        (void)strlen(r->input);
    if (r->trust < -1 || r->trust > 1 || (r->fpr == NULL && r->status != SG_CERT_REJECTED))
        abort(); /* an input-level line is always a refusal */
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
    const uint8_t *second = len > 11 ? memmem(copy + 1, len - 1, "-----BEGIN ", 11) : NULL;
    size_t cut = second ? (size_t)(second - copy) : len / 2;
    uint8_t *a = malloc(cut ? cut : 1), *b = malloc(len - cut ? len - cut : 1); /* exact sizes for ASan */
    if (!a || !b)
        abort();
    memcpy(a, copy, cut);
    memcpy(b, copy + cut, len - cut);
    sg_cert_input in[2] = {{a, cut, "a"}, {b, len - cut, "b"}};
    sg_certstore_import_set(cs, in, 2, NULL, SG_CS_IMPORT_TRUST, check, NULL);
    free(a);
    free(b);
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

/* web_seed.c - fills a store with N OpenPGP keys and N certificates for bench/web, straight
 * through the store's typed calls in a few large transactions (100,000 of each in well under a
 * minute; importing as many real keys takes hours). Owner: bench. Not installed.
 *   web_seed STORE N CERT.der
 * Every key row carries the bytes of one freshly generated Ed25519 key and every certificate row
 * the bytes of CERT.der: the rows (fingerprint, user ID or subject, address, dates) differ, and
 * the lists, searches and counts the bench measures read only rows. User IDs and addresses are
 * "Bench User I <benchI@seed.example>" and "certI@seed.example". Not for a real gateway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/openpgp.h"
#include "lib/fsutil.h"
#include "store/pgp_rows.h"
#include "store/x509_rows.h"

#define BATCH 5000

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: web_seed STORE N CERT.der\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    char err[512], *der = NULL, fpr[SG_PGP_FPR_LEN + 1];
    size_t derlen = 0, publen = 0;
    uint8_t *pub = NULL;
    sg_pgp *p = sg_pgp_new();
    if (n <= 0 || sg_read_file(argv[3], 1 << 20, &der, &derlen) < 0 || !p ||
        sg_pgp_generate(p, "Bench Seed <seed@seed.example>", "ed25519", 0, fpr) < 0 ||
        sg_pgp_export(p, fpr, 0, &pub, &publen) < 0) {
        fprintf(stderr, "web_seed: bad arguments or cannot make the seed key\n");
        return 2;
    }
    sg_store *st = sg_store_open(argv[1], err, sizeof err);
    if (!st) {
        fprintf(stderr, "web_seed: %s\n", err);
        return 1;
    }
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        if (i % BATCH == 0 && sg_store_begin(st) < 0)
            rc = -1;
        char uid[96], addr[64], caddr[64], subj[160];
        snprintf(uid, sizeof uid, "Bench User %ld <bench%ld@seed.example>", i, i);
        snprintf(addr, sizeof addr, "bench%ld@seed.example", i);
        snprintf(caddr, sizeof caddr, "cert%ld@seed.example", i);
        snprintf(subj, sizeof subj, "CN=Bench Cert %ld,emailAddress=%s", i, caddr);
        sg_store_pgp_uid u = {uid, addr, true};
        sg_store_pgp_key k = {.bits = 255, .created = now - i, .valid_until = INT64_MAX, .can_sign = true,
                              .can_encrypt = true, .can_certify = true, .enc_subkey = true,
                              .enc_until = INT64_MAX, .uids = &u, .nuids = 1};
        snprintf(k.fpr, sizeof k.fpr, "BE7C%036lX", (unsigned long)i);
        snprintf(k.keyid, sizeof k.keyid, "%016lX", (unsigned long)i);
        snprintf(k.alg, sizeof k.alg, "EDDSA");
        char *addrs[1] = {caddr};
        sg_x509_row c = {.subject = subj, .issuer = "CN=Bench CA", .serial = "01", .not_before = now - 86400,
                         .not_after = now + 365 * 86400, .key_usage = -1, .eku_email = true, .addrs = addrs,
                         .naddrs = 1};
        snprintf(c.fpr, sizeof c.fpr, "BE7C%060lX", (unsigned long)i);
        if (rc == 0 && (sg_store_pgp_put_key(st, &k, pub, publen, now) < 0 ||
                        sg_store_x509_insert(st, &c, (const uint8_t *)der, derlen) < 0))
            rc = -1;
        if (rc == 0 && (i % BATCH == BATCH - 1 || i == n - 1) && sg_store_commit(st) < 0)
            rc = -1;
    }
    if (rc < 0)
        fprintf(stderr, "web_seed: %s\n", sg_store_error(st));
    sg_store_close(st);
    free(pub);
    free(der);
    sg_pgp_free(p);
    return rc < 0 ? 1 : 0;
}

/* sg-keyring.c - writes a keyring of N fresh Ed25519 OpenPGP public keys (user IDs
 * "Test User I <userI@PREFIX>"), armored, to standard output, for the tests and benches of bulk
 * imports (issue 18's jobs): thousands of keys in seconds, in process, without gpg's agent.
 * Owner: tests. Not installed.
 *   sg-keyring N [DOMAIN]     (DOMAIN default bulk.example) */
#include <stdio.h>
#include <stdlib.h>

#include "crypto/openpgp.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    const char *domain = argc > 2 ? argv[2] : "bulk.example";
    if (n <= 0 || n > 1000000) {
        fprintf(stderr, "usage: sg-keyring N [DOMAIN]\n");
        return 2;
    }
    for (long i = 0; i < n; i++) {
        /* One context per key: librnp's lookups grow with the keys a context holds. */
        sg_pgp *p = sg_pgp_new();
        char uid[256], fpr[SG_PGP_FPR_LEN + 1];
        uint8_t *out = NULL;
        size_t len = 0;
        snprintf(uid, sizeof uid, "Test User %ld <user%ld@%s>", i, i, domain);
        if (!p || sg_pgp_generate(p, uid, "ed25519", 0, fpr) < 0 ||
            sg_pgp_export(p, fpr, SG_PGP_EXPORT_ARMOR, &out, &len) < 0) {
            fprintf(stderr, "sg-keyring: cannot make key %ld\n", i);
            return 1;
        }
        fwrite(out, 1, len, stdout);
        free(out);
        sg_pgp_free(p);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* fuzz_discover_filter.c - libFuzzer target for the key-filtering parser of WKD, VKS and HKP
 * answers (keys/discover_filter.h): the bytes a server sent, armored or binary. Checks beyond
 * "no crash": an accepted key comes out as exactly one primary key whose only user ID is the
 * recipient's address, valid, with an encryption subkey. Owner: src/keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/openpgp.h"
#include "keys/discover_filter.h"

static const char addr[] = "carol@wkd-a.test";

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    uint8_t *out = NULL;
    size_t olen = 0;
    char fpr[SG_PGP_FPR_LEN + 1], why[200];
    int rc = sg_discover_filter(buf, len, addr, (int64_t)time(NULL), &out, &olen, fpr, why, sizeof why);
    if (rc == 1) {
        sg_pgp *p = sg_pgp_new();
        sg_pgp_key k;
        char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
        size_t n = 0;
        if (!out || !p || sg_pgp_load(p, out, olen) != 0 || sg_pgp_primaries(p, &fprs, &n) != 0 || n != 1 ||
            strcmp(fprs[0], fpr) != 0 || sg_pgp_inspect(p, fpr, &k) != 0)
            abort();
        if (k.nuids != 1 || !k.uids[0].valid || !k.uids[0].addr || strcasecmp(k.uids[0].addr, addr) != 0 ||
            !k.enc_subkey || k.revoked)
            abort();
        sg_pgp_key_clear(&k);
        free(fprs);
        sg_pgp_free(p);
    } else if (rc == 0 && out) {
        abort();
    }
    free(out);
    return 0;
}

/* test_pgp_encrypted.c - what counts as an OpenPGP encrypted message (crypto/pgp_packet.h,
 * pgp_encrypted.c): the packet sequences, the length forms gpg and others write (old format,
 * new format, partial lengths), and the shapes that must not count. Real gpg
 * output is checked through SMTP in tests/integration/test_failclosed.py. Owner: src/crypto. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/pgp_packet.h"

/* A message built from pieces: a PKESK v3 (old format, 1-octet length), then the data. */
static size_t build(uint8_t *out, const uint8_t *data_hdr, size_t hl, size_t body, uint8_t version)
{
    static const uint8_t pkesk[] = {0x84, 0x0d, 3, 1, 2, 3, 4, 5, 6, 7, 8, 18, 0, 1, 0x55};
    size_t n = 0;
    memcpy(out, pkesk, sizeof pkesk), n += sizeof pkesk;
    memcpy(out + n, data_hdr, hl), n += hl;
    memset(out + n, 0xab, body), out[n] = version, n += body;
    return n;
}

int main(void)
{
    uint8_t m[4096];
    size_t n;

    static const uint8_t seipd_new[] = {0xd2, 60}; /* new format, tag 18, 60 octets */
    n = build(m, seipd_new, 2, 60, 1);
    CHECK(sg_pgp_is_encrypted(m, n) == 1, "PKESK then SEIPD v1 (new format length)");
    CHECK(sg_pgp_is_encrypted(m, n - 1) == 0, "a SEIPD cut short");
    m[n] = 0;
    CHECK(sg_pgp_is_encrypted(m, n + 1) == 0, "bytes after the SEIPD");
    n = build(m, seipd_new, 2, 60, 9);
    CHECK(sg_pgp_is_encrypted(m, n) == 0, "an unknown SEIPD version");
    CHECK(sg_pgp_is_encrypted(m + 15, n - 15) == 0, "a SEIPD without any PKESK or SKESK");

    static const uint8_t seipd_old[] = {0xa5, 0x00, 60}; /* old format tag 9 = SED, 2-octet */
    n = build(m, seipd_old, 3, 60, 1);
    CHECK(sg_pgp_is_encrypted(m, n) == 0, "SED (no integrity protection) does not count");

    /* partial: 512 octets, then 1024, then a final 100 */
    uint8_t *p = malloc(2000);
    memcpy(p, m, 15);
    size_t k = 15;
    p[k++] = 0xd2;
    p[k++] = 0xe9; /* 1 << 9 */
    memset(p + k, 0xab, 512), p[k] = 1, k += 512;
    p[k++] = 0xea; /* 1 << 10 */
    memset(p + k, 0xab, 1024), k += 1024;
    p[k++] = 100;
    memset(p + k, 0xab, 100), k += 100;
    CHECK(sg_pgp_is_encrypted(p, k) == 1, "SEIPD with partial body lengths");
    CHECK(sg_pgp_is_encrypted(p, k - 1) == 0, "partial body lengths that overrun the data");
    p[16] = 0xe1; /* a first chunk of 2 octets */
    CHECK(sg_pgp_is_encrypted(p, k) == 0, "a first partial chunk under 512 octets");
    free(p);

    /* plain text whose first octet looks like a PKESK (0x85 = old format tag 1) */
    static const char fake[] = "\x85\x01\x0cThe secret plan, in the clear. The secret plan, in the clear.";
    CHECK(sg_pgp_is_encrypted((const uint8_t *)fake, sizeof fake - 1) == 0, "text that starts like a PKESK");

    static const char armored_fake[] = "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMVGhlIHNlY3JldCBwbGFuLCBpbiB0aGUgY2xlYXIu\r\n"
                                       "-----END PGP MESSAGE-----\r\n";
    CHECK(sg_pgp_text_is_encrypted(armored_fake, sizeof armored_fake - 1) == 0,
          "armor whose first octet looks like a PKESK");
    static const char not_b64[] = "-----BEGIN PGP MESSAGE-----\r\n\r\nThe secret plan, in the clear!\r\n"
                                  "-----END PGP MESSAGE-----\r\n";
    CHECK(sg_pgp_text_is_encrypted(not_b64, sizeof not_b64 - 1) == 0, "armor around plain text");
    CHECK(sg_pgp_text_is_encrypted("The secret plan.\r\n", 18) == 0, "plain text");
    return CHECK_DONE();
}

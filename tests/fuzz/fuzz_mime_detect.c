/* fuzz_mime_detect.c - libFuzzer target for the MIME walking of the PGP/MIME transform: any
 * bytes as a message go through detection (sg_mime_detect), and then through every rewrite
 * cryptd does on untrusted mail: unwrap with the extracted piece as the "decrypted" entity,
 * restamp, canonicalisation with protected headers (the GMime re-encoding path), the outer
 * wrap, the author a signature is bound to (sg_mime_author_of); and "already encrypted" as
 * the policy asks it: every engine's detect, and the OpenPGP packet check (crypto/pgp_packet.h)
 * on the bytes as binary, as armor, and on the extracted PGP/MIME data part. Incoming mail is attacker-controlled, so all of this faces the internet.
 * The streamed inner entity of a large outgoing message (mime_stream.h), read in pieces of a
 * size taken from the input, must equal the whole-message one whenever it is offered, and the
 * line-end filter split in two must equal the whole (a difference aborts); the OpenPGP
 * armor walked through a small moving window never counts where the whole-buffer walk does
 * not.
 * Owner: src/mime. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pgp_packet.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "mime/mime_int.h"
#include "mime/mime_stream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sg_mime_init();
    return 0;
}

static const char *const NAMES[] = {"From", "To", "Date"};

/* The streamed entity equals the whole-message one; the line-end filter in two pieces too. */
static void streamed_equal(const char *msg, size_t size)
{
    sg_buf want, got;
    sg_buf_init(&want, SG_MIME_MAX_OUT);
    sg_buf_init(&got, SG_MIME_MAX_OUT);
    sg_entity_stream s;
    if (sg_entity_stream_open(&s, msg, size, NAMES, 3) == 0) {
        size_t cap = 1 + (size ? (unsigned char)msg[size - 1] % 17 : 0);
        char buf[17];
        size_t n;
        while ((n = sg_entity_stream_read(&s, buf, cap)) > 0)
            sg_buf_append(&got, buf, n);
        sg_entity_stream_close(&s);
        if (sg_mime_protected_entity_with(msg, size, NAMES, 3, &want) < 0 || want.len != got.len ||
            (got.len && memcmp(want.data, got.data, got.len) != 0))
            abort();
    }
    sg_buf_reset(&want);
    sg_buf_reset(&got);
    char prev = 0;
    sg_mime_append_crlf(&want, msg, size);
    sg_crlf_piece(&prev, msg, size / 2, &got);
    sg_crlf_piece(&prev, msg + size / 2, size - size / 2, &got);
    if (want.len != got.len || (got.len && memcmp(want.data, got.data, got.len) != 0))
        abort();
    sg_buf_free(&want);
    sg_buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data;
    sg_mime_pgp p;
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    (void)sg_pgp_is_encrypted(data, size);
    (void)sg_pgp_text_is_encrypted(msg, size);
    /* The armor walked through a small moving window (issue 11) never counts as encrypted
     * what the whole-buffer walk does not; the other way round it may only where an ESK packet
     * is longer than the window (documented), so that direction is the unit test's. */
    if (size && sg_pgp_armor_is_encrypted(msg, size, 16 + data[0] % 64) >
                    sg_pgp_armor_is_encrypted(msg, size, size + 16))
        abort();
    for (size_t i = 0; sg_engines[i]; i++)
        (void)sg_engines[i]->detect(msg, size);
    if (sg_mime_detect(msg, size, &p) == 0) {
        if (p.kind == SG_MIME_PGP_ENCRYPTED) {
            (void)sg_pgp_text_is_encrypted(p.cipher, p.cipherlen);
            sg_mime_unwrap(msg, size, p.cipher, p.cipherlen, "X-Sealgate-Decryption: full\r\n", &out);
        }
        if (p.kind == SG_MIME_PGP_SIGNED) {
            /* The signed part is itself an entity: walk it like a decrypted one. */
            sg_mime_pgp inner;
            if (sg_mime_detect(p.signed_data, p.signed_len, &inner) == 0)
                sg_mime_pgp_free(&inner);
            sg_mime_unwrap(msg, size, p.signed_data, p.signed_len, "", &out);
        }
        sg_mime_pgp_free(&p);
    }
    if (sg_mime_detect_mixed_up(msg, size, &p) == 0)
        sg_mime_pgp_free(&p);
    sg_buf_reset(&out);
    sg_mime_restamp(msg, size, "X-Sealgate-Signature: none\r\n", &out);
    sg_buf_reset(&out);
    sg_mime_strip_results(msg, size, "gw.demo.test", &out);
    sg_buf_reset(&out);
    sg_mime_transportable_entity(msg, size, &out);
    sg_buf_reset(&out);
    if (sg_mime_protected_entity(msg, size, &out) == 0) {
        /* What we sign has CRLF line ends whatever came in. (Raw 8-bit in Content-* fields is
         * kept as it is, so 7-bit is not asserted here.) */
        for (size_t i = 0; i < out.len; i++)
            if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
                abort();
    }
    sg_buf_reset(&out);
    sg_mime_wrap_encrypted(msg, size, "ARMOR\n", 6, &out);
    char *from = sg_mime_from_address(msg, size);
    sg_mime_author a;
    if (sg_mime_author_of(msg, size, &a) == 0) {
        /* One reading of the header: the author bound to is the From address everyone else
         * uses (policy facts, engines), and it is an address. */
        if ((a.addr == NULL) != (from == NULL) || (a.addr && strcmp(a.addr, from) != 0) ||
            (a.addr && !strchr(a.addr, '@')))
            abort();
        sg_mime_author_free(&a);
    }
    free(from);
    sg_buf_free(&out);
    streamed_equal(msg, size);
    return 0;
}

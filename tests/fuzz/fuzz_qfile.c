/* fuzz_qfile.c - libFuzzer target for the queue file parser (and the xtext decoder under it).
 * The spool is trusted less than it looks: a torn write, a full disk or an administrator's
 * editor can leave any bytes there, and the parser must refuse them without reading past the
 * buffer. A successfully parsed file must serialise back to a file that parses to the same data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "queue/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    /* An exact-size heap copy so ASan catches any read past the end. */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, buf, len);
    sg_envelope e;
    const char *data;
    size_t dlen;
    char err[256];
    if (sg_qfile_parse(copy, len, &e, &data, &dlen, err, sizeof err) == 0) {
        sg_buf b;
        sg_buf_init(&b, 1u << 26);
        if (sg_env_serialize(&e, &b) == 0 && sg_buf_append(&b, data, dlen) == 0) {
            char tr[SG_ENV_TRAILER_LEN + 1];
            sg_env_trailer(dlen, tr);
            sg_buf_append(&b, tr, SG_ENV_TRAILER_LEN);
            sg_envelope e2;
            const char *d2;
            size_t dl2;
            if (sg_qfile_parse(b.data, b.len, &e2, &d2, &dl2, err, sizeof err) != 0 || dl2 != dlen ||
                memcmp(d2, data, dlen) != 0 || e2.nrcpt != e.nrcpt || strcmp(e2.from, e.from) != 0 ||
                e2.decrypted != e.decrypted)
                abort(); /* what we write we must read back identically */
            sg_env_free(&e2);
        }
        sg_buf_free(&b);
        sg_env_free(&e);
    }
    free(copy);
    return 0;
}

/* fuzz_control.c - libFuzzer target for the control socket's frames (lib/control_proto.h), as
 * cryptd reads them from a front end and a front end reads cryptd's answers. Checks beyond "no
 * crash": a frame that decodes encodes again and decodes to the same fields, and the header
 * never admits a payload over the maximum. A request for a reply portal operation (reply.check,
 * reply.submit; issue 12) also goes through their argument parser (engine/pdf/pdf_reply.h), as
 * cryptd parses it: what it accepts keeps its bounds and is never a PDF.
 * Owner: src/cryptd (issue 18). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pdf/pdf_reply.h"
#include "lib/control_proto.h"

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (len < SG_CTL_HDR_LEN)
        return 0;
    sg_ctl_hdr h;
    if (sg_ctl_hdr_parse(buf, &h, NULL, 0) < 0)
        return 0;
    if (h.len > SG_CTL_MAX_PAYLOAD)
        abort();
    /* The fuzzer's input after the header is the payload; a header claiming more than there is
     * is what a stream reader would wait for: cut it to what is there. */
    if (h.len > len - SG_CTL_HDR_LEN)
        h.len = (uint32_t)(len - SG_CTL_HDR_LEN);
    sg_ctl_msg m, again;
    if (sg_ctl_decode(&h, buf + SG_CTL_HDR_LEN, &m, NULL, 0) < 0)
        return 0;
    uint8_t *f;
    size_t flen;
    if (sg_ctl_encode(&m, &f, &flen, NULL, 0) < 0)
        abort(); /* whatever was accepted can be said again */
    sg_ctl_hdr h2;
    if (sg_ctl_hdr_parse(f, &h2, NULL, 0) < 0 || sg_ctl_decode(&h2, f + SG_CTL_HDR_LEN, &again, NULL, 0) < 0)
        abort();
    int ok = again.type == m.type && again.id == m.id && !strcmp(again.op, m.op) && !strcmp(again.actor, m.actor) &&
             again.nroles == m.nroles && !strcmp(again.client, m.client) && !strcmp(again.ecode, m.ecode) &&
             !strcmp(again.efield, m.efield);
    for (size_t i = 0; ok && i < m.nroles; i++)
        ok = !strcmp(again.roles[i], m.roles[i]);
    /* Optional texts the encoder fills in ("{}", "null", "") may be absent on the first decode
     * only for types that do not carry them, so for the type's own texts they must match. */
    if (m.type == SG_CTL_REQUEST)
        ok = ok && same(again.args, m.args);
    if (m.type == SG_CTL_RESULT)
        ok = ok && same(again.result, m.result);
    if (m.type == SG_CTL_ERROR)
        ok = ok && same(again.emsg, m.emsg);
    if (!ok)
        abort();
    if (m.type == SG_CTL_REQUEST && !strncmp(m.op, "reply.", 6)) {
        sg_pdf_reply_req r;
        if (sg_pdf_reply_parse(m.op, m.args, &r, NULL, 0, NULL, 0) == 0) {
            size_t total = 0;
            if (strlen(r.token) > SG_PDF_LINK_MAX || r.nfiles > SG_PDF_REPLY_FILES_MAX ||
                (r.text && strlen(r.text) > SG_PDF_REPLY_TEXT_MAX))
                abort();
            for (size_t i = 0; i < r.nfiles; i++) {
                total += r.files[i].len;
                if (sg_pdf_reply_is_pdf(r.files[i].type, r.files[i].data, r.files[i].len))
                    abort();
            }
            if (total > SG_PDF_REPLY_BYTES_MAX)
                abort();
            sg_pdf_reply_free(&r);
        }
    }
    free(f);
    sg_ctl_msg_free(&m);
    sg_ctl_msg_free(&again);
    return 0;
}

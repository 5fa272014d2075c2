/* fuzz_stamps.c - libFuzzer target for the removal of forged results (src/mime/stamps.c): any
 * bytes as an incoming message are stripped, and then no forged result may survive for any
 * reader: GMime's parser and sealgate's own field parser find no X-Sealgate-* field and no
 * Authentication-Results in our name, and stripping again changes nothing (a removal never
 * joins lines into a new forgery). Owner: src/mime. */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "mime/rawmsg.h"

#define ID "gw.demo.test"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sg_mime_init();
    return 0;
}

/* GMime, as a reader's client would parse it, sees none of our results. */
static void gmime_sees_none(const char *msg, size_t len)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    if (m) {
        GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
        for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
            GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
            const char *n = g_mime_header_get_name(h), *v = g_mime_header_get_raw_value(h);
            while (n && (*n == ' ' || *n == '\t'))
                n++;
            if (n && sg_mime_is_own_result(n, strlen(n), v ? v : "", v ? strlen(v) : 0, ID))
                abort();
        }
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_buf out, again;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    sg_buf_init(&again, SG_MIME_MAX_OUT);
    if (sg_mime_strip_results((const char *)data, size, ID, &out) == 0) {
        const char *o = out.data ? out.data : "";
        if (out.len > size || sg_mime_has_results(o, out.len, ID))
            abort();
        if (sg_mime_strip_results(o, out.len, ID, &again) < 0 || again.len != out.len ||
            (out.len && memcmp(again.data, o, out.len) != 0))
            abort();
        sg_rawmsg m;
        if (sg_rawmsg_parse(o, out.len, &m) == 0) {
            for (size_t i = 0; i < m.nh; i++)
                if (sg_mime_is_own_result(m.h[i].name, m.h[i].namelen, m.h[i].value, m.h[i].valuelen, ID))
                    abort();
            sg_rawmsg_free(&m);
        }
        gmime_sees_none(o, out.len);
    }
    sg_buf_free(&again);
    sg_buf_free(&out);
    return 0;
}

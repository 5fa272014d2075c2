/* fuzz_policy.c - libFuzzer target for the policy's two parsers of outside input: a first
 * byte below 0x20 sends the rest through the rules parser (sg_policy_parse: libconfig, names,
 * regular expressions), anything else is a message from the internet going through what the
 * policy transform does to it: facts (headers, decoded Subject, attachments), evaluation of the
 * default policy with fake keys, and every message edit (strip keywords, add and remove a
 * field, attach a key). Owner: src/policy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "policy/eval.h"
#include "policy/facts.h"
#include "policy/msgedit.h"

static sg_policy *deflt;

/* libconfig 1.5's scanner leaks its string buffer when a syntax error cuts a string short
 * (strbuf_append, inside libconfig.so): not ours to fix, and not a reason to stop fuzzing. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static int fake_key(void *ctx, const char *addr, int method)
{
    (void)ctx;
    return addr && strlen(addr) % 3 == (size_t)method % 3;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sg_mime_init();
    const char *internal[] = {"demo.test"};
    char err[256];
    deflt = sg_policy_parse(sg_policy_default_text, "default", internal, 1, err, sizeof err);
    return deflt ? 0 : 1;
}

static void message(const char *msg, size_t size)
{
    sg_pfacts_holder h;
    if (sg_pfacts_from_message(&h, "alice@demo.test", msg, size) == 0) {
        const char *rcpts[] = {"bob@x.example", "carol@demo.test", h.f.from ? h.f.from : "x@y"};
        sg_pdecision dec[3];
        size_t group[3];
        sg_pkeys k = {.can_encrypt_to = fake_key, .can_sign_as = fake_key};
        if (sg_policy_eval(deflt, &h.f, &k, rcpts, 3, dec) == 0)
            sg_policy_group(dec, 3, group);
    }
    sg_pfacts_free(&h);
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    sg_medit_strip_words(msg, size, (const char *const *)deflt->keywords, SG_KW__COUNT, &out);
    sg_buf_reset(&out);
    sg_medit_add_header(msg, size, "X-Policy: fuzz", &out);
    sg_buf_reset(&out);
    sg_medit_remove_header(msg, size, "Subject", &out);
    sg_buf_reset(&out);
    sg_medit_file f = {.type = "application/pgp-keys", .filename = "k.asc", .data = "key", .len = 3};
    sg_medit_attach(msg, size, &f, 1, "0", &out);
    sg_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] < 0x20) {
        char *text = malloc(size);
        if (!text)
            return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        char err[512];
        const char *internal[] = {"demo.test"};
        sg_policy *p = sg_policy_parse(text, "fuzz", internal, 1, err, sizeof err);
        if (p) {
            /* Whatever rules parse must evaluate without harm: patterns, groups, settings. */
            static const sg_pheader hdr[] = {{"Subject", "x [encrypt]"}, {"X-Priority", "1"}};
            static const sg_pattach att[] = {{"a.pdf", "application/pdf"}};
            sg_pfacts f = {.env_from = "alice@demo.test",
                           .from = "alice@demo.test",
                           .subject = "x [encrypt]",
                           .headers = hdr,
                           .nheaders = 2,
                           .size = 100,
                           .attach = att,
                           .nattach = 1};
            const char *rcpts[] = {"bob@x.example", "carol@demo.test"};
            sg_pdecision dec[2];
            size_t group[2];
            sg_pkeys k = {.can_encrypt_to = fake_key, .can_sign_as = fake_key};
            if (sg_policy_eval(p, &f, &k, rcpts, 2, dec) == 0)
                sg_policy_group(dec, 2, group);
            sg_policy_free(p);
        }
        free(text);
        return 0;
    }
    message((const char *)data, size);
    return 0;
}

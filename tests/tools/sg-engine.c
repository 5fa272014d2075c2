/* sg-engine.c - the one engine driver of the test suites: runs one engine call, or the
 * decrypt/verify entry point over every engine (unwrap), on a message with the store and KEK
 * of a sealgate configuration, without SMTP in between, so that interop and corpus tests can
 * hand what sealgate produces to openssl cms / gpgsm / gpg / sqop and the other way round.
 * Owner: tests. Not installed, not a sealgate subcommand.
 *
 *   sg-engine -c CONF [--engine smime|pgp] protect --from A [--to B]... [--sign none|sender|domain]
 *             [--opaque] [--create] [--inline] <in >out
 *   sg-engine -c CONF [--engine ...] peel [--from A] [--rcpt B]... [--max N] [--at UNIXTIME]
 *             [--inner FILE] <in
 *   sg-engine -c CONF [--engine ...] detect <in
 *   sg-engine -c CONF [--engine ...] can-encrypt ADDR | can-sign ADDR
 *   sg-engine -c CONF unwrap [--rcpt B]... <in >out
 *   sg-engine -c CONF pdf-make --password P [--reply URL] <in >out.pdf
 * peel prints one key=value line per fact (kind, dec, reason, readable, sig, signer, from_match,
 * sig_reason, signer_aead, chain_bytes); the inner entity goes to --inner. --inline makes the
 * OpenPGP engine write inline PGP (cryptd.pgp_inline). unwrap (all engines loaded, as in cryptd)
 * writes one summary line of key=value to stderr and to stdout the message the first recipient
 * gets (the input itself when nothing changes, nothing when held). pdf-make writes the pdf
 * method's encrypted PDF of a message (the configuration's pdf.* branding). Exit status: 0 done, 1 the
 * engine or sg_unwrap returned -1 (message on stderr), 2 usage or setup error. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <limits.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kek.h"
#include "engine/pdf/pdf.h"
#include "engine/engine.h"
#include "engine/unwrap.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "mime/mime.h"

#define MAX_ADDRS 64

static int usage(void)
{
    fprintf(stderr,
            "usage: sg-engine -c CONF [--engine NAME] protect|peel|detect|can-encrypt|can-sign|unwrap ...\n");
    return 2;
}

static int read_all(FILE *f, sg_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (sg_buf_append(b, chunk, n) < 0)
            return -1;
    return ferror(f) ? -1 : 0;
}

static const char *dec_name(int d)
{
    static const char *const n[] = {"ok", "no-key", "no-integrity", "failed", "too-large"};
    return d >= 0 && d <= SG_DEC_TOO_LARGE ? n[d] : "?";
}

static const char *sig_name(int s)
{
    return s == SG_SIG_VALID ? "valid" : s == SG_SIG_INVALID ? "invalid" : "none";
}

static const char *kind_name(int k)
{
    return k == SG_LAYER_ENCRYPTED ? "encrypted" : k == SG_LAYER_SIGNED ? "signed" : "none";
}

static int protect(const sg_engine *eng, sg_config *cfg, int argc, char **argv)
{
    sg_protect_req req = {.sign = SG_SIGN_SENDER, .qid = "sg-engine"};
    const char *to[MAX_ADDRS];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            req.sender = req.env_from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc && req.nrcpt < MAX_ADDRS)
            to[req.nrcpt++] = argv[++i];
        else if (strcmp(argv[i], "--sign") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            req.sign = strcmp(m, "none") == 0     ? SG_SIGN_NONE
                       : strcmp(m, "domain") == 0 ? SG_SIGN_DOMAIN
                                                  : SG_SIGN_SENDER;
        } else if (strcmp(argv[i], "--opaque") == 0)
            req.opaque = true;
        else if (strcmp(argv[i], "--create") == 0)
            req.create_sender_key = true;
        else if (strcmp(argv[i], "--inline") == 0)
            cfg->cryptd.pgp_inline = true; /* the engine reads it at each call */
        else
            return usage();
    }
    req.rcpts = to;
    sg_buf in, out;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    char err[256] = "";
    int rc = read_all(stdin, &in) < 0 ? 2 : 0;
    if (rc == 0 && eng->protect(&req, in.data ? in.data : "", in.len, &out, err, sizeof err) < 0) {
        fprintf(stderr, "protect: %s\n", err);
        rc = 1;
    }
    if (rc == 0)
        fwrite(out.data, 1, out.len, stdout);
    sg_buf_free(&in);
    sg_buf_free(&out);
    return rc;
}

static int peel(const sg_engine *eng, int argc, char **argv)
{
    sg_peel_req req = {.max_plain = 64u << 20, .qid = "sg-engine"};
    const char *rcpts[MAX_ADDRS], *inner = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            req.from = argv[++i];
        else if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc && req.nrcpt < MAX_ADDRS)
            rcpts[req.nrcpt++] = argv[++i];
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            req.max_plain = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--inner") == 0 && i + 1 < argc)
            inner = argv[++i];
        else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc)
            req.at = (time_t)strtoll(argv[++i], NULL, 10);
        else
            return usage();
    }
    req.rcpts = rcpts;
    sg_buf in;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    if (read_all(stdin, &in) < 0)
        return 2;
    sg_layer l;
    if (eng->peel(&req, in.data ? in.data : "", in.len, &l) < 0) {
        fprintf(stderr, "peel failed\n");
        sg_buf_free(&in);
        return 1;
    }
    printf("kind=%s\n", kind_name(l.kind));
    if (l.kind == SG_LAYER_ENCRYPTED) {
        printf("dec=%s\nreason=%s\nreadable=", dec_name(l.dec), l.reason);
        for (size_t i = 0; i < req.nrcpt; i++)
            printf("%s%d", i ? "," : "", l.readable && l.readable[i]);
        printf("\n");
    }
    if (l.kind != SG_LAYER_NONE)
        printf("sig=%s\nsigner=%s\nfrom_match=%s\nsig_reason=%s\nsigner_aead=%s\nchain_bytes=%zu\n",
               sig_name(l.sig.sig), l.sig.signer, l.sig.from_match ? "yes" : "no", l.sig.reason,
               l.signer_aead ? "yes" : "no", l.signer_certlen);
    printf("inner_bytes=%zu\n", l.innerlen);
    int rc = 0;
    if (inner && l.inner) {
        FILE *f = fopen(inner, "wb");
        if (!f || fwrite(l.inner, 1, l.innerlen, f) != l.innerlen)
            rc = 2;
        if (f)
            fclose(f);
    }
    sg_layer_free(&l);
    sg_buf_free(&in);
    return rc;
}

/* sg_unwrap as cryptd runs it for incoming mail; the summary is of the first recipient's copy
 * when that one could read it, else of what the others get. */
static int unwrap(const sg_config *cfg, int argc, char **argv)
{
    const char *rcpts[MAX_ADDRS];
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc && n < MAX_ADDRS)
            rcpts[n++] = argv[++i];
        else
            return usage();
    }
    sg_buf in;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    if (read_all(stdin, &in) < 0)
        return 2;
    const char *msg = in.data ? in.data : "";
    sg_unwrap_req req = {.rcpts = rcpts, .nrcpt = n, .authserv_id = cfg->hostname,
                         .max_layers = cfg->cryptd.max_layers, .qid = "sg-engine"};
    sg_unwrap_result u;
    if (sg_unwrap(&req, msg, in.len, &u) < 0) {
        fprintf(stderr, "unwrap: error\n");
        sg_buf_free(&in);
        return 1;
    }
    bool reader = n > 0 && u.readable[0];
    const sg_unwrap_summary *s = reader ? &u.reader : &u.other;
    fprintf(stderr, "hold=%d unchanged=%d readable=%d layers=%d encrypted=%d dec=%s dec_reason=%s sig=%s sig_reason=%s "
                    "signer=%s whole=%d embedded=%d unprotected=%d reason=\"%s\"\n",
            u.hold, u.unchanged, reader, u.layers, s->encrypted, sg_unwrap_dec_name(s->dec),
            s->dec_reason[0] ? s->dec_reason : "-", sig_name(s->sig.sig), s->sig.reason[0] ? s->sig.reason : "-",
            s->sig.signer[0] ? s->sig.signer : "-", s->sig_whole, s->embedded, s->unprotected, u.reason);
    if (u.hold)
        ;
    else if (u.unchanged)
        fwrite(msg, 1, in.len, stdout);
    else if (reader)
        fwrite(u.reader_msg, 1, u.reader_len, stdout);
    else
        fwrite(u.other_msg, 1, u.other_len, stdout);
    sg_unwrap_result_free(&u);
    sg_buf_free(&in);
    return 0;
}

/* One block of 768 bytes that cairo 1.16 reallocs for the PDF surface and never frees stays
 * after cairo_debug_reset_static_data: the ASan build's leak check leaves libcairo's own
 * allocations aside (only this tool; the gateway's roles are checked by their logs). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcairo.so.2\n";
}

static int pdf_make(const sg_config *cfg, int argc, char **argv)
{
    const char *pw = NULL, *reply = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            pw = argv[++i];
        else if (strcmp(argv[i], "--reply") == 0 && i + 1 < argc)
            reply = argv[++i];
        else
            return usage();
    }
    if (!pw)
        return usage();
    sg_buf in, out;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    char err[512];
    sg_pdf_brand brand = {.cfg = &cfg->pdf, .reply_url = reply};
    int rc = read_all(stdin, &in) == 0 &&
                     sg_pdf_make(in.data ? in.data : "", in.len, &brand, pw, &out, err, sizeof err) == 0
                 ? 0
                 : 1;
    if (rc)
        fprintf(stderr, "pdf-make: %s\n", err);
    else
        fwrite(out.data, 1, out.len, stdout);
    sg_buf_free(&in);
    sg_buf_free(&out);
    return rc;
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *engname = "smime";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf = argv[++i];
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engname = argv[++i];
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    const char *cmd = argv[i++];
    if (strcmp(cmd, "pdf-make") == 0) {
        sg_config pcfg;
        char perr[512];
        if (sg_config_load(&pcfg, sg_config_default_path(conf), perr, sizeof perr) < 0) {
            fprintf(stderr, "%s\n", perr);
            return 2;
        }
        sg_mime_init();
        int prc = pdf_make(&pcfg, argc - i, argv + i);
        sg_config_free(&pcfg);
        /* The font and glyph caches pango, cairo and fontconfig keep for the process, released
         * so that the ASan build's leak check sees only what is ours. */
        pango_cairo_font_map_set_default(NULL);
        cairo_debug_reset_static_data();
        FcFini();
        return prc;
    }
    const sg_engine *eng = sg_engine_by_method(sg_method_from_name(engname));
    sg_config cfg;
    char err[512];
    if (!eng) {
        fprintf(stderr, "no engine %s\n", engname);
        return 2;
    }
    if (sg_config_load(&cfg, sg_config_default_path(conf), err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    sg_mime_init();
    char kek[PATH_MAX];
    sg_kek_path(cfg.base_dir, kek, sizeof kek);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_engine_env env = {.cfg = &cfg, .lock = &lock};
    env.st = sg_store_open(cfg.store_path, err, sizeof err);
    if (!env.st) {
        fprintf(stderr, "store: %s\n", err);
        return 2;
    }
    env.ks = sg_keystore_open(env.st, kek, 0);
    env.cs = sg_certstore_open(env.st, kek, 0);
    sg_keystore_domain_address(cfg.internal_domains.n ? cfg.internal_domains.v[0] : NULL, cfg.hostname,
                               env.domain_addr, sizeof env.domain_addr);
    int rc = 2;
    bool all = strcmp(cmd, "unwrap") == 0, ready = true; /* unwrap peels through every engine */
    for (size_t e = 0; ready && sg_engines[e]; e++)
        if (all || sg_engines[e] == eng)
            ready = sg_engines[e]->init(&env) == 0;
    if (!ready)
        fprintf(stderr, "engine init failed\n");
    else if (all)
        rc = unwrap(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "protect") == 0)
        rc = protect(eng, &cfg, argc - i, argv + i);
    else if (strcmp(cmd, "peel") == 0)
        rc = peel(eng, argc - i, argv + i);
    else if (strcmp(cmd, "detect") == 0) {
        sg_buf in;
        sg_buf_init(&in, SG_MIME_MAX_OUT);
        if (read_all(stdin, &in) == 0) {
            printf("%s\n", kind_name(eng->detect(in.data ? in.data : "", in.len)));
            rc = 0;
        }
        sg_buf_free(&in);
    } else if ((strcmp(cmd, "can-encrypt") == 0 || strcmp(cmd, "can-sign") == 0) && i < argc) {
        int r = cmd[4] == 'e' ? eng->can_encrypt_to(argv[i]) : eng->can_sign_as(argv[i]);
        printf("%d\n", r);
        rc = r < 0 ? 1 : 0;
    } else
        rc = usage();
    if (env.cs)
        sg_certstore_close(env.cs);
    if (env.ks)
        sg_keystore_close(env.ks);
    sg_store_close(env.st);
    sg_config_free(&cfg);
    return rc;
}

/* test_discover.c - the pieces of key discovery below the pipeline: z-base-32 and the WKD hash
 * against `gpg-wks-client --print-wkd-hash`, the key filter (the recipient's user ID only,
 * wrong address and garbage refused), the fetch's refusal of loopback addresses and of plain
 * HTTP, the discovery configuration, and LDAP: the RFC 4515 escaping of the address into the
 * filter, the ldap group of the configuration, a malformed helper answer. Owner: src/keys (discovery). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crypto/openpgp.h"
#include "keys/discover.h"
#include "keys/discover_filter.h"
#include "keys/discover_ldap.h"
#include "lib/config.h"
#include "lib/zbase32.h"
#include "net/fetch_int.h"

static void zbase32(void)
{
    char out[64];
    CHECK(sg_zbase32_encode((const uint8_t *)"", 0, out, sizeof out) == 0 && out[0] == '\0', "zbase32: empty");
    CHECK(sg_zbase32_encode((const uint8_t *)"\x00", 1, out, sizeof out) == 2 && strcmp(out, "yy") == 0,
          "zbase32: one zero byte is yy");
    CHECK(sg_zbase32_encode((const uint8_t *)"\xff\xff", 2, out, 4) == -1, "zbase32: too small a buffer refused");
}

/* Our hash of each local part against GnuPG's for the same address. */
static void wkd_hash(void)
{
    static const char *const addrs[] = {"carol@wkd-a.test", "Joe.Doe@Example.ORG", "a@b.test", "x+tag_1@c.test",
                                        "very.long.local.part.of.an.address.with.dots@d.test"};
    for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
        char cmd[300], gpg[128] = "", ours[33] = "";
        snprintf(cmd, sizeof cmd, "/usr/lib/gnupg/gpg-wks-client --print-wkd-hash '%s'", addrs[i]);
        FILE *p = popen(cmd, "r");
        if (p && fscanf(p, "%127s", gpg) != 1)
            gpg[0] = '\0';
        if (p)
            pclose(p);
        char local[128];
        snprintf(local, sizeof local, "%.*s", (int)(strchr(addrs[i], '@') - addrs[i]), addrs[i]);
        CHECK(sg_wkd_hash(local, ours) == 0 && gpg[0] && strcmp(ours, gpg) == 0,
              "WKD hash of %s: ours %s, gpg-wks-client %s", addrs[i], ours, gpg);
    }
}

static void filter(void)
{
    sg_pgp *p = sg_pgp_new();
    char fpr[SG_PGP_FPR_LEN + 1], got[SG_PGP_FPR_LEN + 1], why[200];
    uint8_t *pub = NULL, *out = NULL;
    size_t plen = 0, olen = 0;
    int g = sg_pgp_generate(p, "Carol <carol@x.test>", "ed25519", 0, fpr);
    CHECK(g == 0 && sg_pgp_export(p, fpr, 0, &pub, &plen) == 0, "a test key");
    int64_t now = (int64_t)time(NULL);
    CHECK(sg_discover_filter(pub, plen, "carol@x.test", now, &out, &olen, got, why, sizeof why) == 1 &&
              strcmp(got, fpr) == 0,
          "filter: the key for its own address is accepted");
    free(out);
    out = NULL;
    CHECK(sg_discover_filter(pub, plen, "CAROL@X.TEST", now, &out, &olen, got, why, sizeof why) == 1,
          "filter: the address compares without case");
    free(out);
    out = NULL;
    CHECK(sg_discover_filter(pub, plen, "other@x.test", now, &out, &olen, got, why, sizeof why) == 0 && !out &&
              strstr(why, "recipient's address"),
          "filter: another address is refused (%s)", why);
    CHECK(sg_discover_filter((const uint8_t *)"<html>nope</html>", 17, "carol@x.test", now, &out, &olen, got, why,
                             sizeof why) == 0 && !out,
          "filter: garbage is no key");
    CHECK(sg_discover_filter(pub, plen, "carol@x.test", now + 10LL * 365 * 86400, &out, &olen, got, why,
                             sizeof why) == 1,
          "filter: a key without expiry stays acceptable");
    free(out);
    free(pub);
    sg_pgp_free(p);
}

static void fetch_refusals(void)
{
    static const int ports[] = {443, 1};
    uint8_t *out = NULL;
    size_t len = 0;
    char err[256];
    sg_fetch_limits lim = {.timeout_ms = 2000, .max_size = 1024, .ports = ports, .nports = 2,
                           .flags = SG_FETCH_F_HTTPS_ONLY | SG_FETCH_F_PUBLIC_ONLY};
    int rc = sg_http_fetch_direct("http://example.test/", NULL, NULL, 0, &lim, &out, &len, err, sizeof err);
    CHECK(rc == SG_FETCH_REFUSED && strstr(err, "https only"), "https only: http:// refused (%s)", err);
    rc = sg_http_fetch_direct("https://127.0.0.1:1/x", NULL, NULL, 0, &lim, &out, &len, err, sizeof err);
    CHECK(rc == SG_FETCH_REFUSED && strstr(err, "not allowed"), "loopback refused before connecting (%s)", err);
    lim.connect_to = "public.test:443:10.1.2.3:443";
    rc = sg_http_fetch_direct("https://public.test/x", NULL, NULL, 0, &lim, &out, &len, err, sizeof err);
    CHECK(rc == SG_FETCH_REFUSED, "a name that leads to a private address is refused (%s)", err);
    rc = sg_http_fetch_direct("https://nothing-here.invalid/x", NULL, NULL, 0, &lim, &out, &len, err, sizeof err);
    CHECK(rc == SG_FETCH_NO_HOST, "a name that does not resolve is SG_FETCH_NO_HOST (%s)", err);
}

static int load(const char *text, sg_config *c, char *err, size_t errlen)
{
    char path[] = "/tmp/sg-disc-conf-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -2;
    close(fd);
    int rc = sg_config_load(c, path, err, errlen);
    unlink(path);
    return rc;
}

static void config(void)
{
    sg_config c;
    char err[300];
    CHECK(load("discovery = { sources = [\"wkd\", \"keyserver\"]; keyservers = [\"hkps://k.test\"];\n"
               " timeout = 5;\n domains = ( { domain = \"x.test\"; sources = [\"local\"]; } ); };\n",
               &c, err, sizeof err) == 0,
          "discovery configuration loads (%s)", err);
    const sg_discovery_where *w = sg_discovery_for(&c.discovery, "X.TEST"), *o = sg_discovery_for(&c.discovery, "y.test");
    CHECK(w->nsources == 1 && w->sources[0] == SG_DSRC_LOCAL && w->nkeyservers == 1,
          "a domain override, inheriting the key servers");
    CHECK(o->nsources == 2 && o->sources[0] == SG_DSRC_WKD && c.discovery.timeout == 5, "the defaults elsewhere");
    sg_config_free(&c);
    CHECK(load("\ndiscovery = { keyservers = [\"http://k.test\"]; };\n", &c, err, sizeof err) < 0 &&
              strstr(err, ":2:") && strstr(err, "https://"),
          "plain http key server refused with its line (%s)", err);
    CHECK(load("discovery = { sources = [\"wkd\", \"wkd\"]; };\n", &c, err, sizeof err) < 0, "a source twice refused");
    CHECK(load("", &c, err, sizeof err) == 0 && !sg_discovery_uses_network(&c.discovery),
          "the defaults make no network request");
    sg_config_free(&c);
}

static void ldap(void)
{
    char out[256];
    CHECK(sg_ldap_filter("(mail={address})", "a*b(c)\\d@x.test", out, sizeof out) == 0 &&
              strcmp(out, "(mail=a\\2ab\\28c\\29\\5cd@x.test)") == 0,
          "* ( ) \\ are escaped as \\XX (%s)", out);
    CHECK(sg_ldap_filter("(mail={address})", "\xc3\xa9 x@x.test", out, sizeof out) == 0 &&
              strcmp(out, "(mail=\\c3\\a9\\20x@x.test)") == 0,
          "bytes outside printable ASCII too (%s)", out);
    CHECK(sg_ldap_filter("(mail=x)", "a@x.test", out, sizeof out) < 0, "a pattern without {address} is refused");
    CHECK(sg_ldap_filter("(mail={address})", "aaaaaaaaaaaaaaaaaaaa@x.test", out, 20) < 0, "too long: refused, not cut");
    uint8_t *k = NULL;
    size_t kl = 0;
    char fpr[SG_PGP_FPR_LEN + 1], why[200];
    static const uint8_t trunc[] = {'S', 'G', 'L', '1', 1, 0, 0, 0, 9, 'x'};
    CHECK(sg_discover_ldap_answer(trunc, sizeof trunc, "a@x.test", time(NULL), &k, &kl, fpr, why, sizeof why) == -1 &&
              !k,
          "a truncated answer is an error, not \"no key\" (%s)", why);
    CHECK(sg_discover_ldap_answer((const uint8_t *)"SGL1", 4, "a@x.test", time(NULL), &k, &kl, fpr, why, sizeof why) == 0,
          "an answer without entries is \"not found\"");
    sg_config c;
    char err[300];
    CHECK(load("discovery = { domains = ( { domain = \"l.test\"; sources = [\"ldap\"]; ldap = { uri = \"ldaps://d.l.test\";"
               " base = \"dc=l\"; size_limit = 9; }; } ); };\n", &c, err, sizeof err) == 0,
          "an ldap group per domain loads (%s)", err);
    const sg_discovery_where *w = sg_discovery_for(&c.discovery, "l.test");
    CHECK(w->sources[0] == SG_DSRC_LDAP && strcmp(w->ldap.uri, "ldaps://d.l.test") == 0 && w->ldap.size_limit == 9 &&
              strcmp(w->ldap.filter, "(mail={address})") == 0 && strcmp(w->ldap.pgp_attr, "pgpKey") == 0,
          "... with the defaults for what it does not say");
    sg_config_free(&c);
    CHECK(load("discovery = { ldap = { uri = \"http://d.l.test\"; }; };\n", &c, err, sizeof err) < 0,
          "a URI other than ldap:// or ldaps:// is refused (%s)", err);
    CHECK(load("discovery = { sources = [\"ldap\"]; };\n", &c, err, sizeof err) < 0 && strstr(err, "ldap.uri"),
          "ldap as a source without a server is refused (%s)", err);
    CHECK(load("discovery = { ldap = { filter = \"(mail=x)\"; }; };\n", &c, err, sizeof err) < 0,
          "a filter without {address} is refused (%s)", err);
}

int main(void)
{
    zbase32();
    wkd_hash();
    filter();
    fetch_refusals();
    config();
    ldap();
    return CHECK_DONE();
}

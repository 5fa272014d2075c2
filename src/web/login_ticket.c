/* login_ticket.c - the sign-in's second-step ticket (login_ticket.h). Owner: src/web.
 * SECURITY: the key never leaves this file's memory; a ticket is parsed with explicit bounds
 * (no field may overrun its buffer) and its MAC compared in constant time before its name is
 * used for anything. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "web/login_ticket.h"

static unsigned char ticket_key[32];
static bool ticket_key_ok;
static pthread_once_t ticket_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    ticket_key_ok = RAND_bytes(ticket_key, sizeof ticket_key) == 1;
}

/* The MAC of "name\nexpiry\npre" in hex. */
static int ticket_mac(const char *name, long long expiry, const char *pre, char out[65])
{
    pthread_once(&ticket_once, make_key);
    if (!ticket_key_ok || strlen(name) > SG_ADMIN_NAME_MAX)
        return -1;
    char msg[SG_ADMIN_NAME_MAX + 128];
    int n = snprintf(msg, sizeof msg, "%s\n%lld\n%.64s", name, expiry, pre ? pre : "");
    unsigned char mac[32];
    unsigned len = 0;
    if (n < 0 || (size_t)n >= sizeof msg ||
        !HMAC(EVP_sha256(), ticket_key, sizeof ticket_key, (unsigned char *)msg, (size_t)n, mac, &len) || len != 32)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

int sg_web_ticket_make(const char *name, const char *pre, int64_t now, char out[SG_WEB_TICKET_MAX])
{
    char mac[65];
    long long expiry = (long long)now + SG_WEB_TICKET_TTL;
    if (ticket_mac(name, expiry, pre, mac) < 0)
        return -1;
    int n = snprintf(out, SG_WEB_TICKET_MAX, "%lld.%s.%s", expiry, mac, name);
    return n > 0 && n < SG_WEB_TICKET_MAX ? 0 : -1;
}

int sg_web_ticket_check(const char *ticket, const char *pre, int64_t now, char name[SG_ADMIN_NAME_MAX + 1])
{
    if (!ticket || strlen(ticket) >= SG_WEB_TICKET_MAX)
        return -1;
    size_t digits = strspn(ticket, "0123456789");
    if (digits == 0 || digits > 18 || ticket[digits] != '.')
        return -1;
    long long expiry = 0;
    for (size_t i = 0; i < digits; i++)
        expiry = expiry * 10 + (ticket[i] - '0');
    const char *mac = ticket + digits + 1;
    size_t rest = strlen(mac);
    if (rest < 66 || mac[64] != '.' || rest - 65 > SG_ADMIN_NAME_MAX)
        return -1;
    memcpy(name, mac + 65, rest - 65 + 1);
    char want[65];
    if (ticket_mac(name, expiry, pre, want) < 0 || CRYPTO_memcmp(want, mac, 64) != 0)
        return -1;
    return expiry >= (long long)now ? 0 : -1;
}

/* auth_throttle.c - in-memory login back-off per client address and per unknown account name
 * (auth.h). Owner: src/admin.
 * SECURITY: bounded (SLOTS keys): a flood of addresses or names evicts the least recently seen
 * key rather than growing memory; an evicted key starts again from zero, which at worst lets
 * an attacker who controls that many addresses try at the unthrottled rate, still limited per
 * account by the store's lockout. Guarded by a mutex: the web role answers on several
 * threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/auth_int.h"

#define SLOTS 4096

static struct slot {
    char key[SG_ADMIN_NAME_MAX + 8];
    int failures;
    int64_t locked_until, last;
} slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int64_t sg_auth_lock_for(int failures, int free_failures)
{
    if (failures < free_failures)
        return 0;
    int shift = failures - free_failures;
    int64_t t = SG_AUTH_LOCK_FIRST;
    while (shift-- > 0 && t < SG_AUTH_LOCK_MAX)
        t *= 2;
    return t < SG_AUTH_LOCK_MAX ? t : SG_AUTH_LOCK_MAX;
}

static struct slot *find(const char *key)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].key[0] && strcmp(slots[i].key, key) == 0)
            return &slots[i];
    return NULL;
}

int64_t sg_auth_throttle_locked(const char *key, int64_t now)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    int64_t left = s && s->locked_until > now ? s->locked_until - now : 0;
    pthread_mutex_unlock(&lock);
    return left;
}

void sg_auth_throttle_fail(const char *key, int64_t now, int free_failures)
{
    if (strlen(key) >= sizeof slots[0].key)
        return; /* longer than any name the store accepts: never an account, counted per address */
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (!s) {
        s = &slots[0];
        for (int i = 0; i < SLOTS && s->key[0]; i++)
            if (!slots[i].key[0] || slots[i].last < s->last)
                s = &slots[i];
        memset(s, 0, sizeof *s);
        strcpy(s->key, key);
    }
    s->failures++;
    s->last = now;
    int64_t t = sg_auth_lock_for(s->failures, free_failures);
    if (t)
        s->locked_until = now + t;
    pthread_mutex_unlock(&lock);
}

void sg_auth_throttle_forget(const char *key)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&lock);
}

void sg_auth_throttle_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(slots, 0, sizeof slots);
    pthread_mutex_unlock(&lock);
}

static void client_key(const char *client, char *key, size_t len)
{
    snprintf(key, len, "c:%s", client);
}

int sg_auth_client_check(const char *client, int64_t now, int64_t *retry_after, sg_op_error *err)
{
    char key[sizeof slots[0].key];
    client_key(client, key, sizeof key);
    int64_t left = sg_auth_throttle_locked(key, now);
    if (retry_after)
        *retry_after = left;
    if (!left)
        return 0;
    return sg_op_fail(err, SG_OP_LOCKED, NULL, "too many failed attempts: try again in %lld seconds",
                      (long long)left);
}

void sg_auth_client_failure(const char *client, int64_t now)
{
    char key[sizeof slots[0].key];
    client_key(client, key, sizeof key);
    sg_auth_throttle_fail(key, now, SG_AUTH_CLIENT_FREE_FAILURES);
}

void sg_auth_client_success(const char *client)
{
    char key[sizeof slots[0].key];
    client_key(client, key, sizeof key);
    sg_auth_throttle_forget(key);
}

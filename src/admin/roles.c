/* roles.c - role names (roles.h). Owner: src/admin. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/roles.h"

static const struct {
    uint32_t bit;
    const char *name, *alias;
} roles[SG_ROLE_COUNT] = {
    {SG_ROLE_ADMIN, "administrator", "admin"},     {SG_ROLE_NETWORK, "network-operator", "network"},
    {SG_ROLE_USER, "user-operator", "user"},       {SG_ROLE_CA, "ca-operator", "ca"},
    {SG_ROLE_POLICY, "policy-operator", "policy"}, {SG_ROLE_SYSTEM, "system-operator", "system"},
    {SG_ROLE_AUDITOR, "auditor", "auditor"},
};

const char *sg_role_name(uint32_t bit)
{
    for (int i = 0; i < SG_ROLE_COUNT; i++)
        if (roles[i].bit == bit)
            return roles[i].name;
    return NULL;
}

uint32_t sg_role_bit(int i)
{
    return i >= 0 && i < SG_ROLE_COUNT ? roles[i].bit : 0;
}

uint32_t sg_role_parse(const char *name)
{
    for (int i = 0; i < SG_ROLE_COUNT; i++)
        if (strcasecmp(name, roles[i].name) == 0 || strcasecmp(name, roles[i].alias) == 0)
            return roles[i].bit;
    return 0;
}

int sg_roles_parse(const char *list, uint32_t *out)
{
    uint32_t r = 0;
    char name[32];
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof name)
            return -1;
        memcpy(name, p, n);
        name[n] = '\0';
        uint32_t bit = sg_role_parse(name);
        if (!bit)
            return -1;
        r |= bit;
        p += n;
        if (*p == ',' && !*++p)
            return -1; /* trailing comma */
    }
    if (!r)
        return -1;
    *out = r;
    return 0;
}

char *sg_roles_format(uint32_t r, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < SG_ROLE_COUNT; i++)
        if (r & roles[i].bit) {
            int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? "," : "", roles[i].name);
            if (w > 0)
                used += (size_t)w;
        }
    return buf;
}

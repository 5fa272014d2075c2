/* parse_int.h - the policy parser's shared helpers, between parse.c (file, settings, entries)
 * and rules.c (rules: conditions and action chains). Owner: src/policy. Internal: only these
 * two files include it. Every helper reports "name:line: message" and returns -1 on error. */
#ifndef SG_POLICY_PARSE_INT_H
#define SG_POLICY_PARSE_INT_H

#include <libconfig.h>
#include <stdbool.h>

#include "policy/policy.h"

typedef struct px px;

int sg_px_fail(px *x, const config_setting_t *s, const char *msg);
int sg_px_string(px *x, const config_setting_t *s, char **out);
int sg_px_bool(px *x, const config_setting_t *s, int *out);
int sg_px_int(px *x, const config_setting_t *s, long long *out);
int sg_px_list(px *x, const config_setting_t *s, sg_plist *l);
int sg_px_methods(px *x, const config_setting_t *s, int methods[4]);
int sg_px_choice(px *x, const config_setting_t *s, const char *const *names, int n, int *out);
bool sg_px_failed(const px *x);

/* rules = ( { name = ...; if = { ... }; then = ( ... ); ... } ) */
int sg_px_rules(px *x, const config_setting_t *l, sg_policy *p);

#endif

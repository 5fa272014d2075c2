/* explain.c - says in words what the policy decided for each recipient and each group:
 * `sealgate policy explain` prints it, cryptd logs the one-line summaries. Owner: src/policy.
 * Nothing here decides anything: it re-reads decisions made by eval.c. */
#include "policy/explain.h"

#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

static const char *const outcome_names[] = {"deliver", "hold", "return", "delete"};

const char *sg_policy_outcome_name(int o)
{
    return o >= 0 && o <= SG_OUT_DELETE ? outcome_names[o] : "?";
}

void sg_policy_describe(const sg_pdecision *d, char *out, size_t n)
{
    const char *sign = d->sign == SG_PSIGN_DOMAIN ? "domain key" : "sender key";
    if (d->outcome != SG_OUT_DELIVER)
        snprintf(out, n, "%s: %s%s", sg_policy_outcome_name(d->outcome), d->reason,
                 d->notify ? "; the sender is told" : "");
    else if (d->encrypt && d->sign)
        snprintf(out, n, "deliver encrypted (%s) and signed (%s)", sg_method_name(d->method), sign);
    else if (d->encrypt)
        snprintf(out, n, "deliver encrypted (%s)", sg_method_name(d->method));
    else if (d->sign)
        snprintf(out, n, "deliver signed (%s, %s)", sg_method_name(d->method), sign);
    else
        snprintf(out, n, "deliver without protection");
}

static void print_action(FILE *o, const sg_paction *a, const sg_pdecision *d)
{
    fprintf(o, " %s", sg_policy_action_name(a->kind));
    if (a->kind == SG_ACT_ENCRYPT && d->encrypt)
        fprintf(o, "(%s)", sg_method_name(d->method));
    else if (a->kind == SG_ACT_SIGN && d->sign)
        fprintf(o, "(%s, %s)", sg_method_name(d->method), d->sign == SG_PSIGN_DOMAIN ? "domain" : "sender");
    else if (a->kind == SG_ACT_DECRYPT && a->notify) {
        if (a->notify & SG_PNOTIFY_WHO)
            fprintf(o, "(failure told to %s%s%s)", a->notify & SG_PNOTIFY_SENDER ? "sender" : "",
                    (a->notify & SG_PNOTIFY_WHO) == SG_PNOTIFY_WHO ? " and " : "",
                    a->notify & SG_PNOTIFY_RECIPIENT ? "recipient" : "");
        if (a->notify & SG_PHOLD_EMBEDDED)
            fprintf(o, "(hold embedded ciphertext)");
        if (a->notify & SG_PHOLD_UNPROTECTED)
            fprintf(o, "(hold unprotected headers)");
    } else if (a->arg)
        fprintf(o, "(\"%s\")", a->arg);
}

void sg_policy_explain(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const sg_pdecision *dec,
                       size_t n, FILE *o)
{
    fprintf(o, "sender      %s (envelope <%s>)\n", sg_pfacts_sender(f), f->env_from ? f->env_from : "");
    fprintf(o, "subject     %s\n", f->subject ? f->subject : "(none)");
    fprintf(o, "message     %zu bytes, %s, %s, %zu attachment(s)\n", f->size,
            f->encrypted ? "encrypted" : "not encrypted", f->is_signed ? "signed" : "not signed", f->nattach);
    for (size_t i = 0; i < f->nattach; i++)
        fprintf(o, "            attachment %s (%s)\n", f->attach[i].name ? f->attach[i].name : "(no name)",
                f->attach[i].type);
    for (size_t i = 0; i < n; i++) {
        const sg_pdecision *d = &dec[i];
        fprintf(o, "\nrecipient   %s [%s]\n", d->rcpt, sg_policy_direction_name(d->direction));
        /* Every rule up to the deciding one, with the first condition that did not hold. */
        size_t last = d->rule >= 0 ? (size_t)d->rule : p->nrules ? p->nrules - 1 : 0;
        for (size_t r = 0; r < p->nrules && r <= last; r++) {
            const char *why = NULL;
            int m = sg_policy_rule_matches(p, &p->rules[r], f, k, d->rcpt, d->direction, &why);
            fprintf(o, "  rule %zu \"%s\" (line %d): %s%s%s\n", r + 1, p->rules[r].name, p->rules[r].line,
                    m > 0   ? "matched"
                    : m < 0 ? "key lookup failed"
                            : "no, ",
                    m == 0 && why ? why : "", m > 0 && p->rules[r].cont ? " (continue)" : "");
        }
        if (d->rule < 0)
            fprintf(o, "  no rule decided: delivered unchanged\n");
        fprintf(o, "  actions  ");
        for (size_t a = 0; a < d->nchain; a++)
            print_action(o, d->chain[a], d);
        if (d->fallback && d->outcome != SG_OUT_DELIVER)
            fprintf(o, " %s (fallback)", sg_policy_outcome_name(d->outcome));
        char desc[400];
        sg_policy_describe(d, desc, sizeof desc);
        fprintf(o, "\n  outcome   %s\n", desc);
        if (d->fallback)
            fprintf(o, "  fallback  %s\n", d->reason);
        else if (d->outcome == SG_OUT_DELIVER && d->reason[0])
            fprintf(o, "  note      %s\n", d->reason);
        if (d->create_key)
            fprintf(o, "  keys      the sender's key is created if none is held\n");
    }
    size_t group[n ? n : 1];
    size_t ng = sg_policy_group(dec, n, group);
    fprintf(o, "\ngroups (%zu; each is its own message)\n", ng);
    for (size_t g = 0; g < ng; g++) {
        const sg_pdecision *first = NULL;
        fprintf(o, "  %zu:", g + 1);
        for (size_t i = 0; i < n; i++)
            if (group[i] == g) {
                fprintf(o, " %s", dec[i].rcpt);
                first = first ? first : &dec[i];
            }
        char desc[400];
        sg_policy_describe(first, desc, sizeof desc);
        fprintf(o, "\n     %s\n", desc);
    }
}

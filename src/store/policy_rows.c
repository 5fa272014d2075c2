/* policy_rows.c - the public policy calls (policy_rows.h): each dispatches to the backend.
 * Owner: src/store. */
#include "store/policy_rows.h"
#include "store/store_int.h"

int sg_store_policy_add(sg_store *s, const char *text, const char *source, int64_t loaded, int64_t *rev)
{
    return s->be->policy->add(s, text, source, loaded, rev);
}

int sg_store_policy_newest(sg_store *s, int64_t *rev)
{
    return s->be->policy->newest(s, rev);
}

int sg_store_policy_get(sg_store *s, int64_t rev, char **text, char **source, int64_t *loaded)
{
    return s->be->policy->get(s, rev, text, source, loaded);
}

/* job_rows.c - the public job calls (job_rows.h), dispatched to the backend's table. Owner:
 * src/store. */
#include "store/job_rows.h"
#include "store/store_int.h"

int sg_store_job_add(sg_store *s, const sg_store_job *j)
{
    return s->be->jobs->add(s, j);
}

int sg_store_job_get(sg_store *s, const char *id, sg_store_job *j)
{
    return s->be->jobs->get(s, id, j);
}

int sg_store_job_list(sg_store *s, size_t limit, size_t offset, sg_store_job **j, size_t *n, int64_t *total)
{
    return s->be->jobs->list(s, limit, offset, j, n, total);
}

int sg_store_job_progress(sg_store *s, const char *id, int64_t done, int64_t total, int64_t now, bool *cancel)
{
    return s->be->jobs->progress(s, id, done, total, now, cancel);
}

int sg_store_job_finish(sg_store *s, const char *id, const char *state, int64_t done, int64_t now,
                        const char *result)
{
    return s->be->jobs->finish(s, id, state, done, now, result);
}

int sg_store_job_cancel(sg_store *s, const char *id)
{
    return s->be->jobs->cancel(s, id);
}

/* notary_rows.c - dispatch of the log's store calls (notary_rows.h). Owner: src/store. */
#include <stdlib.h>

#include "store/notary_rows.h"
#include "store/store_int.h"

int sg_store_log_last(sg_store *s, sg_store_log_row *row)
{
    return s->be->notary->log_last(s, row);
}

int sg_store_log_add(sg_store *s, const sg_store_log_row *row)
{
    return s->be->notary->log_add(s, row);
}

int sg_store_log_range(sg_store *s, int64_t from, int64_t count, sg_store_log_row **rows, size_t *n)
{
    return s->be->notary->log_range(s, from, count, rows, n);
}

int sg_store_log_find(sg_store *s, const char *queue_id, int64_t *index)
{
    return s->be->notary->log_find(s, queue_id, index);
}

void sg_store_log_free(sg_store_log_row *row)
{
    if (!row)
        return;
    free(row->entry);
    free(row->frontier);
    row->entry = row->frontier = NULL;
}

int sg_store_checkpoint_add(sg_store *s, const sg_store_checkpoint *c)
{
    return s->be->notary->checkpoint_add(s, c);
}

int sg_store_checkpoint_list(sg_store *s, sg_store_checkpoint **c, size_t *n)
{
    return s->be->notary->checkpoint_list(s, c, n);
}

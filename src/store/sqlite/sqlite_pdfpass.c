/* sqlite_pdfpass.c - the SQLite backend's pdf-password calls (store/pdfpass_rows.h): table
 * pdf_passwords (the last migration of sqlite_store.c). Owner: src/store. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/pdfpass_rows.h"
#include "store/sqlite/sqlite_int.h"

static int get(sg_store *s, const char *sender, const char *rcpt, bool with_wrapped, sg_pdfpass_row *out)
{
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT wrapped, verifier, created FROM pdf_passwords WHERE sender = ? AND rcpt = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 1);
        out->verifier = v ? strdup((const char *)v) : NULL;
        out->created = sqlite3_column_int64(st, 2);
        rc = out->verifier ? 0 : sg_store_fail(s, "store: cannot read the pdf password of %s", rcpt);
        if (rc == 0 && with_wrapped)
            rc = sq_col_bytes(s, st, 0, rcpt, &out->wrapped, &out->wrapped_len);
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a pdf password");
    }
    sq_done(s, st);
    if (rc < 0)
        sg_pdfpass_row_free(out);
    return rc;
}

static int add(sg_store *s, const char *sender, const char *rcpt, const sg_pdfpass_row *row)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO pdf_passwords (sender, rcpt, wrapped, verifier, created)"
                                  " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, row->wrapped, (int)row->wrapped_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->verifier, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, row->created);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "adding a pdf password");
    sq_done(s, st);
    return rc < 0 ? -1 : sqlite3_changes(sq_of(s)->db) ? 0 : 1;
}

static int del(sg_store *s, const char *sender, const char *rcpt)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM pdf_passwords WHERE sender = ? AND rcpt = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "deleting a pdf password");
    sq_done(s, st);
    return rc < 0 ? -1 : sqlite3_changes(sq_of(s)->db) ? 0 : 1;
}

const struct sg_store_pdfpass_ops sg_sqlite_pdfpass_ops = {.get = get, .add = add, .del = del};

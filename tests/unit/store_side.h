/* store_side.h - a second SQLite connection to a test's store file, for tests that tamper with
 * rows as an attacker with the file (or another process) would: the store itself hands out no
 * database handle. Owner: tests. */
#ifndef SG_TEST_STORE_SIDE_H
#define SG_TEST_STORE_SIDE_H

#include <sqlite3.h>
#include <stdio.h>

static sqlite3 *side_db;

/* Opens the side connection to path (after sg_store_open created it); NULL on failure. */
static inline sqlite3 *side_open(const char *path)
{
    if (sqlite3_open_v2(path, &side_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "side connection to %s: %s\n", path, sqlite3_errmsg(side_db));
        sqlite3_close(side_db);
        side_db = NULL;
    } else {
        sqlite3_busy_timeout(side_db, 5000);
    }
    return side_db;
}

static inline void side_close(void)
{
    sqlite3_close(side_db);
    side_db = NULL;
}

#endif

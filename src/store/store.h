/* store.h - the database behind keys, policy and history: one interface, SQLite by default
 * (PostgreSQL for clusters comes later behind the same calls). Owner: src/store.
 * The foundation only creates the database and runs the schema migrations; later features add
 * their tables as new migrations in store.c, never by editing an applied one. */
#ifndef SG_STORE_H
#define SG_STORE_H

typedef struct sg_store sg_store;
struct sqlite3;

/* Opens (creating when missing) and migrates to the newest schema. NULL with err on failure. */
sg_store *sg_store_open(const char *path, char *err, size_t errlen);
int sg_store_schema_version(sg_store *s);
void sg_store_close(sg_store *s);
/* The SQLite handle, for modules that keep their own SQL next to their logic (src/keys).
 * Owned by the store: do not close it. */
struct sqlite3 *sg_store_db(sg_store *s);

#endif

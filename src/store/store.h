/* store.h - the database behind keys, policy and history. Owner: src/store.
 * What is true today: this opens the SQLite database and runs the migrations, and then hands
 * out the SQLite handle itself (sg_store_db): the keystore, the certificate store, the policy
 * revisions and the S/MIME validation memory speak SQL of their own through it. So a second
 * backend (PostgreSQL) cannot sit behind these calls yet; it needs the typed store interface
 * that issue 10 plans, with the SQL moved in here.
 * Later features add their tables as new migrations in store.c, never by editing an applied one. */
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

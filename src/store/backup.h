/* backup.h - the store's typed calls for backup, restore and KEK rotation. Owner: src/store.
 * A backup file is a header and a snapshot of the whole store in the backend's own form:
 *   0 magic "SGBACKUP" (8)   8 version (4) = 1   12 store kind (16, NUL-padded: "sqlite")
 *   28 schema version (4)    32 snapshot length (8)   40 SHA-256 of the snapshot (32)
 *   72 the snapshot (integers big-endian). A file shorter than the header says, or whose
 * snapshot has another digest, is refused before anything is installed.
 * SQLite's snapshot is a database file made by `VACUUM INTO` inside one read transaction: it
 * is consistent while the gateway keeps writing (WAL readers do not block writers). The
 * PostgreSQL backend answers the snapshot and the install with "use pg_dump / pg_restore": a
 * shared database is backed up with its own tools (docs/cluster.md); the header's store kind
 * keeps a backup of one kind from being fed to another.
 * SECURITY: a snapshot holds private keys wrapped by the KEK, never the KEK: backup files are
 * written 0600 and the KEK travels in a separate, passphrase-wrapped file (crypto/kekfile.h). */
#ifndef SG_STORE_BACKUP_H
#define SG_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_BACKUP_MAGIC "SGBACKUP"
#define SG_BACKUP_HEADER_LEN 72

/* Writes a backup of s to path atomically (temp file beside it, fsync, rename, fsync of the
 * directory), mode 0600. 0, or -1 with sg_store_error. */
int sg_store_backup(sg_store *s, const char *path);

/* Checks the backup at path (header, length, digest) and stages its snapshot beside the store
 * named by spec without touching that store; then opens the staged copy (which migrates it to
 * this sealgate's schema). NULL with err (a sentence for the operator) on any failure. */
sg_store *sg_store_backup_stage(const char *path, const char *spec, char *err, size_t errlen);
/* Closes staged (from sg_store_backup_stage) and puts it in place of the store named by spec,
 * atomically (rename). The caller made sure that store is empty or may be replaced and that no
 * process has it open. 0, or -1 with err. */
int sg_store_backup_install(sg_store *staged, const char *spec, char *err, size_t errlen);
/* Drops a staged copy that will not be installed. */
void sg_store_backup_discard(sg_store *staged, const char *spec);

/* 1 when the store holds keys, certificates or policy revisions, 0 when empty, -1 error. */
int sg_store_has_data(sg_store *s);

/* Visits every secret wrapped by the KEK, of every kind (OpenPGP secret keys, X.509 private
 * keys including the local CA's, the pdf method's passwords): fn gets the row's fingerprint (the
 * AAD of its wrapping; a pdf password's is "pdf-password:SENDER|RCPT") and
 * the wrapped bytes, and may set *out (malloc'd, freed here) to replace them. fn returns 0 to go
 * on; anything else stops the walk and is returned. -1 with sg_store_error on a store failure.
 * For an all-or-nothing re-wrap the caller runs it inside sg_store_begin/commit. */
typedef int (*sg_store_secret_fn)(void *ctx, const char *fpr, const uint8_t *wrapped, size_t len,
                                  uint8_t **out, size_t *outlen);
int sg_store_secrets_each(sg_store *s, sg_store_secret_fn fn, void *ctx);

/* What a backend provides (store_int.h). */
struct sg_store_backup_ops {
    /* A consistent copy of the whole store into the new file path. */
    int (*snapshot)(sg_store *s, const char *path);
    /* Where a restore stages a snapshot for the store spec (same file system, for rename). */
    void (*staging_path)(const char *spec, char *out, size_t outlen);
    /* Replaces the store spec with the staged snapshot at staged. */
    int (*install)(const char *staged, const char *spec, char *err, size_t errlen);
    int (*has_data)(sg_store *s);
    int (*secrets_each)(sg_store *s, sg_store_secret_fn fn, void *ctx);
};

#endif

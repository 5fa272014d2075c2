/* cli_pass.h - the KEK for the CLI: the passphrase that wraps an exported KEK, that file, the KEK
 * lock and the check that a KEK opens every secret of a store.
 * Owner: src/cli. */
#ifndef SG_CLI_PASS_H
#define SG_CLI_PASS_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/kek.h"
#include "lib/config.h"
#include "store/store.h"

#define SG_PASS_MAX 1024
/* Asked of a new passphrase (export, backup): shorter ones are refused. */
#define SG_PASS_MIN 10

/* The passphrase from file (a path, /dev/fd/N for a descriptor; its first line, without the
 * newline), or when file is NULL from the terminal without echo (twice when confirm). Never
 * from argv. 0 with out (NUL-terminated, *len bytes; wipe it), or -1 after saying why. */
int sg_cli_passphrase(const char *file, bool confirm, char out[SG_PASS_MAX + 1], size_t *len);

/* Writes kek wrapped under a passphrase (read as above, confirmed) to path, 0600. 0 or -1. */
int sg_cli_kekfile_write(const char *path, const sg_kek *kek, const char *passfile);
/* Reads the KEK file at path: checks its framing before asking the passphrase, then opens it.
 * 0, or -1 after saying why (truncated, corrupt, wrong passphrase...). */
int sg_cli_kekfile_read(const char *path, const char *passfile, sg_kek *kek);

/* Takes the KEK lock of cfg (flock on keys/) and finishes an interrupted rotation: the lock's
 * fd (close to release), or -1 after saying why. */
int sg_cli_kek_lock(const sg_config *cfg, sg_store *st);
/* 0 when kek unwraps every secret of st (*total of them); else 1 after saying, after refusal
 * (what is refused and why it matters), how many it does not; -1 on a store error. */
int sg_cli_kek_opens(sg_store *st, const sg_kek *kek, const char *refusal, size_t *total);

#endif

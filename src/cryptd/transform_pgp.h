/* transform_pgp.h - the OpenPGP transform of cryptd (an sg_transform_fn, see pipeline.h),
 * until the policy transform replaces it. Owner: src/cryptd (OpenPGP). Outgoing mail from
 * internal senders to external recipients with a known key is signed and encrypted by the
 * OpenPGP engine (engine_pgp.c); all mail for internal recipients goes through the single
 * decrypt/verify entry point (unwrap.c); anything else passes unchanged. docs/openpgp.md
 * describes the behaviour and the stamp fields. */
#ifndef SG_TRANSFORM_PGP_H
#define SG_TRANSFORM_PGP_H

#include <stddef.h>

#include "cryptd/pipeline.h"
#include "keys/keystore.h"
#include "lib/config.h"

/* Sets the configuration and keystore the transform uses (both must outlive it); call once,
 * before worker threads start. 0 or -1. */
int sg_transform_pgp_init(const sg_config *cfg, sg_keystore *ks);
int sg_transform_pgp(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res);

#endif

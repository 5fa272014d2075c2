/* transform_pgp.h - the PGP/MIME transform of cryptd (an sg_transform_fn, see pipeline.h).
 * Owner: src/cryptd (PGP/MIME). Outgoing mail from internal senders to external recipients
 * with a known key is signed and encrypted (RFC 3156); incoming PGP/MIME for internal
 * recipients whose secret key is held is decrypted and verified and stamped; anything else
 * passes unchanged. docs/openpgp.md describes the behaviour and the stamp fields. */
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

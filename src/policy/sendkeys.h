/* sendkeys.h - the sender's public keys for the attach_keys action ({send_keys}).
 * Owner: src/policy. Asks the method's engine (engine.h export_public) and, for an engine that
 * does not offer it, reads the public half from the keystore / certificate store itself:
 * only public material, never a secret. */
#ifndef SG_POLICY_SENDKEYS_H
#define SG_POLICY_SENDKEYS_H

#include "engine/engine.h"
#include "lib/buf.h"

/* Appends addr's public key of method to out: OpenPGP armored (application/pgp-keys), S/MIME
 * the DER certificate (application/pkix-cert). Only keys whose secret the gateway holds count
 * (the sender's own). 1 appended, 0 none, -1 error. */
int sg_policy_public_key(const sg_engine_env *env, int method, const char *addr, sg_buf *out);

#endif

/* cms_limits.h - the limits on untrusted CMS input (the design's "never traded away" list).
 * Owner: src/crypto (S/MIME). Here, below both users, because the MIME layer (mime/smime.c,
 * which decodes the body) and the CMS code of the S/MIME engine (engine/smime/cms.h) must
 * agree on them. */
#ifndef SG_CMS_LIMITS_H
#define SG_CMS_LIMITS_H

#define SG_SMIME_MAX_DER (256u << 20) /* a CMS structure larger than this is refused */
#define SG_SMIME_MAX_RECIPIENTS 1000  /* RecipientInfos looked at, recipients encrypted to */
#define SG_SMIME_MAX_SIGNERS 16       /* SignerInfos in one SignedData */
#define SG_SMIME_MAX_CERTS 64         /* certificates carried in one SignedData */

#endif

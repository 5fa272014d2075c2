/* content.h - content facts of a message at the scanning stage (docs/scanning.md "Content
 * rules"): its decoded text parts (for the `text` patterns, textpat.h), each attachment's type as
 * libmagic detects it from the bytes, whether an attachment's name claims another type than
 * its bytes have, and the member names of archives among the attachments (libarchive: zip, tar,
 * 7z and the other formats it reads, nested up to SG_CONTENT_MAX_DEPTH). Owner: src/policy.
 * SECURITY: runs in cryptd on decrypted attacker-supplied bytes: archives are read from memory
 * with limits on depth, member count and the bytes read from a member. */
#ifndef SG_POLICY_CONTENT_H
#define SG_POLICY_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#define SG_CONTENT_MAX_DEPTH 3          /* archives inside archives */
#define SG_CONTENT_MAX_MEMBERS 1000     /* member names kept, over all archives */
#define SG_CONTENT_MAX_MEMBER (16u << 20) /* bytes read of a member to look inside it */

typedef struct sg_pcontent {
    const char **texts; /* the decoded text parts (copies, owned) */
    size_t *text_lens;
    size_t ntexts;
    char **types; /* libmagic MIME type of each attachment */
    size_t ntypes;
    bool mismatch;    /* an attachment's name extension says another type than libmagic */
    char mismatch_what[200];
    char **members; /* archive member names, at every nesting level */
    size_t nmembers;
    bool archive_truncated; /* a limit stopped the walk of an archive, or it was unreadable */
} sg_pcontent;

/* Adds one MIME leaf (decoded bytes, its file name or NULL, its content type). 0 or -1. The
 * bytes are copied when they are text. magic may be NULL (no libmagic: no types). */
int sg_pcontent_add_leaf(sg_pcontent *c, void *magic, const char *name, const char *ctype, const unsigned char *data,
                         size_t len);
void sg_pcontent_free(sg_pcontent *c);

/* libmagic, opened for one scan (NULL when it cannot be loaded). */
void *sg_pcontent_magic_open(void);
void sg_pcontent_magic_close(void *m);

#endif

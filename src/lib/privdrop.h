/* privdrop.h - dropping root to a role's own user. Owner: src/lib.
 * Called by each role after it opened what it needs as root (listening socket, TLS key).
 * As non-root it does nothing, so tests and development runs work unchanged. */
#ifndef SG_PRIVDROP_H
#define SG_PRIVDROP_H

/* Returns 0 when dropped (or not root), -1 with a message in err. */
int sg_priv_drop(const char *user, const char *group, char *err, size_t errlen);
/* chown path to user:group when running as root; 0 otherwise. */
int sg_priv_chown(const char *path, const char *user, const char *group);

#endif

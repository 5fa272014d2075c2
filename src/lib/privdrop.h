/* privdrop.h - dropping root to a role's own user. Owner: src/lib.
 * Called by each role after it opened what it needs as root (listening socket, TLS key).
 * As non-root it drops nothing, so tests and development runs work unchanged; no_new_privs is
 * set either way, so nothing a role could exec ever gains privileges. */
#ifndef SG_PRIVDROP_H
#define SG_PRIVDROP_H

/* Sets no_new_privs; as root then drops to user with group as primary group (NULL: the user's
 * own from the passwd entry) plus, as supplementary groups, the group named like the user when
 * one exists (the spool gives each state to such a role group, src/master/prepare.c) and the
 * groups that list the user as a member (the store's group, users.store_group).
 * Returns 0 when dropped (or not root), -1 with a message in err. */
int sg_priv_drop(const char *user, const char *group, char *err, size_t errlen);
/* chown path to user:group (group NULL: the user's own) when running as root; 0 otherwise. */
int sg_priv_chown(const char *path, const char *user, const char *group);

#endif

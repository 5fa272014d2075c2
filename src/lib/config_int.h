/* config_int.h - shared by config.c and config_discovery.c only: the discovery group's reader
 * lives in a file of its own to keep config.c small. Owner: src/lib. */
#ifndef SG_CONFIG_INT_H
#define SG_CONFIG_INT_H

#include <libconfig.h>
#include <stddef.h>

#include "lib/config.h"

void sg_discovery_defaults(sg_discovery_cfg *d);
/* Reads the discovery group g into d. NULL, or the setting that is wrong with msg. */
config_setting_t *sg_config_load_discovery(config_setting_t *g, sg_discovery_cfg *d, char *msg, size_t msglen);
/* The ldap group of discovery or of one of its domains (config_discovery_ldap.c). */
void sg_discovery_ldap_defaults(sg_discovery_ldap *l);
config_setting_t *sg_config_load_discovery_ldap(config_setting_t *g, sg_discovery_ldap *l, char *msg, size_t msglen);

/* A number setting of group in min..max into *out: NULL, or s with msg (config_discovery.c). */
config_setting_t *sg_config_int_in(config_setting_t *s, const char *group, long min, long max, long *out, char *msg,
                                   size_t msglen);

void sg_pdf_cfg_defaults(sg_pdf_cfg *p);
/* Reads the pdf group g into p (config_pdf.c). NULL, or the setting that is wrong with msg. */
config_setting_t *sg_config_load_pdf(config_setting_t *g, sg_pdf_cfg *p, char *msg, size_t msglen);

#endif

/* config_pdf.c - the "pdf" group of the configuration: the pdf method's branding (first page),
 * the portal's address for the Reply link, the carrier mail's text and its limits
 * (docs/pdf.md, docs/configuration.md). Owner: src/lib. */
#include <stdio.h>
#include <string.h>

#include "lib/config_int.h"

void sg_pdf_cfg_defaults(sg_pdf_cfg *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->org_name, sizeof p->org_name, "%s", "sealgate");
    snprintf(p->intro, sizeof p->intro, "%s",
             "This document holds an e-mail that was sent to you confidentially. It is encrypted "
             "with a password that the sender gave you by another way. The last page explains how "
             "to answer.");
    snprintf(p->carrier, sizeof p->carrier, "%s",
             "You have received a confidential message. It is in the attached PDF document, which "
             "opens with the password the sender gave you. Any PDF reader can open it.");
    p->max_size = 50L << 20; /* smtpd.max_message_size: a 25 MB attachment is ~34 MB of base64 */
    p->link_days = 30;
    p->reply_max_bytes = 700L << 10; /* what one control frame carries as base64 (pdf_reply.h) */
}

static config_setting_t *text(config_setting_t *s, char *out, size_t width, char *msg, size_t msglen)
{
    const char *v = config_setting_get_string(s);
    if (!v || strlen(v) >= width) {
        snprintf(msg, msglen, "pdf.%s: expected a string of at most %zu bytes", config_setting_name(s), width - 1);
        return s;
    }
    snprintf(out, width, "%s", v);
    return NULL;
}

config_setting_t *sg_config_load_pdf(config_setting_t *g, sg_pdf_cfg *p, char *msg, size_t msglen)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i), *bad;
        const char *n = config_setting_name(s);
        if (strcmp(n, "org_name") == 0)
            bad = text(s, p->org_name, sizeof p->org_name, msg, msglen);
        else if (strcmp(n, "logo") == 0) {
            bad = text(s, p->logo, sizeof p->logo, msg, msglen);
            if (!bad && p->logo[0] && p->logo[0] != '/') {
                snprintf(msg, msglen, "pdf.logo: expected an absolute path to a PNG file");
                bad = s;
            }
        } else if (strcmp(n, "intro") == 0)
            bad = text(s, p->intro, sizeof p->intro, msg, msglen);
        else if (strcmp(n, "carrier") == 0)
            bad = text(s, p->carrier, sizeof p->carrier, msg, msglen);
        else if (strcmp(n, "portal_url") == 0) {
            bad = text(s, p->portal_url, sizeof p->portal_url, msg, msglen);
            if (!bad && p->portal_url[0] &&
                (strncmp(p->portal_url, "https://", 8) != 0 || strpbrk(p->portal_url, "'\\\" <>?#"))) {
                snprintf(msg, msglen, "pdf.portal_url: expected https://HOST[:PORT][/PATH] (no quotes, spaces, ? or #)");
                bad = s;
            }
        } else if (strcmp(n, "max_size") == 0)
            bad = sg_config_int_in(s, "pdf", 1024, 1L << 30, &p->max_size, msg, msglen);
        else if (strcmp(n, "link_days") == 0)
            bad = sg_config_int_in(s, "pdf", 1, 3650, &p->link_days, msg, msglen);
        else if (strcmp(n, "reply_max_bytes") == 0) /* at most SG_PDF_REPLY_BYTES_MAX */
            bad = sg_config_int_in(s, "pdf", 0, 700L << 10, &p->reply_max_bytes, msg, msglen);
        else {
            snprintf(msg, msglen, "pdf.%s: unknown setting", n);
            bad = s;
        }
        if (bad)
            return bad;
    }
    return NULL;
}

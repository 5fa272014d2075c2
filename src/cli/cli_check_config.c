/* cli_check_config.c - `sealgate check-config`: the configuration was already loaded (and its
 * errors reported with file:line) by main.c; this prints the effective values and checks what
 * loading cannot: users and group for the privilege drop, TLS files. Owner: src/cli. */
#include <stdio.h>
#include <unistd.h>

#include "admin/status.h"
#include "roles.h"
#include "store/store.h"

static const char *yesno(bool b)
{
    return b ? "true" : "false";
}

int sg_cli_check_config(const sg_config *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* The checks loading cannot make are the check-config operation's (src/admin/ops_system.c). */
    json_t *list = json_array();
    int problems = list ? sg_admin_config_problems(c, list) : 1;
    for (size_t i = 0; i < json_array_size(list); i++)
        fprintf(stderr, "problem: %s\n", json_string_value(json_array_get(list, i)));
    json_decref(list);
    printf("config:            %s\n", c->path ? c->path : "(embedded defaults)");
    char store[1024];
    sg_store_describe(c->store_path, store, sizeof store); /* never the password */
    printf("hostname:          %s\nbase_dir:          %s\nspool_dir:         %s\nstore:             %s\n",
           c->hostname, c->base_dir, c->spool_dir, store);
    printf("internal_domains: ");
    for (size_t i = 0; i < c->internal_domains.n; i++)
        printf(" %s", c->internal_domains.v[i]);
    printf("\nsmtpd.listen:      %s\nsmtpd.client_networks:", c->smtpd.listen);
    for (size_t i = 0; i < c->smtpd.client_networks.n; i++)
        printf(" %s", c->smtpd.client_networks.v[i]);
    printf("\nsmtpd limits:      max_message_size=%zu max_recipients=%d max_line_length=%d "
           "max_command_length=%d max_sessions=%d max_sessions_per_ip=%d idle_timeout=%d "
           "session_timeout=%d max_errors=%d bare_newline=%s\n",
           c->smtpd.max_message_size, c->smtpd.max_recipients, c->smtpd.max_line_length,
           c->smtpd.max_command_length, c->smtpd.max_sessions, c->smtpd.max_sessions_per_ip,
           c->smtpd.idle_timeout, c->smtpd.session_timeout, c->smtpd.max_errors,
           c->smtpd.bare_newline == SG_BARE_REJECT ? "reject" : "normalize");
    static const char *const tls_levels[] = {"none", "may", "encrypt", "verify", "fingerprint"};
    printf("relay.next_hop:    %s (tls=%s, max_connections=%d, retry %d..%ds, lifetime %ds)\n",
           c->relay.next_hop, tls_levels[c->relay.tls], c->relay.max_connections, c->relay.retry_min,
           c->relay.retry_max, c->relay.queue_lifetime);
    if (c->relay.tls != SG_TLS_NONE) {
        printf("relay TLS:         tls_ca_file=%s tls_match=", c->relay.tls_ca_file ? c->relay.tls_ca_file : "(system)");
        for (size_t i = 0; i < c->relay.tls_match.n; i++)
            printf("%s%s", i ? "," : "", c->relay.tls_match.v[i]);
        printf("%s tls_fingerprints=", c->relay.tls_match.n ? "" : "(next_hop's host)");
        for (size_t i = 0; i < c->relay.tls_fingerprints.n; i++)
            printf("%s%s", i ? "," : "", c->relay.tls_fingerprints.v[i]);
        printf("%s\n", c->relay.tls_fingerprints.n ? "" : "-");
    }
    printf("sink:              enabled=%s listen=%s maildir=%s\n", yesno(c->sink.enabled), c->sink.listen,
           c->sink.maildir);
    printf("web:               enabled=%s listen=%s max_connections=%d max_per_ip=%d max_body=%zu "
           "idle_timeout=%d session_idle=%d session_lifetime=%d hsts_max_age=%d\n",
           yesno(c->web.enabled), c->web.listen, c->web.max_connections, c->web.max_per_ip, c->web.max_body,
           c->web.idle_timeout, c->web.session_idle, c->web.session_lifetime, c->web.hsts_max_age);
    static const char *const digests[] = {"sha256", "sha384", "sha512"};
    printf("smime:             rsa_padding=%s rsa_signature=%s signing=%s digest=%s encrypt_to_sender=%s "
           "gcm_for=",
           c->smime.rsa_padding == SG_SMIME_RSA_OAEP ? "oaep" : "pkcs1",
           c->smime.rsa_signature == SG_SMIME_SIG_PSS ? "pss" : "pkcs1",
           c->smime.signing == SG_SMIME_SIGN_OPAQUE ? "opaque" : "clear", digests[c->smime.digest],
           yesno(c->smime.encrypt_to_sender));
    for (size_t i = 0; i < c->smime.gcm_for.n; i++)
        printf("%s%s", i ? "," : "", c->smime.gcm_for.v[i]);
    printf("\n");
    if (problems) {
        printf("configuration has %d problem%s\n", problems, problems == 1 ? "" : "s");
        return 1;
    }
    printf("configuration OK\n");
    return 0;
}

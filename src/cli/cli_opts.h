/* cli_opts.h - option parsing shared by the CLI commands. Owner: src/cli. */
#ifndef SG_CLI_OPTS_H
#define SG_CLI_OPTS_H

/* Parses `[--address A]` and nothing else (argv[0] is the subcommand). Sets *address (NULL
 * when not given). Returns 0, or -1 for a usage error. */
int sg_cli_address_option(int argc, char **argv, const char **address);

#endif

/* cli_opts.c - option parsing shared by the CLI commands. Owner: src/cli. */
#include "cli/cli_opts.h"

#include <getopt.h>
#include <stddef.h>

int sg_cli_address_option(int argc, char **argv, const char **address)
{
    static const struct option opts[] = {{"address", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    int c;
    *address = NULL;
    optind = 0; /* 0, not 1: fully re-initialise getopt after main's "+" (no permutation) scan */
    while ((c = getopt_long(argc, argv, "a:", opts, NULL)) != -1) {
        if (c != 'a')
            return -1;
        *address = optarg;
    }
    return optind == argc ? 0 : -1;
}

/* default.c - the policy a fresh installation runs before anyone loads one (issue 5, "The
 * shipped default policy"; docs/policy.md shows and explains it). Owner: src/policy.
 * Kept as policy text, not as built structures, so `sealgate policy show` prints exactly what
 * runs and an administrator can start editing from it. */
#include "policy/policy.h"

const char sg_policy_default_text[] =
    "# sealgate default policy (docs/policy.md)\n"
    "settings = {\n"
    "  methods = [\"smime\", \"pgp\"];    # S/MIME preferred when both exist\n"
    "  sign = \"sender\";                 # the sender's key (the domain key when none is held)\n"
    "  create_keys = true;              # an internal sender without a key gets one on first need\n"
    "  fallback = \"hold\";               # protection impossible: keep the message ...\n"
    "  notify_sender = true;            # ... and tell the sender\n"
    "  mixed = \"restrictive\";\n"
    "  keywords = { encrypt = \"[encrypt]\"; sign = \"[sign]\"; send_keys = \"{send_keys}\";\n"
    "               send_keys_pgp = \"{send_keys_pgp}\"; send_keys_smime = \"{send_keys_smime}\"; };\n"
    "};\n"
    "rules = (\n"
    "  { name = \"quarantine-virus\";     # the scanning stage found a virus (docs/scanning.md):\n"
    "    if = { virus = true; };          # kept in hold/ with the verdict as the reason\n"
    "    then = ( \"hold\" ); },\n"
    "  { name = \"encrypt-keyword\";      # [encrypt]: encryption is mandatory for this message\n"
    "    if = { direction = \"outgoing\"; keyword = \"encrypt\"; };\n"
    "    then = ( \"strip_keyword\", \"encrypt\", \"sign\", \"deliver\" );\n"
    "    fallback = \"hold\"; mixed = \"restrictive\"; },\n"

    "  { name = \"outgoing\";             # encrypt where a key is known, sign always\n"
    "    if = { direction = \"outgoing\"; };\n"
    "    then = ( \"encrypt\", \"sign\", \"deliver\" );\n"
    "    fallback = \"plain\"; },          # no key: signed, not encrypted\n"
    "  { name = \"incoming\";             # for internal recipients, from outside or inside:\n"
    "    if = { direction = [\"incoming\", \"internal\"]; };   # decrypt and verify where the gateway holds "
    "the key\n"
    "    then = ( \"decrypt\", \"deliver\" ); },\n"
    "  { name = \"other\";                # relayed mail (outside to outside): unchanged\n"
    "    then = ( \"deliver\" ); }\n"
    ");\n";

/* test_store_policy.c - the store's typed calls for policy revisions (store/policy_rows.h):
 * revisions round trip and count upwards, "no such revision" is not an error, each addition
 * changes the policy generation, and a dropped table is an error. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/policy_rows.h"
#include "store_side.h"

int main(void)
{
    char dir[] = "/tmp/sg-test-store-policy-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "policy", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (!st)
        return CHECK_DONE();
    int64_t rev = -1, r1 = 0, r2 = 0, g0 = 0, g1 = 0, loaded = 0;
    char *text = (char *)"x", *source = (char *)"y";
    CHECK(sg_store_policy_newest(st, &rev) == 0 && rev == 0, "no revision yet: newest is 0");
    CHECK(sg_store_policy_get(st, 1, &text, &source, &loaded) == 1 && !text && !source,
          "get of a missing revision: 1, nothing returned");
    CHECK(sg_store_generation(st, SG_GEN_POLICY, &g0) == 0, "the policy generation reads");
    CHECK(sg_store_policy_add(st, "rules = ();  # first\n", "a.conf", 111, &r1) == 0 &&
              sg_store_policy_add(st, "rules = ();\n", NULL, 222, &r2) == 0 && r1 >= 1 && r2 == r1 + 1,
          "two revisions added, numbered upwards (%s)", sg_store_error(st));
    CHECK(sg_store_generation(st, SG_GEN_POLICY, &g1) == 0 && g1 != g0, "adding changed the policy generation");
    CHECK(sg_store_policy_newest(st, &rev) == 0 && rev == r2, "newest is the second");
    CHECK(sg_store_policy_get(st, r1, &text, &source, &loaded) == 0 && strcmp(text, "rules = ();  # first\n") == 0 &&
              strcmp(source, "a.conf") == 0 && loaded == 111,
          "the first reads back as written, comment and source and load time");
    free(text);
    free(source);
    CHECK(sg_store_policy_get(st, r2, &text, NULL, NULL) == 0 && strcmp(text, "rules = ();\n") == 0,
          "the text alone can be asked for");
    free(text);
    CHECK(sg_store_policy_get(st, r2, &text, &source, NULL) == 0 && strcmp(source, "") == 0,
          "no source is stored as empty");
    free(text);
    free(source);

    int ok = side_once(path, "DROP TABLE policy;") == 0;
    CHECK(ok, "another connection drops the policy table");
    CHECK(sg_store_policy_newest(st, &rev) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "newest: an error, not 'no revision' (%s)", sg_store_error(st));
    CHECK(sg_store_policy_get(st, r1, &text, &source, NULL) == -1 && !text && !source,
          "get: an error, not 'no such revision'");
    CHECK(sg_store_policy_add(st, "rules = ();\n", "b", 1, &rev) == -1, "add: an error");
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}

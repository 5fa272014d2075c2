/* engine.c - the engine registry and the method names of engine.h. Owner: src/engine.
 * The engines call nothing here (their shared helpers are in layer.c), so the registry depends
 * on the engines and never the reverse. */
#include "engine/engine.h"

#include <string.h>

/* Each engine file defines its sg_engine and is listed here. */
extern const sg_engine sg_engine_pgp;   /* engine_pgp.c */
extern const sg_engine sg_engine_smime; /* engine_smime.c */
extern const sg_engine sg_engine_pdf;   /* engine_pdf.c */
const sg_engine *const sg_engines[] = {&sg_engine_smime, &sg_engine_pgp, &sg_engine_pdf, NULL};

static const char *const method_names[SG_METHOD__COUNT] = {"none", "smime", "pgp", "pdf"};

const char *sg_method_name(int method)
{
    return method >= 0 && method < SG_METHOD__COUNT ? method_names[method] : "unknown";
}

int sg_method_from_name(const char *name)
{
    for (int m = 0; m < SG_METHOD__COUNT; m++)
        if (name && strcmp(name, method_names[m]) == 0)
            return m;
    return -1;
}

const sg_engine *sg_engine_by_method(int method)
{
    for (size_t i = 0; sg_engines[i]; i++)
        if (sg_engines[i]->method == method)
            return sg_engines[i];
    return NULL;
}

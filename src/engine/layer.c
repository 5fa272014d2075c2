/* layer.c - what the engines share about one peeled layer (sg_layer, engine.h). Owner: src/engine.
 * Apart from engine.c so that the registry, which lists the engines, is not also called by them. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

void sg_layer_free(sg_layer *l)
{
    free(l->readable);
    if (l->inner_map)
        sg_mapview_free(l->inner_map); /* inner points into it */
    else
        free(l->inner);
    free(l->signer_cert);
    memset(l, 0, sizeof *l);
}

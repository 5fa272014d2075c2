/* openapi.c - /api/v1/openapi.json: the OpenAPI 3.0 document of the REST API, made from the
 * operation table (admin/ops.h) at each request, so it lists exactly the operations there are,
 * with their methods, paths, arguments, roles and errors. Owner: src/web. */
#include <stdio.h>
#include <string.h>

#include "admin/roles.h"
#include "web/web_int.h"

static json_t *schema_of(const sg_op_arg *a)
{
    json_t *s = json_object();
    switch (a->type) {
    case SG_ARG_INT:
        json_object_set_new(s, "type", json_string("integer"));
        if (a->min || a->max) {
            json_object_set_new(s, "minimum", json_integer(a->min));
            json_object_set_new(s, "maximum", json_integer(a->max));
        } else {
            json_object_set_new(s, "minimum", json_integer(0));
        }
        break;
    case SG_ARG_BOOL:
        json_object_set_new(s, "type", json_string("boolean"));
        break;
    case SG_ARG_BYTES:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "format", json_string("byte"));
        break;
    default:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "maxLength", json_integer((json_int_t)(a->max_len ? a->max_len : SG_OP_ARG_MAX_DEFAULT)));
        if (a->choices) {
            json_t *e = json_array();
            for (const char *const *c = a->choices; *c; c++)
                json_array_append_new(e, json_string(*c));
            json_object_set_new(s, "enum", e);
        }
    }
    return s;
}

static json_t *operation(const sg_op *op)
{
    json_t *o = json_object(), *params = json_array(), *props = json_object(), *required = json_array();
    json_object_set_new(o, "operationId", json_string(op->name));
    json_object_set_new(o, "summary", json_string(op->summary ? op->summary : op->name));
    json_t *tags = json_array();
    char area[64];
    snprintf(area, sizeof area, "%s", op->name);
    char *dot = strchr(area, '.');
    if (dot)
        *dot = '\0';
    json_array_append_new(tags, json_string(area));
    json_object_set_new(o, "tags", tags);
    /* Who may call it: Administrator always, Auditor for what changes nothing, and the table's. */
    json_t *roles = json_array();
    uint32_t r = op->roles | SG_ROLE_ADMIN | (op->read_only ? SG_ROLE_AUDITOR : 0);
    for (int i = 0; i < SG_ROLE_COUNT; i++)
        if (r & sg_role_bit(i))
            json_array_append_new(roles, json_string(sg_role_name(sg_role_bit(i))));
    json_object_set_new(o, "x-sealgate-roles", roles);
    json_object_set_new(o, "x-sealgate-read-only", json_boolean(op->read_only));
    for (const sg_op_arg *a = op->args; a && a->name; a++) {
        if (a->from == SG_FROM_BODY) {
            json_t *s = schema_of(a);
            if (a->help)
                json_object_set_new(s, "description", json_string(a->help));
            json_object_set_new(props, a->name, s);
            if (a->required)
                json_array_append_new(required, json_string(a->name));
            continue;
        }
        json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "name", a->name, "in", a->from == SG_FROM_PATH ? "path" : "query",
                              "required", a->from == SG_FROM_PATH || a->required, "schema", schema_of(a));
        if (a->help)
            json_object_set_new(p, "description", json_string(a->help));
        json_array_append_new(params, p);
    }
    if (json_array_size(params))
        json_object_set(o, "parameters", params);
    if (json_object_size(props)) {
        json_t *schema = json_pack("{s:s, s:O, s:b}", "type", "object", "properties", props, "additionalProperties", 0);
        if (json_array_size(required))
            json_object_set(schema, "required", required);
        json_object_set_new(o, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", json_array_size(required) > 0, "content",
                                      "application/json", "schema", schema));
    }
    json_decref(params);
    json_decref(props);
    json_decref(required);
    json_object_set_new(
        o, "responses",
        json_pack("{s:{s:s, s:{s:{s:{s:s}}}}, s:{s:s, s:{s:{s:{s:s}}}}}", "200", "description", "the operation's result",
                  "content", "application/json", "schema", "type", "object", "default", "description",
                  "an error: 400 invalid_argument, 401 unauthenticated, 403 forbidden, 404 not_found, 409 conflict, "
                  "429 locked, 500 internal, 503 unavailable",
                  "content", "application/json", "schema", "$ref", "#/components/schemas/Error"));
    return o;
}

json_t *sg_web_openapi(const sg_config *cfg)
{
    (void)cfg;
    json_t *paths = json_object();
    for (size_t i = 0; i < sg_ops_count; i++) {
        const sg_op *op = &sg_ops[i];
        if (!op->path || !op->method)
            continue;
        json_t *item = json_object_get(paths, op->path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, op->path, item);
        }
        char m[16];
        size_t k = 0;
        for (; op->method[k] && k < sizeof m - 1; k++)
            m[k] = (char)(op->method[k] | 0x20);
        m[k] = '\0';
        json_object_set_new(item, m, operation(op));
    }
    json_t *error = json_pack(
        "{s:s, s:[s], s:{s:{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type", "object", "required", "error",
        "properties", "error", "type", "object", "required", "code", "message", "properties", "code", "type", "string",
        "message", "type", "string", "field", "type", "string");
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}, s:{s:o}}, s:[{s:[]}, {s:[]}]}",
                     "openapi", "3.0.3", "info", "title", "sealgate administration API", "version", SG_VERSION,
                     "description", "Generated from the operation table (src/admin/ops_table.c); docs/web.md.", "paths",
                     paths, "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "session",
                     "type", "apiKey", "in", "cookie", "name", SG_WEB_COOKIE, "schemas", "Error", error, "security",
                     "bearer", "session");
}

/* content.c - content facts at the scanning stage (content.h). Owner: src/policy.
 * libmagic detects types from the bytes (MAGIC_MIME_TYPE); libarchive reads archives from
 * memory (every format and filter it supports); the `text` patterns are textpat.c's. A
 * name/type mismatch is judged by a short table of extensions whose type libmagic knows
 * reliably: a name not in the table is never a mismatch (no guessing). */
#include "policy/content.h"

#include <archive.h>
#include <archive_entry.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h" /* sg_policy_glob */

void *sg_pcontent_magic_open(void)
{
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (m && magic_load(m, NULL) != 0) {
        magic_close(m);
        m = NULL;
    }
    return m;
}

void sg_pcontent_magic_close(void *m)
{
    if (m)
        magic_close(m);
}

static int push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

/* The extensions whose type is judged: a name ending so must have bytes of one of the types. */
static const struct {
    const char *ext, *types[3];
} known[] = {
    {"pdf", {"application/pdf"}},
    {"txt", {"text/*", "application/x-empty", "inode/x-empty"}},
    {"jpg", {"image/jpeg"}},
    {"jpeg", {"image/jpeg"}},
    {"png", {"image/png"}},
    {"gif", {"image/gif"}},
    {"zip", {"application/zip"}},
    {"docx", {"application/vnd.openxmlformats-officedocument.*", "application/zip"}},
    {"xlsx", {"application/vnd.openxmlformats-officedocument.*", "application/zip"}},
    {"exe", {"application/vnd.microsoft.portable-executable", "application/x-dosexec"}},
};

static void check_name(sg_pcontent *c, const char *name, const char *type)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || c->mismatch)
        return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcasecmp(dot + 1, known[i].ext) != 0)
            continue;
        for (size_t k = 0; k < 3 && known[i].types[k]; k++)
            if (sg_policy_glob(known[i].types[k], type))
                return;
        c->mismatch = true;
        snprintf(c->mismatch_what, sizeof c->mismatch_what, "%.100s is %.80s", name, type);
        return;
    }
}

/* Collects member names of the archive in data (and of archives inside it). */
static void walk_archive(sg_pcontent *c, const unsigned char *data, size_t len, int depth)
{
    struct archive *a = archive_read_new();
    if (!a)
        return;
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        archive_read_free(a); /* not an archive */
        return;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *n = archive_entry_pathname(e);
        if (c->nmembers >= SG_CONTENT_MAX_MEMBERS) {
            c->archive_truncated = true;
            break;
        }
        if (push(&c->members, &c->nmembers, n ? n : "") < 0)
            break;
        if (depth + 1 >= SG_CONTENT_MAX_DEPTH || archive_entry_filetype(e) != AE_IFREG)
            continue;
        /* Look inside the member when it is an archive itself (read at most MAX_MEMBER). */
        la_int64_t sz = archive_entry_size(e);
        size_t want = sz > 0 && (size_t)sz < SG_CONTENT_MAX_MEMBER ? (size_t)sz : SG_CONTENT_MAX_MEMBER;
        unsigned char *buf = want ? malloc(want) : NULL;
        la_ssize_t got = buf ? archive_read_data(a, buf, want) : 0;
        if (got > 0)
            walk_archive(c, buf, (size_t)got, depth + 1);
        if (sz > 0 && (size_t)sz > SG_CONTENT_MAX_MEMBER)
            c->archive_truncated = true;
        free(buf);
    }
    if (r != ARCHIVE_EOF && r != ARCHIVE_OK && r != ARCHIVE_WARN)
        c->archive_truncated = true; /* unreadable from here on */
    archive_read_free(a);
}

int sg_pcontent_add_leaf(sg_pcontent *c, void *magic, const char *name, const char *ctype, const unsigned char *data,
                         size_t len)
{
    if (ctype && strncasecmp(ctype, "text/", 5) == 0 && !name) {
        const char **t = realloc(c->texts, (c->ntexts + 1) * sizeof *t);
        size_t *l = realloc(c->text_lens, (c->ntexts + 1) * sizeof *l);
        if (t)
            c->texts = t;
        if (l)
            c->text_lens = l;
        char *copy = t && l ? malloc(len + 1) : NULL;
        if (!copy)
            return -1;
        memcpy(copy, data, len);
        copy[len] = '\0';
        c->texts[c->ntexts] = copy;
        c->text_lens[c->ntexts++] = len;
        return 0;
    }
    const char *type = magic ? magic_buffer(magic, data, len) : NULL;
    if (type) {
        if (push(&c->types, &c->ntypes, type) < 0)
            return -1;
        check_name(c, name, type);
    }
    walk_archive(c, data, len, 0);
    return 0;
}

void sg_pcontent_free(sg_pcontent *c)
{
    for (size_t i = 0; i < c->ntexts; i++)
        free((char *)c->texts[i]);
    free(c->texts);
    free(c->text_lens);
    for (size_t i = 0; i < c->ntypes; i++)
        free(c->types[i]);
    free(c->types);
    for (size_t i = 0; i < c->nmembers; i++)
        free(c->members[i]);
    free(c->members);
    memset(c, 0, sizeof *c);
}

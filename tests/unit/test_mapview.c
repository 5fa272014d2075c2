/* test_mapview.c - a file seen through lib/mapview.h (issue 11: cryptd maps a large message
 * instead of reading it into the heap): the bytes are the file's and a NUL follows them even
 * when the file ends on a page boundary; giving pages back inside one of the thread's open
 * views keeps the bytes (they are read again from the file), and does nothing to a heap buffer
 * or to a view already closed; the descriptor is found only for ranges inside a view; the
 * boundary scan over a mapped body gives pages back and finds the same parts; the policy facts
 * of a mapped message (parsed through read() on the file) equal those of the same bytes in
 * the heap. Owner: src/lib (the readers: src/mime, src/policy). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/mapview.h"
#include "mime/mime.h"
#include "mime/rawmsg.h"
#include "policy/facts.h"

/* A temporary file holding len bytes of data; its descriptor (the file is already unlinked). */
static int temp_file(const char *data, size_t len)
{
    char path[] = "/tmp/sg-test-mapview-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return fd;
}

/* The resident size of the mapping that holds p, in kB (its Rss in /proc/self/smaps: what
 * this process has mapped, unlike mincore, which reports the page cache); -1 when not found. */
static long rss_kb_of(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    long rss = -1;
    int in = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
            in = (unsigned long)p >= lo && (unsigned long)p < hi;
            continue;
        }
        if (in && sscanf(line, "Rss: %ld kB", &rss) == 1)
            break;
    }
    fclose(f);
    return rss;
}

static void page_multiple(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 4 * page;
    char *d = malloc(len);
    for (size_t i = 0; i < len; i++)
        d[i] = (char)('a' + i % 26);
    int fd = temp_file(d, len);
    sg_mapview v;
    CHECK(fd >= 0 && sg_mapview_open(&v, fd, len, 0) == 0, "a file of %zu bytes (4 pages) maps", len);
    CHECK(memcmp(v.base, d, len) == 0, "the mapped bytes are the file's");
    CHECK(v.base[len] == '\0', "a NUL follows the bytes though the file ends on a page boundary");

    off_t off = 0;
    CHECK(sg_mapview_fd(v.base + page, page, &off) == fd && off == (off_t)page,
          "inside an open view: its descriptor and the file offset");
    CHECK(sg_mapview_fd(v.base + page, len, &off) == -1, "a range running past the view: none");
    CHECK(sg_mapview_fd(d, 16, &off) == -1, "a heap buffer: none");

    long touched = rss_kb_of(v.base);
    sg_mapview_release(v.base + 1, v.base + len); /* the first page is partly outside: kept */
    long released = rss_kb_of(v.base);
    CHECK(touched >= (long)(len / 1024) && released >= 0 && released <= (long)(page / 1024),
          "giving the pages back leaves only the partly covered first page resident (%ld kB, then %ld kB)",
          touched, released);
    CHECK(memcmp(v.base, d, len) == 0, "after giving them back the bytes read the same (from the file)");

    char *heap = malloc(len);
    memcpy(heap, d, len);
    sg_mapview_release(heap, heap + len);
    CHECK(memcmp(heap, d, len) == 0, "release on a heap buffer does nothing to it");
    free(heap);
    const char *old = v.base;
    sg_mapview_close(&v);
    CHECK(v.base == NULL && sg_mapview_fd(old, 16, &off) == -1, "closed: its range is no view's any more");
    sg_mapview *w = sg_mapview_new(dup(fd));
    CHECK(w && w->len == len && w->own_fd && memcmp(w->base, d, len) == 0,
          "a view of a whole file of its own (sg_mapview_new)");
    CHECK(sg_mapview_fd(w->base, len, &off) == w->fd && w->fd != fd, "its own descriptor");
    sg_mapview_free(w);
    close(fd);
    free(d);
}

static const char HEAD[] =
    "From: Alice <alice@demo.test>\r\nTo: bob@ext.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
    "--b0\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    "--b0\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n";
static const char TAIL[] = "\r\n--b0\r\nContent-Type: image/png; name=\"x.png\"\r\n\r\nPNG\r\n--b0--\r\n";

static void large_message(void)
{
    /* 5 MiB of base64 lines between the header and the last part: more than the scan's step. */
    size_t body = 5u << 20, hl = strlen(HEAD), tl = strlen(TAIL), len = hl + body + tl;
    char *m = malloc(len);
    memcpy(m, HEAD, hl);
    for (size_t i = 0; i < body; i++)
        m[hl + i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26];
    memcpy(m + hl + body, TAIL, tl);
    int fd = temp_file(m, len);
    sg_mapview v;
    CHECK(fd >= 0 && sg_mapview_open(&v, fd, len, 0) == 0, "a %zu-byte message maps", len);

    sg_rawmsg rm;
    sg_rawpart a[4], b[4];
    CHECK(sg_rawmsg_parse(v.base, len, &rm) == 0, "its header parses from the mapping");
    int na = sg_rawmsg_split(rm.body, rm.bodylen, "b0", a, 4);
    long after_scan = rss_kb_of(v.base);
    sg_rawmsg_free(&rm);
    sg_rawmsg rh;
    sg_rawmsg_parse(m, len, &rh);
    int nb = sg_rawmsg_split(rh.body, rh.bodylen, "b0", b, 4);
    int same = na == 3 && nb == 3;
    for (int i = 0; same && i < 3; i++)
        same = a[i].len == b[i].len && memcmp(a[i].data, b[i].data, a[i].len) == 0;
    sg_rawmsg_free(&rh);
    CHECK(same, "the boundary scan finds the same 3 parts in the mapping as in the heap");
    CHECK(after_scan >= 0 && after_scan < 3 * 1024,
          "the scan gave the pages behind it back: %ld kB resident of %zu kB scanned", after_scan,
          len / 1024);

    sg_pfacts_holder fm, fh;
    int rm_ = sg_pfacts_from_message(&fm, "alice@demo.test", v.base, len);
    long after_facts = rss_kb_of(v.base);
    int rh_ = sg_pfacts_from_message(&fh, "alice@demo.test", m, len);
    CHECK(rm_ == 0 && rh_ == 0, "the facts are read from the mapping and from the heap");
    CHECK(fm.f.subject && fh.f.subject && strcmp(fm.f.subject, fh.f.subject) == 0 &&
              strcmp(fm.f.subject, "Grüße") == 0,
          "the same decoded Subject (%s)", fm.f.subject ? fm.f.subject : "(none)");
    int att = fm.f.nattach == 2 && fh.f.nattach == 2;
    for (size_t i = 0; att && i < 2; i++)
        att = strcmp(fm.f.attach[i].type, fh.f.attach[i].type) == 0 &&
              ((!fm.f.attach[i].name && !fh.f.attach[i].name) ||
               (fm.f.attach[i].name && fh.f.attach[i].name &&
                strcmp(fm.f.attach[i].name, fh.f.attach[i].name) == 0));
    CHECK(att && strcmp(fm.f.attach[0].name, "report.pdf") == 0,
          "the same attachments, found by GMime reading the file (%zu and %zu)", fm.f.nattach, fh.f.nattach);
    CHECK(fm.f.size == len && fm.f.from && strcmp(fm.f.from, "alice@demo.test") == 0,
          "size and From as well");
    CHECK(after_facts >= 0 && after_facts < 3 * 1024,
          "the facts' parse kept the mapping's resident pages low: %ld kB", after_facts);
    sg_pfacts_free(&fm);
    sg_pfacts_free(&fh);
    sg_mapview_close(&v);
    close(fd);
    free(m);
}

int main(void)
{
    sg_mime_init();
    page_multiple();
    large_message();
    return CHECK_DONE();
}

/* test_control_proto.c - the control socket's frames (lib/control_proto.h): round trips, every
 * truncation of a valid frame, every length field made too large, wrong magic, version, type,
 * flags, fields out of place or repeated or missing, forbidden bytes, and frame I/O over a
 * socketpair with partial writes. Owner: src/cryptd (issue 18). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "lib/control_client.h"
#include "lib/control_proto.h"

static sg_ctl_msg sample_request(void)
{
    sg_ctl_msg m = {.type = SG_CTL_REQUEST, .id = 0x01020304};
    strcpy(m.op, "key.generate");
    strcpy(m.actor, "alice");
    strcpy(m.roles[0], "administrator");
    strcpy(m.roles[1], "auditor");
    m.nroles = 2;
    strcpy(m.client, "192.0.2.7");
    m.args = "{\"address\":\"bob@example.org\"}";
    return m;
}

static int decode_frame(const uint8_t *f, size_t len, sg_ctl_msg *out, char *err, size_t errlen)
{
    if (len < SG_CTL_HDR_LEN)
        return -1;
    sg_ctl_hdr h;
    if (sg_ctl_hdr_parse(f, &h, err, errlen) < 0)
        return -1;
    if (h.len != len - SG_CTL_HDR_LEN)
        return -1; /* the stream reader would wait for more, or see the rest as the next frame */
    return sg_ctl_decode(&h, f + SG_CTL_HDR_LEN, out, err, errlen);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void *slow_writer(void *arg)
{
    int *a = arg;
    uint8_t *f;
    size_t len;
    sg_ctl_msg m = sample_request();
    sg_ctl_encode(&m, &f, &len, NULL, 0);
    for (size_t i = 0; i < len; i++) /* one byte a write: every read is partial */
        if (write(a[0], f + i, 1) != 1)
            break;
    free(f);
    return NULL;
}

int main(void)
{
    char err[256] = "";
    uint8_t *f;
    size_t len;
    sg_ctl_msg m = sample_request(), d;

    /* Round trips of the three message types. */
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) == 0, "a request encodes");
    CHECK(decode_frame(f, len, &d, err, sizeof err) == 0, "and decodes (%s)", err);
    CHECK(d.type == SG_CTL_REQUEST && d.id == 0x01020304 && !strcmp(d.op, "key.generate") &&
              !strcmp(d.actor, "alice") && d.nroles == 2 && !strcmp(d.roles[1], "auditor") &&
              !strcmp(d.client, "192.0.2.7") && !strcmp(d.args, m.args),
          "every field survives the round trip");
    sg_ctl_msg_free(&d);

    /* Every truncation of a valid frame is refused (no prefix is a frame of its own). */
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, f, cut);
        /* also with the header's length fixed up to the cut, so the payload itself is truncated */
        if (decode_frame(t, cut, &d, err, sizeof err) == 0)
            all = 0, sg_ctl_msg_free(&d);
        if (cut >= SG_CTL_HDR_LEN) {
            put32(t + 12, (uint32_t)(cut - SG_CTL_HDR_LEN));
            sg_ctl_hdr h;
            if (cut > SG_CTL_HDR_LEN && sg_ctl_hdr_parse(t, &h, err, sizeof err) == 0 &&
                sg_ctl_decode(&h, t + SG_CTL_HDR_LEN, &d, err, sizeof err) == 0)
                all = 0, sg_ctl_msg_free(&d);
        }
        free(t);
    }
    CHECK(all, "each of the %zu truncations is refused, with the header's length or with its own", len);

    /* Every field length made larger than what follows is refused; so is the payload length. */
    all = 1;
    int fields = 0;
    for (size_t off = SG_CTL_HDR_LEN; off < len;) {
        uint32_t fl = (uint32_t)f[off + 2] << 24 | (uint32_t)f[off + 3] << 16 | (uint32_t)f[off + 4] << 8 | f[off + 5];
        uint32_t bigs[] = {fl + 1, 0x7fffffffu, 0xffffffffu, SG_CTL_MAX_PAYLOAD + 1};
        for (size_t b = 0; b < 4; b++) {
            uint8_t *t = malloc(len);
            memcpy(t, f, len);
            put32(t + off + 2, bigs[b]);
            if (decode_frame(t, len, &d, err, sizeof err) == 0)
                all = 0, sg_ctl_msg_free(&d);
            free(t);
        }
        fields++;
        off += SG_CTL_FIELD_HDR + fl;
    }
    CHECK(all && fields == 6, "an oversized length in each of the %d fields is refused", fields);
    uint8_t hdr[SG_CTL_HDR_LEN];
    memcpy(hdr, f, sizeof hdr);
    put32(hdr + 12, SG_CTL_MAX_PAYLOAD + 1);
    sg_ctl_hdr h;
    CHECK(sg_ctl_hdr_parse(hdr, &h, err, sizeof err) < 0 && strstr(err, "maximum"),
          "a payload length over the maximum is refused by the header alone (%s)", err);
    put32(hdr + 12, 0xffffffffu);
    CHECK(sg_ctl_hdr_parse(hdr, &h, err, sizeof err) < 0, "so is 0xffffffff");
    put32(hdr + 12, SG_CTL_MAX_PAYLOAD);
    CHECK(sg_ctl_hdr_parse(hdr, &h, err, sizeof err) == 0, "the maximum itself passes the header");

    /* Header fields. */
    struct { size_t at; uint8_t v; const char *what; } bad[] = {
        {0, 'X', "magic"}, {2, 0, "version 0"}, {2, 2, "version 2"}, {3, 0, "type 0"}, {3, 4, "type 4"},
        {4, 1, "a flag"}, {5, 1, "a low flag"}, {6, 1, "reserved byte"}, {7, 0x80, "reserved bit"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(hdr, f, sizeof hdr);
        hdr[bad[i].at] = bad[i].v;
        CHECK(sg_ctl_hdr_parse(hdr, &h, err, sizeof err) < 0, "wrong %s is refused (%s)", bad[i].what, err);
    }

    /* Fields: unknown, out of place, repeated, missing, with forbidden bytes. */
    struct { uint8_t type; const char *payload; size_t plen; const char *what; } fb[] = {
        {SG_CTL_REQUEST, "\0\x0a\0\0\0\0", 6, "an unknown field type"},
        {SG_CTL_REQUEST, "\0\x09\0\0\0\x01x", 7, "an error's field in a request"},
        {SG_CTL_RESULT, "\0\x01\0\0\0\x01x\0\x06\0\0\0\x02{}", 15, "an op in a result"},
        {SG_CTL_RESULT, "\0\x06\0\0\0\x02{}\0\x06\0\0\0\x02{}", 16, "a result given twice"},
        {SG_CTL_RESULT, "", 0, "a result without its field"},
        {SG_CTL_ERROR, "\0\x07\0\0\0\x01x", 7, "an error without a message"},
        {SG_CTL_ERROR, "\0\x07\0\0\0\0\0\x08\0\0\0\0", 12, "an empty error code"},
        {SG_CTL_ERROR, "\0\x07\0\0\0\x02x \0\x08\0\0\0\0", 14, "a space in a name"},
        {SG_CTL_RESULT, "\0\x06\0\0\0\x03{\0}", 9, "a NUL in a text"},
        {SG_CTL_RESULT, "\0\x06\0\0", 4, "a field header cut short"},
    };
    for (size_t i = 0; i < sizeof fb / sizeof fb[0]; i++) {
        h = (sg_ctl_hdr){.type = fb[i].type, .len = (uint32_t)fb[i].plen};
        int r = sg_ctl_decode(&h, (const uint8_t *)fb[i].payload, &d, err, sizeof err);
        CHECK(r < 0, "%s is refused (%s)", fb[i].what, err);
        if (r == 0)
            sg_ctl_msg_free(&d);
    }
    h = (sg_ctl_hdr){.type = SG_CTL_ERROR, .len = 14};
    CHECK(sg_ctl_decode(&h, (const uint8_t *)"\0\x07\0\0\0\x01x\0\x08\0\0\0\x01y", &d, err, sizeof err) == 0 &&
              !strcmp(d.ecode, "x") && !strcmp(d.emsg, "y") && !*d.efield,
          "a well-formed error decodes");
    sg_ctl_msg_free(&d);
    free(f);
    sg_ctl_msg e = {.type = SG_CTL_ERROR, .id = 9, .ecode = "invalid_argument", .efield = "address", .emsg = "bad"};
    CHECK(sg_ctl_encode(&e, &f, &len, err, sizeof err) == 0 && decode_frame(f, len, &d, err, sizeof err) == 0 &&
              !strcmp(d.efield, "address") && !strcmp(d.emsg, "bad"),
          "an error naming the argument at fault round-trips");
    sg_ctl_msg_free(&d);
    free(f);

    /* Roles: 16 pass, a 17th is refused on both sides. */
    m = sample_request();
    for (size_t i = 0; i < SG_CTL_ROLES_MAX; i++)
        snprintf(m.roles[i], sizeof m.roles[i], "r%zu", i);
    m.nroles = SG_CTL_ROLES_MAX;
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) == 0, "16 roles encode");
    uint8_t *g = malloc(len + 8);
    memcpy(g, f, len);
    memcpy(g + len, "\0\x03\0\0\0\x02r9", 8);
    put32(g + 12, (uint32_t)(len + 8 - SG_CTL_HDR_LEN));
    CHECK(decode_frame(g, len + 8, &d, err, sizeof err) < 0, "a 17th role is refused (%s)", err);
    free(g);
    free(f);
    m.nroles = SG_CTL_ROLES_MAX + 1;
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) < 0, "and not encoded");

    /* The encoder refuses what the decoder would. */
    m = sample_request();
    strcpy(m.op, "key generate");
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) < 0, "an op with a space is not encoded");
    m = sample_request();
    char *big = malloc(SG_CTL_MAX_PAYLOAD + 1);
    memset(big, 'a', SG_CTL_MAX_PAYLOAD);
    big[SG_CTL_MAX_PAYLOAD] = '\0';
    m.args = big;
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) < 0, "args of the whole maximum do not fit with the other fields");
    big[SG_CTL_MAX_PAYLOAD - 200] = '\0';
    CHECK(sg_ctl_encode(&m, &f, &len, err, sizeof err) == 0 && decode_frame(f, len, &d, err, sizeof err) == 0 &&
              strlen(d.args) == SG_CTL_MAX_PAYLOAD - 200,
          "args just under the maximum round-trip");
    sg_ctl_msg_free(&d);
    free(f);
    free(big);

    /* Frame I/O: partial writes, a clean end, an oversized header answered at once. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    pthread_create(&t, NULL, slow_writer, sv);
    int r = sg_ctl_read(sv[1], &d, 5000, err, sizeof err);
    CHECK(r == 0 && !strcmp(d.op, "key.generate"), "a frame written one byte at a time is read whole");
    if (r == 0)
        sg_ctl_msg_free(&d);
    pthread_join(t, NULL);
    memcpy(hdr, "SG\x01\x01\0\0\0\0\0\0\0\x01", 12);
    put32(hdr + 12, 0x7fffffffu);
    CHECK(write(sv[0], hdr, sizeof hdr) == sizeof hdr, "an oversized header is sent");
    r = sg_ctl_read(sv[1], &d, 60000, err, sizeof err);
    CHECK(r == -1 && strstr(err, "maximum"), "it is refused before any payload is awaited (%s)", err);
    CHECK(write(sv[0], hdr, 5) == 5, "half a header is sent");
    close(sv[0]);
    r = sg_ctl_read(sv[1], &d, 5000, err, sizeof err);
    CHECK(r == -1 && strstr(err, "inside a header"), "an end of stream inside a header is an error (%s)", err);
    r = sg_ctl_read(sv[1], &d, 5000, err, sizeof err);
    CHECK(r == 1, "an end of stream between frames is a clean end");
    close(sv[1]);

    char path[200];
    CHECK(sg_ctl_socket_path("/var/lib/sealgate", path, sizeof path) == 0 &&
              !strcmp(path, "/var/lib/sealgate/run/control.sock"),
          "the socket lives under base_dir/run");
    char longdir[150];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    CHECK(sg_ctl_socket_path(longdir, path, sizeof path) < 0, "a path sockaddr_un cannot hold is refused");
    return CHECK_DONE();
}

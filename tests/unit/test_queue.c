/* test_queue.c - envelope format, torn-file detection, spool moves, group commit, recovery. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lib/buf.h"
#include "queue/qmsg.h"
#include "queue/queue.h"

static void make_env(sg_envelope *e)
{
    sg_env_init(e);
    sg_queue_new_id(e->id);
    e->created = 1700000000;
    sg_env_set(&e->client, "192.0.2.7");
    sg_env_set(&e->helo, "client.example");
    sg_env_set(&e->from, "s\xc3\xa9nder+tag@example.org"); /* UTF-8 and '+' survive */
    sg_env_set(&e->envid, "QQ+2B123");
    sg_env_set(&e->ret, "HDRS");
    sg_env_set(&e->body, "8BITMIME");
    e->smtputf8 = true;
    sg_env_add_rcpt(e, "a@demo.test", "SUCCESS,FAILURE", "rfc822;a+40demo.test");
    sg_env_add_rcpt(e, "\"odd name\"@demo.test", NULL, NULL);
}

static char *serialize_file(const sg_envelope *e, const char *data, size_t dlen, size_t *flen)
{
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    sg_env_serialize(e, &b);
    sg_buf_append(&b, data, dlen);
    char tr[SG_ENV_TRAILER_LEN + 1];
    sg_env_trailer(dlen, tr);
    sg_buf_append(&b, tr, SG_ENV_TRAILER_LEN);
    *flen = b.len;
    return b.data;
}

static void test_roundtrip(void)
{
    sg_envelope e, p;
    make_env(&e);
    const char data[] = "Subject: x\r\n\r\nline\r\nEND 0000000000000003\n\x00\xff tail";
    size_t dlen = sizeof data - 1, flen;
    char *file = serialize_file(&e, data, dlen, &flen);
    const char *d;
    size_t dl;
    char err[128];
    CHECK(sg_qfile_parse(file, flen, &p, &d, &dl, err, sizeof err) == 0, "round trip parses");
    CHECK(dl == dlen && memcmp(d, data, dlen) == 0, "data bytes identical (incl. NUL, fake trailer)");
    CHECK(strcmp(p.id, e.id) == 0 && p.created == e.created, "id and created kept");
    CHECK(strcmp(p.from, e.from) == 0, "UTF-8 sender kept exactly");
    CHECK(strcmp(p.envid, "QQ+2B123") == 0 && strcmp(p.ret, "HDRS") == 0, "DSN ENVID and RET kept");
    CHECK(strcmp(p.body, "8BITMIME") == 0 && p.smtputf8, "BODY and SMTPUTF8 kept");
    CHECK(p.nrcpt == 2 && strcmp(p.rcpt[0].notify, "SUCCESS,FAILURE") == 0 &&
              strcmp(p.rcpt[0].orcpt, "rfc822;a+40demo.test") == 0,
          "recipient DSN parameters kept");
    CHECK(strcmp(p.rcpt[1].addr, "\"odd name\"@demo.test") == 0 && !p.rcpt[1].notify,
          "quoted local part with a space kept; absent NOTIFY stays absent");
    sg_env_free(&p);

    /* Every truncation is detected: a torn write can never look complete. */
    int torn_ok = 1;
    for (size_t cut = 0; cut < flen; cut++)
        if (sg_qfile_parse(file, cut, &p, &d, &dl, err, sizeof err) == 0) {
            torn_ok = 0;
            sg_env_free(&p);
        }
    CHECK(torn_ok, "every truncated prefix is rejected");
    /* Empty sender. */
    sg_env_set(&e.from, "");
    free(file);
    file = serialize_file(&e, "", 0, &flen);
    CHECK(sg_qfile_parse(file, flen, &p, &d, &dl, err, sizeof err) == 0 && p.from && !*p.from && dl == 0,
          "null sender and empty data round trip");
    sg_env_free(&p);
    free(file);
    /* The decrypted mark survives a round trip and is written as version 2. */
    e.decrypted = true;
    file = serialize_file(&e, "", 0, &flen);
    CHECK(strncmp(file, "SEALGATE-QUEUE 2\n", 17) == 0 && strstr(file, "\ndecrypted 1\n"),
          "decrypted output written as version 2 with its mark");
    CHECK(sg_qfile_parse(file, flen, &p, &d, &dl, err, sizeof err) == 0 && p.decrypted,
          "decrypted mark kept");
    sg_env_free(&p);
    free(file);
    /* Version 1 files (written before the mark existed) are still read, unmarked. */
    const char *v1 = "SEALGATE-QUEUE 1\nid 0123456789abcdef\nfrom \nrcpt a\ndata\nEND 0000000000000000\n";
    CHECK(sg_qfile_parse(v1, strlen(v1), &p, &d, &dl, err, sizeof err) == 0 && !p.decrypted,
          "version 1 file still read");
    sg_env_free(&p);
    const char *v1d =
        "SEALGATE-QUEUE 1\nid 0123456789abcdef\nfrom \ndecrypted 1\nrcpt a\ndata\nEND 0000000000000000\n";
    CHECK(sg_qfile_parse(v1d, strlen(v1d), &p, &d, &dl, err, sizeof err) < 0,
          "decrypted line refused in version 1");
    const char *v2bad =
        "SEALGATE-QUEUE 2\nid 0123456789abcdef\nfrom \ndecrypted 0\nrcpt a\ndata\nEND 0000000000000000\n";
    CHECK(sg_qfile_parse(v2bad, strlen(v2bad), &p, &d, &dl, err, sizeof err) < 0,
          "decrypted value other than 1 refused");
    /* Version mismatch is refused. */
    const char *v3 = "SEALGATE-QUEUE 3\nid 0123456789abcdef\nfrom \nrcpt a\ndata\nEND 0000000000000000\n";
    CHECK(sg_qfile_parse(v3, strlen(v3), &p, &d, &dl, err, sizeof err) < 0 && strstr(err, "version"),
          "unknown format version refused");
    const char *noid = "SEALGATE-QUEUE 1\nfrom \nrcpt a\ndata\nEND 0000000000000000\n";
    CHECK(sg_qfile_parse(noid, strlen(noid), &p, &d, &dl, err, sizeof err) < 0, "missing id refused");
    sg_env_free(&e);
}

static void test_names(void)
{
    char id[SG_QID_MAX], id2[SG_QID_MAX];
    sg_queue_new_id(id);
    usleep(2);
    sg_queue_new_id(id2);
    CHECK(strlen(id) == 16 && sg_queue_name_valid(id), "new id is 16 hex digits: %s", id);
    CHECK(strcmp(id, id2) < 0, "ids sort by age");
    CHECK(sg_queue_name_valid("0123456789abcdef.3"), "group output name valid");
    CHECK(!sg_queue_name_valid("../../etc/passwd") && !sg_queue_name_valid("0123456789ABCDEF") &&
              !sg_queue_name_valid("0123456789abcdef.") && !sg_queue_name_valid("0123456789abcdef/x"),
          "paths and odd names are not queue ids");
}

static int count(sg_queue *q, int state)
{
    char **n;
    size_t c;
    sg_queue_list(q, state, &n, &c);
    sg_queue_names_free(n, c);
    return (int)c;
}

static void test_spool(void)
{
    char root[] = "/tmp/sg-test-queue-XXXXXX";
    CHECK(mkdtemp(root) != NULL, "temp dir");
    sg_queue q;
    CHECK(sg_queue_open(&q, root, "unit", true) == 0, "spool created");
    sg_envelope e[3];
    sg_qwriter *w[3];
    for (int i = 0; i < 3; i++) {
        make_env(&e[i]);
        usleep(2);
        w[i] = malloc(sizeof *w[i]);
        sg_qw_open(&q, w[i], &e[i]);
        sg_qw_write(w[i], "Subject: t\r\n\r\nbody\r\n", 20);
        sg_qw_finish(w[i]);
    }
    CHECK(count(&q, SG_Q_TMP) == 3 && count(&q, SG_Q_INCOMING) == 0, "finished writers wait in tmp/");
    CHECK(sg_qw_publish(&q, w, 3, SG_Q_INCOMING) == 0, "group commit publishes the batch");
    CHECK(count(&q, SG_Q_TMP) == 0 && count(&q, SG_Q_INCOMING) == 3, "batch is in incoming/");
    sg_envelope r;
    char *file, err[128];
    const char *d;
    size_t dl;
    CHECK(sg_queue_read(&q, SG_Q_INCOMING, e[0].id, &r, &file, &d, &dl, err, sizeof err) == 0 && dl == 20 &&
              memcmp(d, "Subject: t\r\n\r\nbody\r\n", 20) == 0,
          "published message reads back");
    sg_env_free(&r);
    free(file);
    CHECK(sg_queue_move(&q, e[0].id, SG_Q_INCOMING, SG_Q_ACTIVE) == 0, "move to active");
    CHECK(sg_queue_move(&q, e[0].id, SG_Q_INCOMING, SG_Q_ACTIVE) < 0 && errno == ENOENT,
          "second claim of the same message fails with ENOENT");
    CHECK(sg_queue_find(&q, e[0].id) == SG_Q_ACTIVE, "find reports the state");
    CHECK(sg_queue_recover_active(&q) == 1 && count(&q, SG_Q_INCOMING) == 3, "recovery puts active back");
    /* A writer that is aborted leaves nothing behind. */
    sg_qwriter *a = malloc(sizeof *a);
    sg_envelope ea;
    make_env(&ea);
    sg_qw_open(&q, a, &ea);
    sg_qw_write(a, "x", 1);
    sg_qw_abort(&q, a);
    CHECK(count(&q, SG_Q_TMP) == 0, "abort removes the temp file");
    /* tmp cleaning by pid. */
    sg_qw_open(&q, a, &ea);
    CHECK(sg_queue_clean_tmp(&q, 999999) == 0 && count(&q, SG_Q_TMP) == 1, "clean_tmp spares other pids");
    CHECK(sg_queue_clean_tmp(&q, getpid()) == 1 && count(&q, SG_Q_TMP) == 0,
          "clean_tmp removes own pid's files");
    close(a->fd);
    free(a);
    sg_env_free(&ea);
    /* A whole-message write replaces an existing file (re-processing gives no duplicate). */
    char name[SG_QID_MAX];
    snprintf(name, sizeof name, "%.16s.0", e[1].id);
    sg_queue_write(&q, SG_Q_OUTGOING, name, &e[1], "one", 3);
    CHECK(sg_queue_write(&q, SG_Q_OUTGOING, name, &e[1], "two", 3) == 0 && count(&q, SG_Q_OUTGOING) == 1,
          "rewrite of the same output name replaces it");
    CHECK(sg_queue_read(&q, SG_Q_OUTGOING, name, &r, &file, &d, &dl, err, sizeof err) == 0 &&
              memcmp(d, "two", 3) == 0 && strcmp(r.id, name) == 0,
          "replacement content and id");
    sg_env_free(&r);
    free(file);
    /* A torn file in the spool is reported as malformed, not as a message. */
    int fd = openat(q.dirfd[SG_Q_INCOMING], "00000000000000ff", O_WRONLY | O_CREAT, 0640);
    CHECK(write(fd, "SEALGATE-QUEUE 1\nid 00000000000000ff\n", 37) == 37, "write torn file");
    close(fd);
    CHECK(sg_queue_read(&q, SG_Q_INCOMING, "00000000000000ff", &r, &file, &d, &dl, err, sizeof err) == -2,
          "torn file read gives -2 (%s)", err);
    char err2[128];
    sg_qmsg m;
    CHECK(sg_qmsg_open(&q, SG_Q_INCOMING, "00000000000000ff", &r, &m, err2, sizeof err2) == -2 && m.fd < 0 &&
              strcmp(err, err2) == 0,
          "piecewise open of the torn file: -2 with the same reason (%s)", err2);
    /* Piecewise reading (queue/qmsg.h): the envelope and the data as sg_queue_read sees them. */
    size_t big = 200000;
    char *payload = malloc(big);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)('a' + i % 26);
    sg_queue_write(&q, SG_Q_OUTGOING, name, &e[1], payload, big);
    char *piece = malloc(big);
    CHECK(sg_qmsg_open(&q, SG_Q_OUTGOING, name, &r, &m, err, sizeof err) == 0 && m.data_len == big &&
              strcmp(r.id, name) == 0 && r.nrcpt == e[1].nrcpt && strcmp(r.from, e[1].from) == 0,
          "piecewise open: envelope and data length");
    CHECK(sg_qmsg_read(&m, 0, piece, 10) == 0 && memcmp(piece, payload, 10) == 0 &&
              sg_qmsg_read(&m, big - 7, piece, 7) == 0 && memcmp(piece, payload + big - 7, 7) == 0,
          "piecewise read at the start and the end");
    CHECK(sg_qmsg_read(&m, big - 7, piece, 8) < 0 && errno == EINVAL, "a read past the data is refused");
    char copy[SG_QID_MAX];
    snprintf(copy, sizeof copy, "%.16s.1", e[1].id);
    CHECK(sg_qmsg_copy(&q, SG_Q_DEFERRED, copy, &r, &m) == 0 &&
              sg_queue_read(&q, SG_Q_DEFERRED, copy, &ea, &file, &d, &dl, err, sizeof err) == 0 && dl == big &&
              memcmp(d, payload, big) == 0 && strcmp(ea.id, copy) == 0,
          "piecewise copy into another state: the same data under the new name");
    sg_env_free(&ea);
    free(file);
    /* A file cut under an open reader (never done by sealgate) reads as an error, not as less. */
    char path[PATH_MAX];
    sg_queue_path(&q, SG_Q_OUTGOING, name, path, sizeof path);
    CHECK(truncate(path, (off_t)m.data_off + 1000) == 0 && sg_qmsg_read(&m, 0, piece, big) < 0 && errno == EIO,
          "data shorter than the trailer said: EIO");
    sg_qmsg_close(&m);
    sg_env_free(&r);
    free(piece);
    free(payload);
    for (int i = 0; i < 3; i++) {
        sg_env_free(&e[i]);
        free(w[i]);
    }
    sg_queue_close(&q);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void)
{
    test_roundtrip();
    test_names();
    test_spool();
    return CHECK_DONE();
}

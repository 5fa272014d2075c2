/* cli_pass.c - passphrases and passphrase-wrapped KEK files for the CLI (cli_pass.h).
 * Owner: src/cli.
 * SECURITY: a passphrase is never taken from argv (other users see it in ps); the terminal is
 * read with echo off and restored on every path; buffers holding it are wiped. */
#include "cli/cli_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crypto/kekfile.h"
#include "keys/kekrotate.h"
#include "lib/fsutil.h"

static size_t first_line(char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != '\n' && s[i] != '\r')
        i++;
    s[i] = '\0';
    return i;
}

static int from_tty(const char *prompt, char out[SG_PASS_MAX + 1], size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "sealgate: no terminal to ask the passphrase on: give --passphrase-file FILE\n");
        return -1;
    }
    struct termios old, raw;
    int have = tcgetattr(fd, &old) == 0;
    if (have) {
        raw = old;
        raw.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &raw);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* the prompt is a courtesy; the read below still works */
    }
    ssize_t n = read(fd, out, SG_PASS_MAX);
    if (have)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
    }
    close(fd);
    if (n < 0) {
        fprintf(stderr, "sealgate: cannot read the passphrase: %s\n", strerror(errno));
        return -1;
    }
    *len = first_line(out, (size_t)n);
    return 0;
}

int sg_cli_passphrase(const char *file, bool confirm, char out[SG_PASS_MAX + 1], size_t *len)
{
    if (file) {
        /* read() until the first line ends or EOF: a pipe (/dev/fd/N) has no size to ask for. */
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "sealgate: cannot read the passphrase file %s: %s\n", file, strerror(errno));
            return -1;
        }
        size_t got = 0;
        ssize_t n = 0;
        while (got <= SG_PASS_MAX && !memchr(out, '\n', got) &&
               ((n = read(fd, out + got, SG_PASS_MAX + 1 - got)) > 0 || (n < 0 && errno == EINTR)))
            got += n > 0 ? (size_t)n : 0;
        int saved = errno;
        close(fd);
        if (n < 0) {
            OPENSSL_cleanse(out, SG_PASS_MAX + 1);
            fprintf(stderr, "sealgate: cannot read the passphrase file %s: %s\n", file, strerror(saved));
            return -1;
        }
        if (got > SG_PASS_MAX && !memchr(out, '\n', SG_PASS_MAX + 1)) {
            OPENSSL_cleanse(out, SG_PASS_MAX + 1);
            fprintf(stderr, "sealgate: the passphrase is longer than %d bytes\n", SG_PASS_MAX);
            return -1;
        }
        *len = first_line(out, got > SG_PASS_MAX ? SG_PASS_MAX : got);
    } else {
        if (from_tty("Passphrase: ", out, len) < 0)
            return -1;
        if (confirm) {
            char again[SG_PASS_MAX + 1];
            size_t alen = 0;
            int rc = from_tty("Again: ", again, &alen);
            int same = rc == 0 && alen == *len && CRYPTO_memcmp(again, out, alen) == 0;
            OPENSSL_cleanse(again, sizeof again);
            if (!same) {
                OPENSSL_cleanse(out, SG_PASS_MAX + 1);
                if (rc == 0)
                    fprintf(stderr, "sealgate: the passphrases differ\n");
                return -1;
            }
        }
    }
    if (*len == 0) {
        fprintf(stderr, "sealgate: empty passphrase\n");
        return -1;
    }
    return 0;
}

int sg_cli_kekfile_write(const char *path, const sg_kek *kek, const char *passfile)
{
    char pass[SG_PASS_MAX + 1];
    size_t plen = 0;
    uint8_t file[SG_KEKFILE_LEN];
    if (sg_cli_passphrase(passfile, true, pass, &plen) < 0)
        return -1;
    int rc = -1;
    if (plen < SG_PASS_MIN)
        fprintf(stderr, "sealgate: the passphrase must have at least %d characters\n", SG_PASS_MIN);
    else if (sg_kekfile_seal(kek, pass, plen, &sg_kekfile_default, file) < 0)
        fprintf(stderr, "sealgate: cannot wrap the KEK (key derivation or cipher failed)\n");
    else if (sg_write_file_atomic(path, file, sizeof file, 0600) < 0)
        fprintf(stderr, "sealgate: cannot write %s: %s\n", path, strerror(errno));
    else
        rc = 0;
    OPENSSL_cleanse(pass, sizeof pass);
    return rc;
}

int sg_cli_kekfile_read(const char *path, const char *passfile, sg_kek *kek)
{
    char *buf = NULL, pass[SG_PASS_MAX + 1];
    size_t n = 0, plen = 0;
    if (sg_read_file(path, 4096, &buf, &n) < 0) {
        fprintf(stderr, "sealgate: cannot read the KEK file %s: %s\n", path,
                errno == EFBIG ? "too large to be a KEK file" : strerror(errno));
        return -1;
    }
    sg_kekfile_params p;
    /* Framing first: a damaged file is named so before anyone types a passphrase for it. */
    sg_kekfile_status st = sg_kekfile_parse((uint8_t *)buf, n, &p);
    if (st == SG_KEKFILE_OK) {
        if (sg_cli_passphrase(passfile, false, pass, &plen) < 0) {
            free(buf);
            return -1;
        }
        st = sg_kekfile_open((uint8_t *)buf, n, pass, plen, kek);
        OPENSSL_cleanse(pass, sizeof pass);
    }
    free(buf);
    if (st != SG_KEKFILE_OK) {
        fprintf(stderr, "sealgate: KEK file %s: %s\n", path, sg_kekfile_status_text(st));
        return -1;
    }
    return 0;
}

int sg_cli_kek_lock(const sg_config *cfg, sg_store *st)
{
    char err[512];
    int lock = sg_kek_lock(cfg->base_dir);
    if (lock < 0) {
        fprintf(stderr, "sealgate: cannot lock %s/keys: %s\n", cfg->base_dir, strerror(errno));
        return -1;
    }
    if (sg_kek_recover(cfg->base_dir, st, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: %s\n", err);
        close(lock);
        return -1;
    }
    return lock;
}

int sg_cli_kek_opens(sg_store *st, const sg_kek *kek, const char *refusal, size_t *total)
{
    char err[512], bad_fpr[130] = "";
    size_t bad = 0;
    if (sg_kek_check(st, kek, total, &bad, bad_fpr, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: %s\n", err);
        return -1;
    }
    if (!bad)
        return 0;
    fprintf(stderr, "sealgate: %s: the KEK does not unwrap %zu of the %zu secrets (first: %s)\n", refusal,
            bad, *total, bad_fpr);
    return 1;
}

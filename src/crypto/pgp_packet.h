/* pgp_packet.h - the few OpenPGP packet encodings (RFC 4880 4.2, 3.2) that sealgate writes or
 * reads itself, for the signatures it makes with OpenSSL (pgp_certify.c, pgp_rsasign.c), and
 * the packet structure that makes a message count as encrypted (pgp_encrypted.c).
 * Owner: src/crypto. Everything else about OpenPGP is librnp's job. */
#ifndef SG_PGP_PACKET_H
#define SG_PGP_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* The tag and body of the first packet of a binary stream (old or new format, no partial
 * lengths); 0 or -1. */
int sg_pgp_first_packet(const uint8_t *p, size_t len, int *tag, const uint8_t **body, size_t *blen);
/* pgp_encrypted.c: 1 when the binary message parses as OpenPGP encryption (one or more PKESK
 * or SKESK packets, then one SEIPD or AEAD packet that ends it, sane versions and lengths),
 * else 0. No keys are used. */
int sg_pgp_is_encrypted(const uint8_t *p, size_t len);
/* The same for an ASCII-armored PGP MESSAGE (dearmored first; an END line is required) or for
 * binary OpenPGP given as it is; leading whitespace is skipped. */
int sg_pgp_text_is_encrypted(const char *t, size_t n);
/* The base64 lines of an armored message (after its header's empty line, up to and with the
 * END line) decoded in a moving window of win bytes (at least 16) instead of whole: what
 * sg_pgp_text_is_encrypted does with 64 KiB (issue 11). Exposed so that tests cross the
 * window's edges with small inputs. */
int sg_pgp_armor_is_encrypted(const char *t, size_t n, size_t win);
/* Writes v (big-endian, n bytes, leading zeros dropped) as an MPI; returns the bytes written
 * (at most n + 2). */
size_t sg_pgp_put_mpi(uint8_t *out, const uint8_t *v, size_t n);
/* Reads an MPI at *off of b (len bytes): *v points into b, *n its byte length; 0 or -1. */
int sg_pgp_get_mpi(const uint8_t *b, size_t len, size_t *off, const uint8_t **v, size_t *n);
/* Writes a new-format packet header for tag and body length len; returns its size (2, 3, 6). */
size_t sg_pgp_put_header(uint8_t *out, int tag, size_t len);
/* n bytes from 2n hex digits; 0 or -1. */
int sg_pgp_hexbytes(const char *hex, uint8_t *out, size_t n);

/* What sealgate's own v4 signatures share (RFC 4880 5.2.3): hashed subpackets creation time (2)
 * and issuer fingerprint (33), unhashed issuer key ID (16). The digest covers the signed data,
 * then head, then trailer; the packet body is sg_pgp_sig_body followed by the MPIs. */
typedef struct sg_pgp_sig {
    uint8_t head[6 + 29]; /* version 4, type, key algorithm, hash algorithm, hashed subpackets */
    uint8_t trailer[6];   /* 0x04 0xFF, length of head */
    uint8_t unhashed[12]; /* length, issuer key ID */
} sg_pgp_sig;
void sg_pgp_sig_init(sg_pgp_sig *s, int type, int pkalg, int halg, uint32_t created, const uint8_t fpr[20]);
/* head | unhashed | the digest's first two bytes, into out; returns the bytes written. */
size_t sg_pgp_sig_body(const sg_pgp_sig *s, const uint8_t digest[2], uint8_t *out);
void sg_pgp_put32(uint8_t *out, uint32_t v);

#endif

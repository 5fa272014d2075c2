/* control_proto.h - the frames of the control socket (docs/control.md): how the CLI and the web
 * role ask cryptd to run an operation, and how cryptd answers. Owner: src/cryptd (issue 18).
 *
 * SECURITY: the decoder reads bytes from another process (the web role faces the network, so a
 * compromised web role is the peer to expect). Every frame has a fixed 16-byte header with a
 * hard payload maximum (SG_CTL_MAX_PAYLOAD) checked before anything is allocated; the payload is
 * a list of typed fields (TLV), each bounded per type, each length checked against what is left
 * before it is used; an unknown message type, field type, flag or version, a field that does
 * not belong to the message type, one given twice, or a required one missing is refused. Text
 * fields never contain NUL; names (op, actor, role, client) only printable ASCII.
 *
 * It lives in lib/ because it needs nothing above libc and three roles speak it (cryptd serves,
 * the CLI and the web role ask): a role's folder would make the others include a role. */
#ifndef SG_CONTROL_PROTO_H
#define SG_CONTROL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SG_CTL_MAGIC 0x5347u /* "SG" */
#define SG_CTL_VERSION 1u
#define SG_CTL_HDR_LEN 16u
#define SG_CTL_MAX_PAYLOAD (1u << 20) /* 1 MiB: a PKCS#12 as base64 in the args fits many times */
#define SG_CTL_FIELD_HDR 6u           /* u16 type, u32 length */

/* Bounds of the fields (bytes, without the NUL this side adds). */
#define SG_CTL_NAME_MAX 64     /* op, role, error code */
#define SG_CTL_ACTOR_MAX 128   /* account name */
#define SG_CTL_CLIENT_MAX 128  /* client address as the front end saw it */
#define SG_CTL_ROLES_MAX 16    /* role fields in one request */
#define SG_CTL_ERRMSG_MAX 1024 /* error message */

typedef enum sg_ctl_type {
    SG_CTL_REQUEST = 1, /* front end -> cryptd: run this op */
    SG_CTL_RESULT = 2,  /* cryptd -> front end: it ran, here is the result */
    SG_CTL_ERROR = 3,   /* cryptd -> front end: it did not run, or failed */
} sg_ctl_type;

typedef enum sg_ctl_field {
    SG_CTLF_OP = 1,     /* text, name: the operation of the table (admin/ops.h) */
    SG_CTLF_ACTOR = 2,  /* text, name: the account the front end acts for */
    SG_CTLF_ROLE = 3,   /* text, name: one role of that account (repeated) */
    SG_CTLF_CLIENT = 4, /* text, name: the client address (audit) */
    SG_CTLF_ARGS = 5,   /* text: the arguments as JSON */
    SG_CTLF_RESULT = 6, /* text: the result as JSON */
    SG_CTLF_ECODE = 7,  /* text, name: stable error code */
    SG_CTLF_EMSG = 8,   /* text: what went wrong, for a person */
    SG_CTLF_EFIELD = 9, /* text, name: the argument at fault (optional in an error) */
} sg_ctl_field;

typedef struct sg_ctl_hdr {
    uint8_t type;
    uint16_t flags;
    uint32_t id;
    uint32_t len; /* payload bytes */
} sg_ctl_hdr;

/* One decoded message. Text is NUL-terminated; the JSON and the error message are allocated
 * (sg_ctl_msg_free), the short names are inline. */
typedef struct sg_ctl_msg {
    uint8_t type;
    uint32_t id;
    char op[SG_CTL_NAME_MAX + 1];
    char actor[SG_CTL_ACTOR_MAX + 1];
    char roles[SG_CTL_ROLES_MAX][SG_CTL_NAME_MAX + 1];
    size_t nroles;
    char client[SG_CTL_CLIENT_MAX + 1];
    char *args;   /* REQUEST */
    char *result; /* RESULT */
    char ecode[SG_CTL_NAME_MAX + 1];
    char *emsg; /* ERROR */
    char efield[SG_CTL_NAME_MAX + 1]; /* ERROR, "" when none */
} sg_ctl_msg;

void sg_ctl_msg_free(sg_ctl_msg *m);

/* Parses a header: 0, or -1 with a reason (bad magic, version, type, flags, reserved bits, or a
 * length over SG_CTL_MAX_PAYLOAD). Called before the payload is read or allocated. */
int sg_ctl_hdr_parse(const uint8_t b[SG_CTL_HDR_LEN], sg_ctl_hdr *h, char *err, size_t errlen);

/* Decodes a payload of h->len bytes into m (zeroed first): 0, or -1 with a reason and nothing
 * to free. */
int sg_ctl_decode(const sg_ctl_hdr *h, const uint8_t *payload, sg_ctl_msg *m, char *err, size_t errlen);

/* Encodes m (type, id and the fields its type carries; NULL or empty optional fields are left
 * out) into a malloc'd frame: 0, or -1 when a field breaks its bound or the frame would exceed
 * the maximum (the sender gets the same refusal the receiver would give). */
int sg_ctl_encode(const sg_ctl_msg *m, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Frame I/O on a stream socket, whole frames despite partial reads and writes and EINTR, each
 * within timeout_ms. sg_ctl_read: 0 with a message, 1 on a clean end of stream before a header,
 * -1 on a malformed frame, an I/O error or the timeout (the caller closes the connection: after
 * a bad frame the stream cannot be resynchronised). The payload is allocated only after its
 * header passed. */
int sg_ctl_read(int fd, sg_ctl_msg *m, int timeout_ms, char *err, size_t errlen);
int sg_ctl_write(int fd, const sg_ctl_msg *m, int timeout_ms, char *err, size_t errlen);

#endif

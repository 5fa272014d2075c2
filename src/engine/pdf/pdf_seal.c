/* pdf_seal.c - the rendered PDF encrypted and given its attachments, through qpdf's C API
 * (issue 12): AES-256 with security handler revision 6 (PDF 2.0's, "AESv3"), metadata
 * encrypted, every attachment an embedded file (catalog /Names /EmbeddedFiles) with its name
 * (/F and /UF), its type (/Subtype) and its exact bytes. Owner: src/engine/pdf.
 * SECURITY: the password is the user password and never stored here; the owner password is
 * 32 random bytes thrown away, so the document's permissions cannot be lifted with a password
 * anyone knows (they are all granted anyway: the reader is the recipient). */
#include <openssl/rand.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <string.h>

#include "engine/pdf/pdf.h"

static int failed(qpdf_data q, const char *what, char *err, size_t errlen)
{
    if (!qpdf_has_error(q))
        return 0;
    qpdf_error e = qpdf_get_error(q);
    snprintf(err, errlen, "qpdf %s: %s", what, e ? qpdf_get_error_full_text(q, e) : "error");
    return -1;
}

/* One embedded file: a stream with the bytes, in a file specification. */
static qpdf_oh file_spec(qpdf_data q, const sg_pdf_file *f)
{
    qpdf_oh stream = qpdf_oh_new_stream(q);
    qpdf_oh_replace_stream_data(q, stream, f->data, f->len, qpdf_oh_new_null(q), qpdf_oh_new_null(q));
    qpdf_oh sd = qpdf_oh_get_dict(q, stream);
    qpdf_oh_replace_key(q, sd, "/Type", qpdf_oh_new_name(q, "/EmbeddedFile"));
    /* A name object: the type's "/" is written #2F, as PDF names want. */
    char sub[300];
    snprintf(sub, sizeof sub, "/%s", f->type && *f->type ? f->type : "application/octet-stream");
    qpdf_oh_replace_key(q, sd, "/Subtype", qpdf_oh_new_name(q, sub));
    qpdf_oh params = qpdf_oh_new_dictionary(q);
    qpdf_oh_replace_key(q, params, "/Size", qpdf_oh_new_integer(q, (long long)f->len));
    qpdf_oh_replace_key(q, sd, "/Params", params);
    qpdf_oh ef = qpdf_oh_new_dictionary(q);
    qpdf_oh_replace_key(q, ef, "/F", stream);
    qpdf_oh_replace_key(q, ef, "/UF", stream);
    qpdf_oh spec = qpdf_oh_new_dictionary(q);
    qpdf_oh_replace_key(q, spec, "/Type", qpdf_oh_new_name(q, "/Filespec"));
    qpdf_oh_replace_key(q, spec, "/F", qpdf_oh_new_unicode_string(q, f->name));
    qpdf_oh_replace_key(q, spec, "/UF", qpdf_oh_new_unicode_string(q, f->name));
    qpdf_oh_replace_key(q, spec, "/Desc", qpdf_oh_new_unicode_string(q, f->name));
    qpdf_oh_replace_key(q, spec, "/EF", ef);
    return qpdf_make_indirect_object(q, spec);
}

static void embed(qpdf_data q, const sg_pdf_doc *doc)
{
    if (!doc->nfiles)
        return;
    /* The name tree's keys must be sorted and unique; the real names are in each file
     * specification, so the keys are just zero-padded numbers. */
    qpdf_oh names = qpdf_oh_new_array(q);
    for (size_t i = 0; i < doc->nfiles; i++) {
        char key[24];
        snprintf(key, sizeof key, "%06zu", i + 1);
        qpdf_oh_append_item(q, names, qpdf_oh_new_string(q, key));
        qpdf_oh_append_item(q, names, file_spec(q, &doc->files[i]));
    }
    qpdf_oh tree = qpdf_oh_new_dictionary(q);
    qpdf_oh_replace_key(q, tree, "/Names", names);
    qpdf_oh nd = qpdf_oh_new_dictionary(q);
    qpdf_oh_replace_key(q, nd, "/EmbeddedFiles", tree);
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh_replace_key(q, root, "/Names", nd);
    /* Readers open their attachment panel for such a document. */
    qpdf_oh_replace_key(q, root, "/PageMode", qpdf_oh_new_name(q, "/UseAttachments"));
}

int sg_pdf_seal(const char *pdf, size_t len, const sg_pdf_doc *doc, const char *password, sg_buf *out,
                char *err, size_t errlen)
{
    unsigned char rnd[24];
    char owner[49];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        snprintf(err, errlen, "no random bytes for the owner password");
        return -1;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(owner + 2 * i, 3, "%02x", rnd[i]);
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    int rc = -1;
    if (qpdf_read_memory(q, "rendered", pdf, len, NULL) & QPDF_ERRORS) {
        failed(q, "read", err, errlen);
        goto out;
    }
    embed(q, doc);
    if (failed(q, "attach", err, errlen) < 0)
        goto out;
    if (qpdf_init_write_memory(q) & QPDF_ERRORS) {
        failed(q, "write", err, errlen);
        goto out;
    }
    qpdf_set_object_stream_mode(q, qpdf_o_generate); /* the objects' structure is encrypted too */
    qpdf_set_r6_encryption_parameters2(q, password, owner, QPDF_TRUE, QPDF_TRUE, QPDF_TRUE, QPDF_TRUE, QPDF_TRUE,
                                       QPDF_TRUE, qpdf_r3p_full, QPDF_TRUE);
    if (qpdf_write(q) & QPDF_ERRORS) {
        failed(q, "write", err, errlen);
        goto out;
    }
    if (sg_buf_append(out, qpdf_get_buffer(q), qpdf_get_buffer_length(q)) < 0) {
        snprintf(err, errlen, "the encrypted PDF is larger than allowed");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(owner, sizeof owner);
    qpdf_cleanup(&q);
    return rc;
}

int sg_pdf_make_doc(const sg_pdf_doc *doc, const sg_pdf_brand *brand, const char *password, sg_buf *out, char *err,
                    size_t errlen)
{
    sg_buf plain;
    sg_buf_init(&plain, out->max);
    int rc = sg_pdf_render(doc, brand, &plain, err, errlen);
    if (rc == 0)
        rc = sg_pdf_seal(plain.data, plain.len, doc, password, out, err, errlen);
    sg_buf_free(&plain);
    return rc;
}

int sg_pdf_make(const char *msg, size_t len, const sg_pdf_brand *brand, const char *password, sg_buf *out,
                char *err, size_t errlen)
{
    sg_pdf_doc doc;
    if (sg_pdf_doc_from_message(msg, len, &doc, err, errlen) < 0)
        return -1;
    int rc = sg_pdf_make_doc(&doc, brand, password, out, err, errlen);
    sg_pdf_doc_free(&doc);
    return rc;
}

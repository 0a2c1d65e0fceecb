/*
 * auth.google: Sign in with Google. The ID token is verified by google.c; here the
 * verified identity becomes a FinTwin user. Users are keyed by Google's `sub`; an existing
 * email/password account with the same address is linked only when Google says the address
 * is verified (otherwise anyone could create a Google account claiming a victim's address).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "google.h"
#include "proto/log.h"
#include "proto/status.h"

#define CREDENTIAL_MAX 16384 /* Google ID tokens are 1-2 KB */

struct google_tx {
    struct wk_reply *rep;
    const struct google_identity *id;
    const char *email;
    const char *email_norm;
    const char *full_name;
    const char *picture; /* NULL when Google sent none */
    char user_id[PROTO_UUID_LEN + 1];
    const char *outcome; /* for the log: "signed_in", "linked", "created" */
};

static int google_tx(struct wk_ctx *ctx, void *arg)
{
    struct google_tx *t = arg;
    int found = auth_user_by_google_sub(ctx, t->id->sub, t->user_id);
    if (found < 0)
        return found;
    if (found) {
        t->outcome = "signed_in";
        return auth_answer_session(ctx, t->rep, t->user_id, NULL, 200);
    }

    int has_google = 0;
    found = auth_user_by_email(ctx, t->email_norm, t->user_id, &has_google);
    if (found < 0)
        return found;
    if (found) {
        if (has_google)
            return wk_reply_error(t->rep, 409, "email_taken",
                                  "This email address belongs to an account linked to another "
                                  "Google account.");
        if (!t->id->email_verified)
            return wk_reply_error(t->rep, 409, "email_unverified",
                                  "An account with this email address exists, but Google has "
                                  "not verified the address, so it cannot be linked. Sign in "
                                  "with your password, or verify the address with Google.");
        int rc = auth_user_link_google(ctx, t->user_id, t->id->sub, t->picture);
        if (rc < 0)
            return rc;
        t->outcome = "linked";
        return auth_answer_session(ctx, t->rep, t->user_id, NULL, 200);
    }

    if (proto_uuid_v4(t->user_id) != 0)
        return PROTO_EIO;
    struct auth_new_user u = {
        .id = t->user_id,
        .email = t->email,
        .email_norm = t->email_norm,
        .email_verified = t->id->email_verified,
        .google_sub = t->id->sub,
        .full_name = t->full_name,
        .picture = t->picture,
    };
    int rc = auth_user_insert(ctx, &u);
    if (rc < 0)
        return rc;
    if (rc == 0) /* a concurrent sign-in with the same sub or email won the insert */
        return wk_reply_error(t->rep, 409, "conflict",
                              "This account was just created by another request. Try again.");
    t->outcome = "created";
    return auth_answer_session(ctx, t->rep, t->user_id, NULL, 200);
}

/* Google's display name, cut to AUTH_NAME_MAX code points; the email's local part when
 * it has none usable. */
static void display_name(const struct google_identity *id, const char *email, char *out,
                         size_t size)
{
    char cut[AUTH_NAME_BUF];
    size_t cps = 0, i = 0;
    for (; id->name[i] && i + 1 < sizeof cut; i++) {
        if (((unsigned char)id->name[i] & 0xC0) != 0x80 && ++cps > AUTH_NAME_MAX)
            break;
        cut[i] = id->name[i];
    }
    cut[i] = '\0';
    if (auth_name_clean(cut, out, size) == 0)
        return;
    snprintf(out, size, "%.*s", (int)strcspn(email, "@"), email);
}

int auth_google(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    static char credential[CREDENTIAL_MAX];
    int rc = auth_body_str(body, "credential", credential, sizeof credential);
    if (rc == PROTO_EMISSING || rc == PROTO_ETYPE) {
        return wk_reply_error(rep, 422, "invalid_credential",
                              "credential (a Google ID token) is required.");
    }
    struct google_identity id;
    char why[160] = "";
    memset(&id, 0, sizeof id);
    rc = rc == 0
             ? google_verify(auth_cfg.google, credential, (int64_t)time(NULL), &id, why, sizeof why)
             : GOOGLE_EINVALID;
    explicit_bzero(credential, sizeof credential);
    if (rc == GOOGLE_ECONFIG)
        return wk_reply_error(rep, 503, "google_not_configured",
                              "Google sign-in is not configured on this server.");
    if (rc == GOOGLE_EKEYS) {
        PROTO_WARN(wk_request_id(ctx), "google keys unavailable", "why=%s", proto_log_str(why));
        return wk_reply_error(rep, 503, "google_unavailable",
                              "Google sign-in is temporarily unavailable. Try again shortly.");
    }
    if (rc != GOOGLE_OK) {
        PROTO_INFO(wk_request_id(ctx), "google token refused", "why=%s", proto_log_str(why));
        return wk_reply_error(rep, 401, "invalid_google_token",
                              "The Google sign-in token is not valid.");
    }

    char email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1], name[AUTH_NAME_BUF];
    if (auth_email_normalize(id.email, email, norm) != 0) {
        PROTO_INFO(wk_request_id(ctx), "google token refused", "why=%s",
                   proto_log_str("no usable email claim"));
        return wk_reply_error(rep, 401, "invalid_google_token",
                              "The Google account has no usable email address.");
    }
    display_name(&id, email, name, sizeof name);
    struct google_tx t = {
        .rep = rep,
        .id = &id,
        .email = email,
        .email_norm = norm,
        .full_name = name,
        .picture = id.picture[0] ? id.picture : NULL,
    };
    rc = wk_db_tx(ctx, google_tx, &t);
    if (rc == 0)
        PROTO_INFO(wk_request_id(ctx), "google sign-in", "user=%s outcome=%s", t.user_id,
                   t.outcome ? t.outcome : "-");
    return rc;
}

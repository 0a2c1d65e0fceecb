/*
 * fintwin-auth: sign-in, tokens, sessions and the user profile.
 * The worker's own configuration is read here, before wk_run_spec reads the runtime's; a
 * bad value is reported and the process exits 78 without connecting anywhere.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "google.h"
#include "proto/config.h"
#include "proto/status.h"

struct auth_config auth_cfg;

/* Each row stores its value in the named field of auth_cfg. */
#define TO(field) PROTO_CFG_INTO(struct auth_config, field)

static const struct proto_cfg_var cfg_vars[] = {
    {.name = "JWT_SECRET",
     .kind = PROTO_CFG_SECRET,
     .min = PROTO_TOKEN_SECRET_MIN,
     .max = 4096,
     .help = "HS256 key for access tokens, >= 32 bytes (the gateway's too)",
     TO(keys.secret)},
    {.name = "JWT_ISSUER",
     .def = "fintwin",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 256,
     .help = "access token iss",
     TO(keys.issuer)},
    {.name = "JWT_AUDIENCE",
     .def = "fintwin-api",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 256,
     .help = "access token aud",
     TO(keys.audience)},
    {.name = "ACCESS_TOKEN_TTL_S",
     .def = "900",
     .kind = PROTO_CFG_INT,
     .min = 60,
     .max = 86400,
     .help = "access token lifetime (s)",
     TO(access_ttl_s)},
    {.name = "REFRESH_TOKEN_TTL_S",
     .def = "2592000",
     .kind = PROTO_CFG_INT,
     .min = 3600,
     .max = 31536000,
     .help = "refresh token lifetime (s), renewed by each rotation",
     TO(refresh_ttl_s)},
    {.name = "GOOGLE_CLIENT_ID",
     .def = "",
     .kind = PROTO_CFG_STR,
     .min = 0,
     .max = 512,
     .help = "OAuth client id Google ID tokens must name as aud; empty disables "
             "Google sign-in",
     TO(google_client_id)},
    {.name = "GOOGLE_CERTS_URL",
     .def = "https://www.googleapis.com/oauth2/v3/certs",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 2048,
     .help = "Google's JWKS URL",
     TO(google_certs_url)},
    {.name = "AUTH_REGISTER_PER_IP",
     .def = "20",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 1000000,
     .help = "sign-ups one client address may make per hour (then 429)",
     TO(register_per_ip)},
    {.name = "AUTH_LOOKUP_PER_MIN",
     .def = "30",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 1000000,
     .help = "lookups by email or id one user may make per minute (then 429)",
     TO(lookup_per_min)},
};

static const struct wk_method methods[] = {
    {"auth.register", auth_register},
    {"auth.login", auth_login},
    {"auth.refresh", auth_refresh},
    {"auth.logout", auth_logout},
    {"auth.me", auth_me},
    {"auth.profile_update", auth_profile_update},
    {"auth.profile_complete", auth_profile_complete},
    {"auth.google", auth_google},
    {"auth.config", auth_config},
    {"auth.lookup", auth_lookup},
    {NULL, NULL},
};

static const struct wk_event_handler events[] = {
    {"account.default_ready", auth_on_default_ready, NULL},
    {NULL, NULL, NULL},
};

static const struct wk_spec spec = {
    .name = "auth",
    .schema = NULL, /* auth */
    .methods = methods,
    .events = events,
    .tick = auth_denylist_tick,
    .tick_ms = 1000,
};

/* A hash of 32 random bytes nobody knows (see auth_config.dummy_hash). */
static int make_dummy_hash(void)
{
    unsigned char raw[32];
    char pw[2 * sizeof raw + 1];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return PROTO_EIO;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(pw + 2 * i, 3, "%02x", raw[i]);
    return auth_password_hash(pw, auth_cfg.dummy_hash, sizeof auth_cfg.dummy_hash);
}

int main(void)
{
    if (proto_config_load(cfg_vars, PROTO_CFG_COUNT(cfg_vars), &auth_cfg, stderr) != 0)
        return PROTO_CONFIG_EXIT;
    auth_cfg.keys.secret_len = strlen(auth_cfg.keys.secret);
    if (make_dummy_hash() != 0) {
        fprintf(stderr, "fintwin-auth: cannot prepare the password hasher\n");
        return 1;
    }
    auth_cfg.google = google_verifier_new(auth_cfg.google_certs_url, auth_cfg.google_client_id);
    if (!auth_cfg.google) {
        fprintf(stderr, "fintwin-auth: out of memory\n");
        return 1;
    }
    int rc = wk_run_spec(&spec);
    google_verifier_free(auth_cfg.google);
    return rc;
}

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

enum {
    V_SECRET,
    V_ISSUER,
    V_AUDIENCE,
    V_ACCESS_TTL,
    V_REFRESH_TTL,
    V_GOOGLE_CLIENT_ID,
    V_GOOGLE_CERTS_URL,
    V_REGISTER_PER_IP,
    V_LOOKUP_PER_MIN,
    V_COUNT
};

static struct proto_cfg_var cfg_vars[V_COUNT] = {
    [V_SECRET] = {"JWT_SECRET", NULL, PROTO_CFG_SECRET, PROTO_TOKEN_SECRET_MIN, 4096,
                  "HS256 key for access tokens, >= 32 bytes (the gateway's too)", NULL, 0},
    [V_ISSUER] = {"JWT_ISSUER", "fintwin", PROTO_CFG_STR, 1, 256, "access token iss", NULL, 0},
    [V_AUDIENCE] = {"JWT_AUDIENCE", "fintwin-api", PROTO_CFG_STR, 1, 256, "access token aud", NULL,
                    0},
    [V_ACCESS_TTL] = {"ACCESS_TOKEN_TTL_S", "900", PROTO_CFG_INT, 60, 86400,
                      "access token lifetime (s)", NULL, 0},
    [V_REFRESH_TTL] = {"REFRESH_TOKEN_TTL_S", "2592000", PROTO_CFG_INT, 3600, 31536000,
                       "refresh token lifetime (s), renewed by each rotation", NULL, 0},
    [V_GOOGLE_CLIENT_ID] = {"GOOGLE_CLIENT_ID", "", PROTO_CFG_STR, 0, 512,
                            "OAuth client id Google ID tokens must name as aud; empty disables "
                            "Google sign-in",
                            NULL, 0},
    [V_GOOGLE_CERTS_URL] = {"GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v3/certs",
                            PROTO_CFG_STR, 1, 2048, "Google's JWKS URL", NULL, 0},
    [V_REGISTER_PER_IP] = {"AUTH_REGISTER_PER_IP", "20", PROTO_CFG_INT, 1, 1000000,
                           "sign-ups one client address may make per hour (then 429)", NULL, 0},
    [V_LOOKUP_PER_MIN] = {"AUTH_LOOKUP_PER_MIN", "30", PROTO_CFG_INT, 1, 1000000,
                          "lookups by email or id one user may make per minute (then 429)", NULL,
                          0},
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
    {"account.default_ready", auth_on_default_ready},
    {NULL, NULL},
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
    if (proto_config_load(cfg_vars, V_COUNT, stderr) != 0)
        return PROTO_CONFIG_EXIT;
    auth_cfg.keys.secret = cfg_vars[V_SECRET].str;
    auth_cfg.keys.secret_len = strlen(cfg_vars[V_SECRET].str);
    auth_cfg.keys.issuer = cfg_vars[V_ISSUER].str;
    auth_cfg.keys.audience = cfg_vars[V_AUDIENCE].str;
    auth_cfg.access_ttl_s = (int)cfg_vars[V_ACCESS_TTL].num;
    auth_cfg.refresh_ttl_s = (int)cfg_vars[V_REFRESH_TTL].num;
    auth_cfg.register_per_ip = (long)cfg_vars[V_REGISTER_PER_IP].num;
    auth_cfg.lookup_per_min = (long)cfg_vars[V_LOOKUP_PER_MIN].num;
    auth_cfg.google_client_id = cfg_vars[V_GOOGLE_CLIENT_ID].str;
    if (make_dummy_hash() != 0) {
        fprintf(stderr, "fintwin-auth: cannot prepare the password hasher\n");
        return 1;
    }
    auth_cfg.google =
        google_verifier_new(cfg_vars[V_GOOGLE_CERTS_URL].str, cfg_vars[V_GOOGLE_CLIENT_ID].str);
    if (!auth_cfg.google) {
        fprintf(stderr, "fintwin-auth: out of memory\n");
        return 1;
    }
    int rc = wk_run_spec(&spec);
    google_verifier_free(auth_cfg.google);
    return rc;
}

/* Route table and path matching; see routes.h. */
#include "routes.h"

#include <string.h>

#include "local.h"

#define SYS_PING(kind)                                                                             \
    {                                                                                              \
        GW_GET, "/api/sys/" kind "/ping", kind, "sys.ping", GW_AUTH_PUBLIC, 0, NULL                \
    }

/* Local rows answer in the gateway, public and GET-only; no other row shares their paths.
 * Outside /api they answer their exact path only (intake.c), anything else there is a file. */
#define LOCAL(path, handler)                                                                       \
    {                                                                                              \
        GW_GET, path, NULL, NULL, GW_AUTH_PUBLIC, 0, handler                                       \
    }

/* Literal rows before parameterised ones that could shadow them. */
static const struct gw_route routes[] = {
    LOCAL("/healthz", gw_local_healthz),
    LOCAL("/readyz", gw_local_readyz),
    LOCAL("/metrics", gw_local_metrics),
    LOCAL("/api/status", gw_local_status),

    SYS_PING("auth"),
    SYS_PING("transaction"),
    SYS_PING("twin"),
    SYS_PING("risk"),
    SYS_PING("portfolio"),
    SYS_PING("persona"),
    SYS_PING("notification"),

    {GW_POST, "/api/auth/google", "auth", "auth.google", GW_AUTH_PUBLIC, 16384, NULL},
    {GW_POST, "/api/auth/register", "auth", "auth.register", GW_AUTH_PUBLIC, 4096, NULL},
    {GW_POST, "/api/auth/login", "auth", "auth.login", GW_AUTH_PUBLIC, 4096, NULL},
    {GW_POST, "/api/auth/refresh", "auth", "auth.refresh", GW_AUTH_PUBLIC, 4096, NULL},
    {GW_POST, "/api/auth/logout", "auth", "auth.logout", GW_AUTH_USER, 4096, NULL},
    {GW_GET, "/api/auth/me", "auth", "auth.me", GW_AUTH_USER, 0, NULL},
    {GW_PUT, "/api/auth/profile", "auth", "auth.profile_update", GW_AUTH_USER, 4096, NULL},
    {GW_GET, "/api/auth/profile/complete", "auth", "auth.profile_complete", GW_AUTH_USER, 0, NULL},
    /* The web app's public settings (Google client id), read before anyone signs in. */
    {GW_GET, "/api/config", "auth", "auth.config", GW_AUTH_PUBLIC, 0, NULL},
    /* A transfer's recipient by email: ?email=; throttled per user by the auth worker. */
    {GW_GET, "/api/users/lookup", "auth", "auth.lookup", GW_AUTH_USER, 0, NULL},

    {GW_GET, "/api/accounts", "transaction", "acct.list", GW_AUTH_USER, 0, NULL},
    {GW_POST, "/api/accounts", "transaction", "acct.create", GW_AUTH_USER, 4096, NULL},
    {GW_POST, "/api/transactions", "transaction", "txn.create", GW_AUTH_USER, 4096, NULL},
    {GW_GET, "/api/transactions", "transaction", "txn.list", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/transactions/account/{account_id}", "transaction", "txn.list_account",
     GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/transactions/{id}", "transaction", "txn.get", GW_AUTH_USER, 0, NULL},

    /* history/detail/{id} has one segment more than history/{account_id}: no shadowing. */
    {GW_POST, "/api/simulate", "twin", "twin.simulate", GW_AUTH_USER, 4096, NULL},
    {GW_POST, "/api/simulate/projection", "twin", "twin.projection", GW_AUTH_USER, 65536, NULL},
    {GW_GET, "/api/simulate/history", "twin", "twin.history", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/simulate/history/{account_id}", "twin", "twin.history", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/simulate/history/detail/{id}", "twin", "twin.detail", GW_AUTH_USER, 0, NULL},
    {GW_DELETE, "/api/simulate/history", "twin", "twin.clear", GW_AUTH_USER, 1024, NULL},
    {GW_DELETE, "/api/simulate/history/{account_id}", "twin", "twin.clear", GW_AUTH_USER, 1024,
     NULL},
    {GW_DELETE, "/api/simulate/history/detail/{id}", "twin", "twin.delete", GW_AUTH_USER, 1024,
     NULL},

    /* Older clients post their own balance and transaction list to analyze: accepted (and
     * ignored) up to 256 KiB. {account_id} may be the caller's user id (all accounts). */
    {GW_POST, "/api/risk/analyze", "risk", "risk.analyze", GW_AUTH_USER, 262144, NULL},
    {GW_GET, "/api/risk/score/{account_id}", "risk", "risk.score", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/risk/flags/{account_id}", "risk", "risk.flags", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/risk/notifications/{account_id}", "risk", "risk.notifications", GW_AUTH_USER,
     0, NULL},
    {GW_GET, "/api/risk/history", "risk", "risk.history", GW_AUTH_USER, 0, NULL},

    /* "/api/notifications/" is the same path as "/api/notifications". */
    {GW_GET, "/api/notifications", "notification", "notif.list", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/notifications/count", "notification", "notif.count", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/notifications/count/{account_id}", "notification", "notif.count", GW_AUTH_USER,
     0, NULL},
    {GW_GET, "/api/notifications/{account_id}", "notification", "notif.list_account", GW_AUTH_USER,
     0, NULL},
    {GW_PUT, "/api/notifications/read-all", "notification", "notif.read_all", GW_AUTH_USER, 1024,
     NULL},
    {GW_PUT, "/api/notifications/read-all/{account_id}", "notification", "notif.read_all",
     GW_AUTH_USER, 1024, NULL},
    {GW_PUT, "/api/notifications/read/{id}", "notification", "notif.read", GW_AUTH_USER, 1024,
     NULL},
    {GW_DELETE, "/api/notifications/{id}", "notification", "notif.delete", GW_AUTH_USER, 1024,
     NULL},
};

const struct gw_route *gw_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

const char *gw_method_name(enum gw_method m)
{
    static const char *const names[GW_METHOD_COUNT] = {"GET",    "POST", "PUT",    "PATCH",
                                                       "DELETE", "HEAD", "OPTIONS"};
    return (unsigned)m < GW_METHOD_COUNT ? names[m] : "?";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gw_percent_decode(const char *in, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            if (c == 0)
                return -1;
            i += 2;
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = (char)c;
    }
    if (outsz == 0)
        return -1;
    out[o] = '\0';
    return (int)o;
}

static int param_char_ok(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("._~@:+,=-", c) != NULL;
}

/* Length of `s` without one trailing '/' (the root "/" keeps it). */
static size_t trimmed_len(const char *s, size_t len)
{
    return (len > 1 && s[len - 1] == '/') ? len - 1 : len;
}

/*
 * Compares path against pattern segment by segment. Returns 1 on a match (params
 * captured into m), 0 on no match, GW_MATCH_BAD_PARAM when the shape matches but a
 * parameter is invalid.
 */
static int match_one(const char *pat, const char *path, size_t plen, int decode, struct gw_match *m)
{
    size_t patlen = trimmed_len(pat, strlen(pat));
    size_t i = 0, j = 0;
    int bad = 0;
    m->nparams = 0;
    while (i < patlen && j < plen) {
        if (pat[i] != '/' || path[j] != '/')
            return 0;
        i++;
        j++;
        size_t se = i, pe = j;
        while (se < patlen && pat[se] != '/')
            se++;
        while (pe < plen && path[pe] != '/')
            pe++;
        if (se > i + 1 && pat[i] == '{' && pat[se - 1] == '}') {
            if (pe == j || m->nparams >= GW_PARAM_MAX)
                return 0;
            struct gw_param *p = &m->params[m->nparams++];
            size_t nlen = se - i - 2;
            if (nlen > GW_PARAM_NAME_MAX)
                nlen = GW_PARAM_NAME_MAX;
            memcpy(p->name, pat + i + 1, nlen);
            p->name[nlen] = '\0';
            int vlen;
            if (decode) {
                vlen = gw_percent_decode(path + j, pe - j, p->value, sizeof p->value);
            } else if (pe - j <= GW_PARAM_VALUE_MAX) {
                memcpy(p->value, path + j, pe - j);
                p->value[pe - j] = '\0';
                vlen = (int)(pe - j);
            } else {
                vlen = -1;
            }
            if (vlen <= 0) {
                bad = 1;
                p->value[0] = '\0';
            }
            for (int k = 0; k < vlen; k++)
                if (!param_char_ok((unsigned char)p->value[k]))
                    bad = 1;
        } else if (se - i != pe - j || memcmp(pat + i, path + j, se - i) != 0) {
            return 0;
        }
        i = se;
        j = pe;
    }
    if (i != patlen || j != plen)
        return 0;
    return bad ? GW_MATCH_BAD_PARAM : 1;
}

int gw_route_match(const struct gw_route *table, size_t n, enum gw_method method, const char *path,
                   int decode, struct gw_match *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(path);
    if (len > GW_PATH_MAX)
        return GW_MATCH_TOO_LONG;
    if (len == 0 || path[0] != '/')
        return GW_MATCH_NOT_FOUND;
    len = trimmed_len(path, len);

    unsigned allowed = 0;
    int bad_param = 0;
    struct gw_match tmp;
    for (size_t r = 0; r < n; r++) {
        int rc = match_one(table[r].pattern, path, len, decode, &tmp);
        if (rc == 0)
            continue;
        /* HEAD is GET without the body (RFC 9110 9.3.2): it matches GET routes. */
        enum gw_method want = method == GW_HEAD ? GW_GET : method;
        if (table[r].method != want) {
            allowed |= 1u << table[r].method;
            if (table[r].method == GW_GET)
                allowed |= 1u << GW_HEAD;
            continue;
        }
        if (rc == GW_MATCH_BAD_PARAM) {
            bad_param = 1;
            continue;
        }
        *out = tmp;
        out->route = &table[r];
        return GW_MATCH_OK;
    }
    if (bad_param)
        return GW_MATCH_BAD_PARAM;
    if (!allowed)
        return GW_MATCH_NOT_FOUND;
    static const enum gw_method order[GW_METHOD_COUNT] = {GW_GET,   GW_HEAD,   GW_POST,   GW_PUT,
                                                          GW_PATCH, GW_DELETE, GW_OPTIONS};
    size_t o = 0;
    for (int k = 0; k < GW_METHOD_COUNT; k++) {
        enum gw_method mth = order[k];
        if (!(allowed & (1u << mth)))
            continue;
        const char *name = gw_method_name(mth);
        size_t nl = strlen(name);
        if (o + nl + 3 > sizeof out->allow)
            break;
        if (o) {
            memcpy(out->allow + o, ", ", 2);
            o += 2;
        }
        memcpy(out->allow + o, name, nl);
        o += nl;
    }
    out->allow[o] = '\0';
    return GW_MATCH_METHOD;
}

const char *gw_match_param(const struct gw_match *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    return NULL;
}

/* Environment configuration through one table; see proto/config.h. */
#include "proto/config.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/status.h"

/* Parses a plain decimal integer: -?[0-9]+, nothing else (no spaces, no "0x"). */
static int parse_ll(const char *s, long long *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (!*p)
        return -1;
    unsigned long long mag = 0;
    unsigned long long limit =
        neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (mag > (limit - d) / 10)
            return -1;
        mag = mag * 10 + d;
    }
    if (neg)
        *out = mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag;
    else
        *out = (long long)mag;
    return 0;
}

static int parse_bool(const char *s, long long *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/*
 * Prints a non-secret value for a report line, cut at 64 bytes and with control
 * characters replaced, so a hostile or binary value cannot flood or forge lines.
 */
static void print_value(FILE *f, const char *v)
{
    size_t i = 0;
    for (; v[i] && i < 64; i++) {
        unsigned char c = (unsigned char)v[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
    if (v[i])
        fputs("...", f);
}

/* Writes a checked value into its row's field of cfg. An INT row's bounds must fit the
 * field's type: a mistake in the table, not in the input, so asserted. */
static void store(const struct proto_cfg_var *v, void *cfg, const char *val, long long num)
{
    char *at = (char *)cfg + v->off;
    assert(v->to == PROTO_CFG_TO_STR || v->kind == PROTO_CFG_INT || v->kind == PROTO_CFG_BOOL);
    switch (v->to) {
    case PROTO_CFG_TO_STR:
        *(const char **)at = val;
        return;
    case PROTO_CFG_TO_INT:
        assert(v->kind == PROTO_CFG_BOOL || (v->min >= INT_MIN && v->max <= INT_MAX));
        *(int *)at = (int)num;
        return;
    case PROTO_CFG_TO_LONG:
        *(long *)at = (long)num;
        return;
    case PROTO_CFG_TO_LLONG:
        *(long long *)at = num;
        return;
    case PROTO_CFG_TO_SIZE:
        assert(v->kind == PROTO_CFG_BOOL || v->min >= 0);
        *(size_t *)at = (size_t)num;
        return;
    }
    assert(!"a proto_cfg_var row without PROTO_CFG_INTO");
}

static int check_one(const struct proto_cfg_var *v, void *cfg, FILE *report)
{
    long long num = 0;
    const char *val = getenv(v->name);
    if (val && !*val)
        val = NULL; /* an empty value counts as unset, as with `VAR= cmd` */
    if (!val)
        val = v->def;
    if (!val) {
        if (report)
            fprintf(report, "config: %s is required (%s)\n", v->name, v->help ? v->help : "");
        return 1;
    }

    switch (v->kind) {
    case PROTO_CFG_STR:
    case PROTO_CFG_SECRET: {
        size_t len = strlen(val);
        int bounded = v->min != 0 || v->max != 0;
        /* Never echo the value here: a URL or key carries credentials. */
        if (bounded && v->min > 0 && len < (unsigned long long)v->min) {
            if (report)
                fprintf(report, "config: %s is too short (minimum %lld bytes)\n", v->name, v->min);
            return 1;
        }
        if (bounded && v->max >= 0 && len > (unsigned long long)v->max) {
            if (report)
                fprintf(report, "config: %s is too long (maximum %lld bytes)\n", v->name, v->max);
            return 1;
        }
        break;
    }
    case PROTO_CFG_INT: {
        if (parse_ll(val, &num) != 0 || num < v->min || num > v->max) {
            if (report) {
                fprintf(report, "config: %s=", v->name);
                print_value(report, val);
                fprintf(report, " is not an integer in %lld..%lld\n", v->min, v->max);
            }
            return 1;
        }
        break;
    }
    case PROTO_CFG_BOOL: {
        if (parse_bool(val, &num) != 0) {
            if (report) {
                fprintf(report, "config: %s=", v->name);
                print_value(report, val);
                fputs(" is not a boolean (true/false, yes/no, on/off, 1/0)\n", report);
            }
            return 1;
        }
        break;
    }
    default:
        if (report)
            fprintf(report, "config: %s has an unknown kind\n", v->name);
        return 1;
    }
    store(v, cfg, val, num);
    return 0;
}

int proto_config_load(const struct proto_cfg_var *vars, size_t n, void *cfg, FILE *report)
{
    int problems = 0;
    for (size_t i = 0; i < n; i++)
        problems += check_one(&vars[i], cfg, report);
    if (report)
        fflush(report);
    return problems;
}

void proto_config_usage(const struct proto_cfg_var *vars, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct proto_cfg_var *v = &vars[i];
        if (!v->def)
            fprintf(out, "%s (required)", v->name);
        else if (v->kind == PROTO_CFG_SECRET)
            fprintf(out, "%s (default: <hidden>)", v->name);
        else
            fprintf(out, "%s (default: %s)", v->name, v->def);
        fprintf(out, " \xe2\x80\x94 %s\n", v->help ? v->help : "");
    }
}

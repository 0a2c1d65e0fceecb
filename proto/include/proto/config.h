/*
 * proto/config.h — configuration from environment variables, through one table.
 *
 * Each process declares a static array of struct proto_cfg_var (name, default,
 * kind, bounds) and calls proto_config_load once at start, before threads.
 * Every bad value is reported (one line each, never printing a secret's value),
 * then the caller exits with PROTO_CONFIG_EXIT (78, EX_CONFIG).
 *
 *   static struct proto_cfg_var vars[] = {
 *       {"AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", PROTO_CFG_STR, 1, 2048, "broker URL"},
 *       {"WK_PREFETCH", "16", PROTO_CFG_INT, 1, 1000, "unacked messages per worker"},
 *       {"JWT_SECRET", NULL, PROTO_CFG_SECRET, 32, 4096, "HS256 key, >= 32 bytes"},
 *   };
 *   if (proto_config_load(vars, 3, stderr) != 0) return PROTO_CONFIG_EXIT;
 *   const char *url = vars[0].str; long long prefetch = vars[1].num;
 */
#ifndef PROTO_CONFIG_H
#define PROTO_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define PROTO_CONFIG_EXIT 78

enum proto_cfg_kind {
    PROTO_CFG_STR,    /* min/max bound the length in bytes */
    PROTO_CFG_INT,    /* decimal integer, min..max inclusive; sets .num */
    PROTO_CFG_SECRET, /* like STR, but its value is never printed */
    PROTO_CFG_BOOL,   /* 0/1/true/false/yes/no/on/off (case-insensitive); sets .num to 0 or 1 */
};

struct proto_cfg_var {
    const char *name; /* environment variable */
    const char *def;  /* default text; NULL means required */
    enum proto_cfg_kind kind;
    long long min, max; /* see kinds; 0,0 means no bound for STR/SECRET */
    const char *help;   /* one line for README and --help */
    /* Filled by proto_config_load: */
    const char *str; /* the value (from the environment or def); never NULL after success */
    long long num;   /* INT and BOOL */
};

/*
 * Reads every variable of `vars` from the environment (an empty value counts as
 * unset). Reports each problem as one line on `report` (may be NULL), e.g.
 *   config: JWT_SECRET is required (HS256 key, >= 32 bytes)
 *   config: WK_PREFETCH=abc is not an integer in 1..1000
 *   config: JWT_SECRET is too short (minimum 32 bytes)        <- no value for secrets
 * Returns 0 when all are valid, else the number of problems (> 0).
 * `str` points into the environment or `def`: valid while the environment is unchanged.
 */
int proto_config_load(struct proto_cfg_var *vars, size_t n, FILE *report);

/* Prints the table as "NAME (default: X | required) — help" lines; secrets' defaults hidden. */
void proto_config_usage(const struct proto_cfg_var *vars, size_t n, FILE *out);

#endif

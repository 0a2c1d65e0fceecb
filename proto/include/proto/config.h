/*
 * proto/config.h — configuration from environment variables, through one table.
 *
 * Each process declares a static array of struct proto_cfg_var (name, default, kind, bounds,
 * and where the value goes: a field of the process's config struct, named with
 * PROTO_CFG_INTO) and calls proto_config_load once at start, before threads, with the struct
 * to fill. Every bad value is reported (one line each, never printing a secret's value),
 * then the caller exits with PROTO_CONFIG_EXIT (78, EX_CONFIG).
 *
 *   struct my_config { const char *amqp_url; int prefetch; const char *jwt_secret; };
 *   static const struct proto_cfg_var vars[] = {
 *       {.name = "AMQP_URL", .def = "amqp://guest:guest@127.0.0.1:5672/", .kind = PROTO_CFG_STR,
 *        .min = 1, .max = 2048, .help = "broker URL", PROTO_CFG_INTO(struct my_config, amqp_url)},
 *       {.name = "WK_PREFETCH", .def = "16", .kind = PROTO_CFG_INT, .min = 1, .max = 1000,
 *        .help = "unacked messages per worker", PROTO_CFG_INTO(struct my_config, prefetch)},
 *       {.name = "JWT_SECRET", .kind = PROTO_CFG_SECRET, .min = 32, .max = 4096,
 *        .help = "HS256 key, >= 32 bytes", PROTO_CFG_INTO(struct my_config, jwt_secret)},
 *   };
 *   struct my_config cfg = {0};
 *   if (proto_config_load(vars, PROTO_CFG_COUNT(vars), &cfg, stderr) != 0)
 *       return PROTO_CONFIG_EXIT;
 *   ... cfg.amqp_url, cfg.prefetch ...
 */
#ifndef PROTO_CONFIG_H
#define PROTO_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define PROTO_CONFIG_EXIT 78

enum proto_cfg_kind {
    PROTO_CFG_STR,    /* min/max bound the length in bytes */
    PROTO_CFG_INT,    /* decimal integer, min..max inclusive */
    PROTO_CFG_SECRET, /* like STR, but its value is never printed */
    PROTO_CFG_BOOL,   /* 0/1/true/false/yes/no/on/off (case-insensitive); stored as 0 or 1 */
};

/* The C type of a row's destination field; PROTO_CFG_INTO picks it from the field. */
enum proto_cfg_type {
    PROTO_CFG_TO_STR = 1, /* const char *: the text (any kind) */
    PROTO_CFG_TO_INT,     /* int: INT or BOOL, whose bounds must fit an int */
    PROTO_CFG_TO_LONG,    /* long: INT or BOOL */
    PROTO_CFG_TO_LLONG,   /* long long: INT or BOOL */
    PROTO_CFG_TO_SIZE,    /* size_t: INT or BOOL with min >= 0 */
};

/* The proto_cfg_type of an lvalue; there is no default case, so another type fails to compile. */
#define PROTO_CFG_TYPE_OF(lvalue)                                                                  \
    _Generic((lvalue),                                                                            \
        const char *: PROTO_CFG_TO_STR,                                                           \
        int: PROTO_CFG_TO_INT,                                                                    \
        long: PROTO_CFG_TO_LONG,                                                                  \
        long long: PROTO_CFG_TO_LLONG,                                                            \
        size_t: PROTO_CFG_TO_SIZE)

/* The destination of a row: `field` of `type` (nested members allowed: keys.secret), as
 * the designated initialisers .off and .to. */
#define PROTO_CFG_INTO(type, field)                                                                \
    .off = offsetof(type, field), .to = PROTO_CFG_TYPE_OF(((type *)0)->field)

/* The number of rows of a table array. */
#define PROTO_CFG_COUNT(table) (sizeof(table) / sizeof *(table))

struct proto_cfg_var {
    const char *name; /* environment variable */
    const char *def;  /* default text; NULL means required */
    enum proto_cfg_kind kind;
    long long min, max;     /* see kinds; 0,0 means no bound for STR/SECRET */
    const char *help;       /* one line for README and --help */
    size_t off;             /* where the value goes: offset in the struct given to the loader */
    enum proto_cfg_type to; /* and its C type; set both with PROTO_CFG_INTO */
};

/*
 * Reads every variable of `vars` from the environment (an empty value counts as unset) and
 * stores each valid value in its row's field of `cfg` (a struct of the type the rows name).
 * Reports each problem as one line on `report` (may be NULL), e.g.
 *   config: JWT_SECRET is required (HS256 key, >= 32 bytes)
 *   config: WK_PREFETCH=abc is not an integer in 1..1000
 *   config: JWT_SECRET is too short (minimum 32 bytes)        <- no value for secrets
 * A row with a problem leaves its field unchanged. Returns 0 when all are valid, else the
 * number of problems (> 0). Strings stored point into the environment or the row's `def`:
 * valid while the environment is unchanged.
 */
int proto_config_load(const struct proto_cfg_var *vars, size_t n, void *cfg, FILE *report);

/* Prints the table as "NAME (default: X | required) — help" lines; secrets' defaults hidden. */
void proto_config_usage(const struct proto_cfg_var *vars, size_t n, FILE *out);

#endif

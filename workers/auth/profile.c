/*
 * Profile validation (PUT /api/auth/profile); see rules.h.
 */
#include <string.h>

#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "rules.h"

static const char *const currencies[] = {"USD", "EUR", "INR", "GBP", NULL};
static const char *const goals[] = {"savings", "investment", "debt_payoff", "wealth_building",
                                    NULL};
static const char *const appetites[] = {"low", "medium", "high", NULL};

static int invalid(struct auth_invalid *bad, const char *code, const char *message)
{
    bad->code = code;
    bad->message = message;
    return PROTO_EINVAL;
}

static int one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* An optional leading '+' and 7..15 ASCII digits, nothing else. */
static int phone_ok(const char *s)
{
    size_t digits = 0;
    if (*s == '+')
        s++;
    for (; *s; s++, digits++)
        if (*s < '0' || *s > '9')
            return 0;
    return digits >= 7 && digits <= 15;
}

/* Reads an enum-like string field: 0 when present and in `set`. */
static int read_enum(const msgpack_object *body, const char *key, char *buf, size_t size,
                     const char *const *set)
{
    return auth_body_str(body, key, buf, size) == 0 && one_of(buf, set) ? 0 : PROTO_EINVAL;
}

int auth_profile_parse(const msgpack_object *body, struct auth_profile *p, struct auth_invalid *bad)
{
    char name[AUTH_NAME_BUF + 64];
    if (auth_body_str(body, "account_name", name, sizeof name) != 0 ||
        auth_name_clean(name, p->account_name, sizeof p->account_name) != 0)
        return invalid(bad, "invalid_account_name",
                       "account_name must be 1 to 100 characters, no control characters.");

    if (auth_body_str(body, "phone_number", p->phone_number, sizeof p->phone_number) != 0 ||
        !phone_ok(p->phone_number))
        return invalid(bad, "invalid_phone_number",
                       "phone_number must be 7 to 15 digits after an optional leading +.");

    if (read_enum(body, "currency_preference", p->currency, sizeof p->currency, currencies) != 0)
        return invalid(bad, "invalid_currency",
                       "currency_preference must be one of USD, EUR, INR, GBP.");
    p->exponent = proto_currency_exponent(p->currency);

    const msgpack_object *income = proto_map_get(body, "monthly_income");
    if (!income || p->exponent < 0 ||
        proto_obj_money(income, p->exponent, &p->monthly_income) != 0 || p->monthly_income < 0)
        return invalid(bad, "invalid_monthly_income",
                       "monthly_income must be an exact amount >= 0 with no more decimals "
                       "than the currency allows.");

    if (read_enum(body, "financial_goal", p->financial_goal, sizeof p->financial_goal, goals) != 0)
        return invalid(bad, "invalid_financial_goal",
                       "financial_goal must be one of savings, investment, debt_payoff, "
                       "wealth_building.");

    if (read_enum(body, "risk_appetite", p->risk_appetite, sizeof p->risk_appetite, appetites) != 0)
        return invalid(bad, "invalid_risk_appetite",
                       "risk_appetite must be one of low, medium, high.");
    return 0;
}

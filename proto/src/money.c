/* Exact decimal money <-> int64 minor units; see proto/money.h. */
#include "proto/money.h"

#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

struct currency {
    char code[4];
    int exponent;
};

/*
 * Active ISO 4217 codes with their minor-unit digits (List One), sorted by code for
 * bsearch. Codes whose minor unit is "N.A." (XAU, XDR, XXX, ...) are left out on
 * purpose: they are not money a user can hold in the ledger.
 */
static const struct currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
    {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2},
    {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2},
    {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2},
    {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0},
    {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
    {"ZWL", 2},
};

static int cmp_currency(const void *key, const void *elem)
{
    return memcmp(key, ((const struct currency *)elem)->code, 3);
}

int proto_currency_exponent(const char *code)
{
    if (!code)
        return PROTO_EINVAL;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return PROTO_EINVAL;
    if (code[3] != '\0')
        return PROTO_EINVAL;
    const struct currency *c = bsearch(code, currencies, sizeof currencies / sizeof currencies[0],
                                       sizeof currencies[0], cmp_currency);
    return c ? c->exponent : PROTO_EINVAL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* mag = mag * 10 + d, failing when it would pass `limit`. */
static int push_digit(uint64_t *mag, unsigned d, uint64_t limit)
{
    if (*mag > (limit - d) / 10)
        return -1;
    *mag = *mag * 10 + d;
    return 0;
}

int proto_money_parse(const char *text, size_t len, int exponent, int64_t *minor)
{
    if (exponent < 0 || exponent > 18)
        return PROTO_EINVAL;
    if (!text || len == 0)
        return PROTO_ESYNTAX;

    /* Pass 1: the whole grammar, so that a syntax error always wins over
     * precision or range (the caller's message then names the real problem). */
    size_t i = 0;
    int neg = 0;
    if (text[i] == '-') {
        neg = 1;
        i++;
    }
    size_t int_start = i;
    while (i < len && is_digit(text[i]))
        i++;
    size_t int_end = i;
    if (int_end == int_start)
        return PROTO_ESYNTAX;
    if (text[int_start] == '0' && int_end - int_start > 1)
        return PROTO_ESYNTAX;
    size_t frac_start = i, frac_end = i;
    if (i < len && text[i] == '.') {
        i++;
        frac_start = i;
        while (i < len && is_digit(text[i]))
            i++;
        frac_end = i;
        if (frac_end == frac_start)
            return PROTO_ESYNTAX;
    }
    if (i != len)
        return PROTO_ESYNTAX;

    /* Pass 2: excess fraction digits may only be zeros; never round. */
    for (size_t k = frac_start + (size_t)exponent; k < frac_end; k++)
        if (text[k] != '0')
            return PROTO_EPRECISION;

    /* Pass 3: accumulate the magnitude in uint64 so INT64_MIN is reachable. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    for (size_t k = int_start; k < int_end; k++)
        if (push_digit(&mag, (unsigned)(text[k] - '0'), limit) != 0)
            return PROTO_ERANGE;
    for (int k = 0; k < exponent; k++) {
        size_t pos = frac_start + (size_t)k;
        unsigned d = pos < frac_end ? (unsigned)(text[pos] - '0') : 0;
        if (push_digit(&mag, d, limit) != 0)
            return PROTO_ERANGE;
    }
    if (neg)
        *minor = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *minor = (int64_t)mag;
    return 0;
}

int proto_money_format(int64_t minor, int exponent, char *buf, size_t size)
{
    if (exponent < 0 || exponent > 18)
        return PROTO_EINVAL;
    /* Magnitude as uint64: -INT64_MIN does not fit int64. */
    uint64_t mag = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    /* At least one integer digit before the point: pad with leading zeros. */
    while (nd < exponent + 1)
        digits[nd++] = '0';

    size_t need = (size_t)(minor < 0) + (size_t)nd + (exponent > 0 ? 1 : 0);
    if (!buf || size < need + 1)
        return PROTO_ELIMIT;
    size_t o = 0;
    if (minor < 0)
        buf[o++] = '-';
    for (int k = nd - 1; k >= 0; k--) {
        buf[o++] = digits[k];
        if (k == exponent && exponent > 0)
            buf[o++] = '.';
    }
    buf[o] = '\0';
    return (int)o;
}

/*
 * Symbols only where one is unambiguous and well known; "$" alone means USD (CAD, AUD, ...
 * get their code). UTF-8 bytes spelled out so the source stays ASCII.
 */
static const struct {
    char code[4];
    const char *symbol;
    int lakh; /* Indian digit grouping: 12,34,56,789 */
} display_symbols[] = {
    {"EUR", "\xE2\x82\xAC", 0}, /* euro sign */
    {"GBP", "\xC2\xA3", 0},     /* pound sign */
    {"INR", "\xE2\x82\xB9", 1}, /* indian rupee sign */
    {"JPY", "\xC2\xA5", 0},     /* yen sign */
    {"USD", "$", 0},
};

/* 1 if a group separator goes before the integer digit that has `rem` digits from it to the
 * end of the integer part (rem includes that digit). */
static int group_before(size_t rem, int lakh)
{
    if (lakh)
        return rem == 3 || (rem > 3 && (rem - 3) % 2 == 0);
    return rem % 3 == 0;
}

int proto_money_display(int64_t minor, const char *currency, char *out, size_t cap)
{
    int exponent = proto_currency_exponent(currency);
    if (exponent < 0)
        return PROTO_EINVAL;
    const char *symbol = NULL;
    int lakh = 0;
    for (size_t i = 0; i < sizeof display_symbols / sizeof display_symbols[0]; i++)
        if (strcmp(display_symbols[i].code, currency) == 0) {
            symbol = display_symbols[i].symbol;
            lakh = display_symbols[i].lakh;
        }

    /* Digits, least significant first, padded so at least one integer digit remains. */
    uint64_t mag = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    while (nd < exponent + 1)
        digits[nd++] = '0';

    char tmp[PROTO_MONEY_DISPLAY_MAX];
    size_t o = 0;
    if (minor < 0)
        tmp[o++] = '-';
    if (symbol) {
        memcpy(tmp + o, symbol, strlen(symbol));
        o += strlen(symbol);
    } else {
        memcpy(tmp + o, currency, 3);
        o += 3;
        tmp[o++] = ' ';
    }
    size_t int_len = (size_t)(nd - exponent);
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && group_before(int_len - i, lakh))
            tmp[o++] = ',';
        tmp[o++] = digits[nd - 1 - (int)i];
    }
    if (exponent > 0) {
        tmp[o++] = '.';
        for (int k = exponent - 1; k >= 0; k--)
            tmp[o++] = digits[k];
    }
    tmp[o] = '\0';
    if (!out || cap < o + 1) {
        if (out && cap > 0)
            out[0] = '\0';
        return PROTO_ELIMIT;
    }
    memcpy(out, tmp, o + 1);
    return (int)o;
}

/* Walks the "CUR=amount,..." items: the threshold of `want` in minor units, -1 when `want` is
 * NULL or not listed, -2 for text that does not follow the syntax. */
static int64_t table_walk(const char *text, const char *want)
{
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq - p != 3)
            return -2;
        char cur[4] = {p[0], p[1], p[2], '\0'};
        int exp = proto_currency_exponent(cur);
        int64_t minor;
        if (exp < 0 || proto_money_parse(eq + 1, len - 4, exp, &minor) != 0 || minor < 0)
            return -2;
        if (want && strcmp(want, cur) == 0)
            return minor;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return -2;
    }
    return -1;
}

int proto_money_table_check(const char *text)
{
    return table_walk(text, NULL) == -2 ? -1 : 0;
}

int64_t proto_money_table_of(const char *text, const char *currency)
{
    int64_t v = table_walk(text, currency);
    return v < 0 ? -1 : v;
}

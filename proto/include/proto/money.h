/*
 * proto/money.h — exact money: decimal text <-> int64 minor units.
 *
 * Amounts are never floating point (ARCHITECTURE, "Data"). Text is parsed digit by
 * digit into int64 minor units of a currency whose exponent (minor-unit digits)
 * comes from ISO 4217. Pure functions, thread-safe.
 */
#ifndef PROTO_MONEY_H
#define PROTO_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Enough for "-9223372036854775808" with a decimal point and a NUL. */
#define PROTO_MONEY_TEXT_MAX 32

/*
 * Minor-unit exponent of an ISO 4217 alphabetic code ("USD" -> 2, "JPY" -> 0,
 * "KWD" -> 3). The code must be exactly three uppercase ASCII letters.
 * Returns the exponent (0..4) or PROTO_EINVAL for an unknown or malformed code.
 */
int proto_currency_exponent(const char *code);

/*
 * Parses `len` bytes of `text` as a plain decimal amount into minor units of a
 * currency with `exponent` fraction digits.
 * Grammar (the JSON number grammar without exponent): -?(0|[1-9][0-9]*)(\.[0-9]+)?
 * ASCII digits only. Fraction digits beyond `exponent` are accepted only if they are
 * zeros ("12.340" is 1234 for USD); a non-zero excess digit is PROTO_EPRECISION
 * (never rounded). "-0" parses as 0. Sign checks (amount > 0) are the caller's.
 * Returns 0 and sets *minor, or PROTO_ESYNTAX (empty, "1e3", "+1", ".5", "5.",
 * spaces, non-ASCII digits), PROTO_EPRECISION, PROTO_ERANGE (outside int64),
 * PROTO_EINVAL (exponent outside 0..18). Syntax is checked before precision,
 * precision before range.
 * *minor is untouched on error.
 */
int proto_money_parse(const char *text, size_t len, int exponent, int64_t *minor);

/*
 * Formats `minor` units with `exponent` fraction digits: 1250, 2 -> "12.50";
 * -5, 2 -> "-0.05"; 7, 0 -> "7". Writes a NUL-terminated string into buf.
 * Returns the length written (excluding NUL) or PROTO_ELIMIT if `size` is too
 * small (PROTO_MONEY_TEXT_MAX always suffices) or PROTO_EINVAL for exponent < 0 or > 18.
 */
int proto_money_format(int64_t minor, int exponent, char *buf, size_t size);

/* Enough for any proto_money_display result and its NUL ("-CHF 9,223,372,036,854,775.808"). */
#define PROTO_MONEY_DISPLAY_MAX 48

/*
 * Renders `minor` units of ISO 4217 `currency` for people, exactly (no floating point), as
 * UTF-8: the currency's symbol, digit groups and its own number of decimals:
 *   USD "$1,234.50"   EUR "€1,234.50"   GBP "£1,234.50"   JPY "¥1,234"
 *   INR "₹1,23,456.78" (Indian grouping: lakh, crore)
 *   any other code: the code and a space, "CHF 1,234.50", "KWD 1.500", "CLF 0.0001".
 * A negative amount has the minus sign first: "-$5.00", "-CHF 5.00".
 * Writes a NUL-terminated string into out (cap bytes; PROTO_MONEY_DISPLAY_MAX always
 * suffices). Returns the length written (excluding NUL), PROTO_EINVAL for a NULL or unknown
 * currency, or PROTO_ELIMIT when cap is too small (out then holds "" if cap > 0).
 */
int proto_money_display(int64_t minor, const char *currency, char *out, size_t cap);

/*
 * A per-currency table of amounts in configuration: "CUR=amount,..." ("USD=1000,INR=50000"),
 * amounts in major units, exact decimals of that currency, >= 0 (the twin's and the risk
 * worker's low-balance thresholds, the risk worker's high-amount threshold).
 * proto_money_table_check checks the whole text: 0, or -1. proto_money_table_of finds
 * `currency` in a valid text and returns its amount in minor units, or -1 when the currency is
 * not listed (no rule for it).
 */
int proto_money_table_check(const char *text);
int64_t proto_money_table_of(const char *text, const char *currency);

#endif

/*
 * The risk worker's pure rules (workers/risk/rules.c): each rule at its boundary, the cap and
 * the levels, the windows (3 outgoing postings in exactly 60 min; the 24 h peak), when a
 * posting alerts, the alert text, and the history query. No servers.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "ft_json.h"
#include "ft_test.h"
#include "rules.h"

#define MIN_MS  (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)

/* USD facts: balance after, signed amount (0: no posting), thresholds 1,000.00 and 10,000.00. */
static struct risk_facts usd(int64_t balance, int64_t amount)
{
    struct risk_facts f;
    memset(&f, 0, sizeof f);
    snprintf(f.currency, sizeof f.currency, "USD");
    f.balance = balance;
    f.has_posting = amount != 0;
    f.amount = amount;
    f.peak_24h = balance;
    f.low_balance = 100000;
    f.high_amount = 1000000;
    return f;
}

/* "score:level:code|code" of f. */
static void outcome(const struct risk_facts *f, char *out, size_t size)
{
    struct risk_result r;
    CU_ASSERT_EQUAL_FATAL(risk_evaluate(f, &r), 0);
    int n = snprintf(out, size, "%d:%s:", r.score, risk_level_name(r.level));
    for (int i = 0; i < r.nflags; i++)
        n += snprintf(out + n, size - (size_t)n, "%s%s", i ? "|" : "", r.flags[i].code);
}

#define EXPECT(f, want)                                                                            \
    do {                                                                                           \
        char got_[256];                                                                            \
        outcome(&(f), got_, sizeof got_);                                                          \
        CU_ASSERT_STRING_EQUAL(got_, want);                                                        \
        if (strcmp(got_, want) != 0)                                                               \
            fprintf(stderr, "\n  line %d: got %s, want %s\n", __LINE__, got_, want);               \
    } while (0)

static void test_risk_large_posting_boundary(void)
{
    /* 5,000.00 before: taking exactly half is not large, one cent more is */
    struct risk_facts f = usd(250000, -250000);
    EXPECT(f, "10:low:");
    f = usd(249999, -250001);
    EXPECT(f, "30:low:large_posting");
    /* a deposit is never large, however big against the balance */
    f = usd(500000, 490000);
    EXPECT(f, "10:low:");
    /* all of it */
    f = usd(0, -200000);
    f.peak_24h = 200000;
    EXPECT(f, "65:high:large_posting|low_balance|balance_drop");
    struct risk_result r;
    risk_evaluate(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.flags[0].message, "A single transaction of $2,000.00 took more than "
                                               "half of the $2,000.00 balance before it");
}

static void test_risk_low_balance_boundary(void)
{
    struct risk_facts f = usd(100000, 0); /* exactly 1,000.00 is not below it */
    EXPECT(f, "10:low:");
    f = usd(99999, 0);
    EXPECT(f, "20:low:low_balance");
    struct risk_result r;
    risk_evaluate(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.flags[0].message, "Balance is below $1,000.00");
    /* INR's threshold in its own format; a currency without a threshold has no rule */
    f = usd(100, 0);
    snprintf(f.currency, sizeof f.currency, "INR");
    f.low_balance = 5000000;
    risk_evaluate(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.flags[0].message, "Balance is below ₹50,000.00");
    f.low_balance = -1;
    EXPECT(f, "10:low:");
}

static void test_risk_balance_drop_boundary(void)
{
    /* exactly 80 % down (20 % left) is not "more than 80 %"; one unit lower is */
    struct risk_facts f = usd(200000, 0);
    f.peak_24h = 1000000;
    EXPECT(f, "10:low:");
    f.balance = 199999;
    EXPECT(f, "35:medium:balance_drop");
    struct risk_result r;
    risk_evaluate(&f, &r);
    CU_ASSERT_STRING_EQUAL(r.flags[0].message,
                           "Balance fell by more than 80% within 24 hours, from $10,000.00 to "
                           "$1,999.99");
    /* an empty account that was empty all day did not fall */
    f = usd(0, 0);
    EXPECT(f, "20:low:low_balance");
}

static void test_risk_velocity_and_high_amount(void)
{
    struct risk_facts f = usd(500000, -100);
    f.outgoing_window = 2;
    EXPECT(f, "10:low:");
    f.outgoing_window = 3;
    EXPECT(f, "25:low:velocity");
    /* Finexia's verdict: above the threshold, either direction, a flag worth no points */
    f = usd(5000000, 1000000);
    EXPECT(f, "10:low:");
    f = usd(5000000, 1000001);
    EXPECT(f, "10:low:high_amount");
    struct risk_result r;
    risk_evaluate(&f, &r);
    CU_ASSERT_EQUAL(r.high_amount, 1);
    CU_ASSERT_STRING_EQUAL(r.flags[0].message,
                           "A single transaction of $10,000.01 is above $10,000.00");
    /* a re-run without a recent posting has no posting rules */
    f.has_posting = 0;
    EXPECT(f, "10:low:");
}

static void test_risk_anomaly_points_cap_and_levels(void)
{
    struct risk_facts f = usd(0, -300000);
    f.peak_24h = 300000;
    f.outgoing_window = 5;
    f.high_amount = 100;
    f.anomaly.method = RISK_METHOD_FOREST;
    f.anomaly.flagged = 1;
    f.anomaly.points = 30;
    /* 10 + 20 + 15 + 10 + 25 + 30 (+ 0 for high_amount) = 110, capped */
    EXPECT(f, "100:high:large_posting|velocity|low_balance|balance_drop|anomaly|high_amount");
    CU_ASSERT_EQUAL(risk_level_of(30), RISK_LOW);
    CU_ASSERT_EQUAL(risk_level_of(31), RISK_MEDIUM);
    CU_ASSERT_EQUAL(risk_level_of(60), RISK_MEDIUM);
    CU_ASSERT_EQUAL(risk_level_of(61), RISK_HIGH);
    /* an anomaly without a posting (a re-run) does not count */
    f = usd(500000, 0);
    f.anomaly.flagged = 1;
    f.anomaly.points = 12;
    EXPECT(f, "10:low:");
    f.has_posting = 1;
    f.amount = -1;
    EXPECT(f, "22:low:anomaly");
    /* an unknown currency is refused */
    snprintf(f.currency, sizeof f.currency, "XYZ");
    struct risk_result r;
    CU_ASSERT_EQUAL(risk_evaluate(&f, &r), -1);
}

/* Postings of one account A (and one of another account B) at the given minutes. */
static void add(struct risk_posting *post, struct risk_meta *meta, size_t *n, const char *acct,
                int64_t minute, int64_t amount, int64_t after)
{
    memset(&post[*n], 0, sizeof post[*n]);
    memset(&meta[*n], 0, sizeof meta[*n]);
    post[*n].amount = amount;
    post[*n].balance_after = after;
    post[*n].at_ms = 1700000000000LL + minute * MIN_MS;
    snprintf(meta[*n].account_id, sizeof meta[*n].account_id, "%s", acct);
    meta[*n].seq = (int64_t)*n + 1;
    (*n)++;
}

static void test_risk_windows_exactly_60_minutes(void)
{
    struct risk_posting post[8];
    struct risk_meta meta[8];
    size_t n = 0;
    add(post, meta, &n, "A", 0, 500000, 500000); /* deposit 5,000 */
    add(post, meta, &n, "A", 100, -100, 499900); /* out */
    add(post, meta, &n, "B", 120, -100, 100);    /* another account: not counted */
    add(post, meta, &n, "A", 130, -100, 499800); /* out */
    add(post, meta, &n, "A", 160, -100, 499700); /* out, exactly 60 min after the first */
    int out;
    int64_t peak;
    int64_t t = post[4].at_ms;
    risk_windows(post, meta, 4, t, post[4].balance_after, &out, &peak);
    CU_ASSERT_EQUAL(out, 3);
    CU_ASSERT_EQUAL(peak, 500000); /* the deposit's balance, 160 min ago */
    /* a later line whose transaction started earlier (it waited for the account's lock) still
     * counts: every line walked is before the posting by seq */
    post[4].at_ms = post[3].at_ms - 1;
    risk_windows(post, meta, 3, post[3].at_ms, post[3].balance_after, &out, &peak);
    CU_ASSERT_EQUAL(out, 2);
    risk_windows(post, meta, 4, post[3].at_ms, post[4].balance_after, &out, &peak);
    CU_ASSERT_EQUAL(out, 3);
    post[4].at_ms = t;
    /* one millisecond later the first one is out of the hour */
    risk_windows(post, meta, 4, t + 1, post[4].balance_after, &out, &peak);
    CU_ASSERT_EQUAL(out, 2);
    /* posting 3's own view never looks at posting 4 */
    risk_windows(post, meta, 3, post[3].at_ms, post[3].balance_after, &out, &peak);
    CU_ASSERT_EQUAL(out, 2);
    /* a day and a minute later only the balance now is left */
    risk_windows(post, meta, 4, t + 24 * HOUR_MS + MIN_MS, 1, &out, &peak);
    CU_ASSERT_EQUAL(out, 0);
    CU_ASSERT_EQUAL(peak, 1);
}

static void test_risk_alerts_only_on_a_rise_or_an_anomaly(void)
{
    struct risk_result r;
    memset(&r, 0, sizeof r);
    r.level = RISK_MEDIUM;
    CU_ASSERT_EQUAL(risk_alerts(RISK_LOW, 1, &r), 1);
    CU_ASSERT_EQUAL(risk_alerts(RISK_LOW, 0, &r), 1); /* no earlier score counts as low */
    CU_ASSERT_EQUAL(risk_alerts(RISK_MEDIUM, 1, &r), 0);
    CU_ASSERT_EQUAL(risk_alerts(RISK_HIGH, 1, &r), 0);
    r.level = RISK_HIGH;
    CU_ASSERT_EQUAL(risk_alerts(RISK_MEDIUM, 1, &r), 1);
    r.level = RISK_LOW;
    CU_ASSERT_EQUAL(risk_alerts(RISK_LOW, 0, &r), 0);
    r.nflags = 1;
    r.flags[0].code = "anomaly";
    snprintf(r.flags[0].message, sizeof r.flags[0].message, "Unusual");
    CU_ASSERT_EQUAL(risk_alerts(RISK_HIGH, 1, &r), 1);
    char title[128], message[1400];
    r.score = 22;
    risk_alert_text(&r, title, sizeof title, message, sizeof message);
    CU_ASSERT_STRING_EQUAL(title, "Unusual activity detected");
    CU_ASSERT_STRING_EQUAL(message, "Risk score 22. Unusual.");
    CU_ASSERT_STRING_EQUAL(risk_flag_title("velocity"), "Many recent transfers");
    CU_ASSERT_PTR_NULL(risk_flag_title("nope"));
}

static void test_risk_history_query(void)
{
    struct risk_history_query q;
    const char *code = NULL, *message = NULL;
    CU_ASSERT_EQUAL(risk_history_query_parse(NULL, &q, &code, &message), 0);
    CU_ASSERT_EQUAL(q.limit, 20);
    const msgpack_object *o =
        ft_json_obj("{\"limit\":\"100\",\"before\":\"6F0C3A8E-1B2D-4E5F-8A9B-0C1D2E3F4A5B\","
                    "\"account_id\":\"\",\"other\":\"x\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(risk_history_query_parse(o, &q, &code, &message), 0);
    CU_ASSERT_EQUAL(q.limit, 100);
    CU_ASSERT_EQUAL(q.has_before, 1);
    CU_ASSERT_STRING_EQUAL(q.before, "6f0c3a8e-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    CU_ASSERT_EQUAL(q.has_account, 0);
    static const char *const bad[][2] = {
        {"{\"limit\":\"0\"}", "invalid_limit"},     {"{\"limit\":\"101\"}", "invalid_limit"},
        {"{\"limit\":\"-1\"}", "invalid_limit"},    {"{\"limit\":\"1.5\"}", "invalid_limit"},
        {"{\"before\":\"abc\"}", "invalid_before"}, {"{\"account_id\":7}", "invalid_account_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = ft_json_obj(bad[i][0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(risk_history_query_parse(o, &q, &code, &message), -1);
        CU_ASSERT_STRING_EQUAL(code, bad[i][1]);
        CU_ASSERT(message && message[0]);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("risk_rules", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_risk_large_posting_boundary);
    ADD(test_risk_low_balance_boundary);
    ADD(test_risk_balance_drop_boundary);
    ADD(test_risk_velocity_and_high_amount);
    ADD(test_risk_anomaly_points_cap_and_levels);
    ADD(test_risk_windows_exactly_60_minutes);
    ADD(test_risk_alerts_only_on_a_rise_or_an_anomaly);
    ADD(test_risk_history_query);
#undef ADD
    int rc = ft_cunit_run();
    ft_json_free();
    return rc;
}

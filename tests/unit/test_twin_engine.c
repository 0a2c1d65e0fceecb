/* The twin's simulation engine alone (workers/twin/engine.c, contract in engine.h): the risk
 * rules of one what-if step at every boundary, the integer projection against values worked
 * out by hand, and the Monte Carlo's reproducibility, limits and statistics. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "ft_test.h"

/* ---- single step ---- */

struct step_case {
    enum twin_scenario scenario;
    int64_t balance, amount, default_return, low_balance, avg_outflow;
    int64_t v, outflow;
    int score;
    enum twin_level level;
    unsigned rules;
    int64_t months;
};

#define BIG  TWIN_RULE_BIG_OUTFLOW
#define LOWB TWIN_RULE_LOW_BALANCE
#define OVER TWIN_RULE_OVERDRAWN

/* Golden vectors; a low_balance of -1 switches the low-balance rule off. Rates are percent
 * * 10^4 (50 % == 500000). Each comment says why the row is where it is. */
static const struct step_case step_cases[] = {
    /* withdrawal: the big-outflow rule is "above 50 %", i.e. 2a > B */
    {TWIN_WITHDRAWAL, 1000, 500, 0, -1, 0, 500, 500, 10, TWIN_LOW, 0, -1},      /* exactly 50 % */
    {TWIN_WITHDRAWAL, 1000, 501, 0, -1, 0, 499, 501, 40, TWIN_MEDIUM, BIG, -1}, /* 50 % + 1 */
    {TWIN_WITHDRAWAL, 1001, 500, 0, -1, 0, 501, 500, 10, TWIN_LOW, 0, -1},      /* 1000 <= 1001 */
    {TWIN_WITHDRAWAL, 1001, 501, 0, -1, 0, 500, 501, 40, TWIN_MEDIUM, BIG, -1}, /* 1002 > 1001 */
    /* low balance: "V below the threshold"; V equal to it is not below. Score 30 is low. */
    {TWIN_WITHDRAWAL, 10000, 1000, 0, 9000, 0, 9000, 1000, 10, TWIN_LOW, 0, -1},
    {TWIN_WITHDRAWAL, 10000, 1001, 0, 9000, 0, 8999, 1001, 30, TWIN_LOW, LOWB, -1},
    /* overdrawn: V == 0 is not, V == -1 is (and is below a threshold of 0) */
    {TWIN_WITHDRAWAL, 1000, 1000, 0, 0, 0, 0, 1000, 40, TWIN_MEDIUM, BIG, -1},
    {TWIN_WITHDRAWAL, 1000, 1001, 0, -1, 0, -1, 1001, 80, TWIN_HIGH, BIG | OVER, -1},
    /* all three rules: 10 + 30 + 20 + 40 is the cap, 100 */
    {TWIN_WITHDRAWAL, 1000, 1001, 0, 0, 0, -1, 1001, 100, TWIN_HIGH, BIG | LOWB | OVER, -1},
    /* a balance of 0 with any outflow counts as above 50 % */
    {TWIN_WITHDRAWAL, 0, 1, 0, -1, 0, -1, 1, 80, TWIN_HIGH, BIG | OVER, -1},
    /* months_covered is for the emergency fund only */
    {TWIN_WITHDRAWAL, 1000, 100, 0, -1, 100, 900, 100, 10, TWIN_LOW, 0, -1},
    /* deposits are never an outflow, even on a balance <= 0 */
    {TWIN_DEPOSIT, 0, 1000000000, 0, -1, 0, 1000000000, 0, 10, TWIN_LOW, 0, -1},
    {TWIN_DEPOSIT, 0, 50, 0, 100, 0, 50, 0, 30, TWIN_LOW, LOWB, -1},
    {TWIN_DEPOSIT, -500, 100, 0, -1, 0, -400, 0, 50, TWIN_MEDIUM, OVER, -1},
    {TWIN_DEPOSIT, -500, 100, 0, 0, 0, -400, 0, 70, TWIN_HIGH, LOWB | OVER, -1},
    /* rate_change: V = round(B * (1 + a/100)), halves away from zero, either sign */
    {TWIN_RATE_CHANGE, 1, 500000, 0, -1, 0, 2, 0, 10, TWIN_LOW, 0, -1},         /* 1.5 -> 2 */
    {TWIN_RATE_CHANGE, -1, 500000, 0, -1, 0, -2, 0, 50, TWIN_MEDIUM, OVER, -1}, /* -1.5 -> -2 */
    {TWIN_RATE_CHANGE, 3, -500000, 0, -1, 0, 2, 0, 10, TWIN_LOW, 0, -1},        /* 1.5 -> 2 */
    {TWIN_RATE_CHANGE, 50, 10000, 0, -1, 0, 51, 0, 10, TWIN_LOW, 0, -1},        /* 50.5 -> 51 */
    {TWIN_RATE_CHANGE, 5, 10000, 0, -1, 0, 5, 0, 10, TWIN_LOW, 0, -1},          /* 5.05 -> 5 */
    {TWIN_RATE_CHANGE, 12345, 75000, 0, -1, 0, 13271, 0, 10, TWIN_LOW, 0, -1},  /* 13270.875 */
    {TWIN_RATE_CHANGE, 12345, -75000, 0, -1, 0, 11419, 0, 10, TWIN_LOW, 0, -1}, /* 11419.125 */
    /* a -99 % rate takes money but is not an outflow */
    {TWIN_RATE_CHANGE, 1000, -990000, 0, -1, 0, 10, 0, 10, TWIN_LOW, 0, -1},
    /* recurring_expense: the outflow is 12a; 12 * 4167 = 50004 is above half of 100000 */
    {TWIN_RECURRING_EXPENSE, 100000, 4000, 0, -1, 0, 52000, 48000, 10, TWIN_LOW, 0, -1},
    {TWIN_RECURRING_EXPENSE, 100000, 4167, 0, -1, 0, 49996, 50004, 40, TWIN_MEDIUM, BIG, -1},
    /* investment_growth: V = B + round(a * r/100), the outflow is a */
    {TWIN_INVESTMENT_GROWTH, 100000, 10000, 70000, -1, 0, 100700, 10000, 10, TWIN_LOW, 0, -1},
    {TWIN_INVESTMENT_GROWTH, 100, 50, 70000, -1, 0, 104, 50, 10, TWIN_LOW, 0, -1}, /* 3.5->4 */
    {TWIN_INVESTMENT_GROWTH, 100, 50, -70000, -1, 0, 96, 50, 10, TWIN_LOW, 0, -1}, /* -3.5 */
    {TWIN_INVESTMENT_GROWTH, 100, 51, 0, -1, 0, 100, 51, 40, TWIN_MEDIUM, BIG, -1},
    {TWIN_INVESTMENT_GROWTH, 0, 1, 0, -1, 0, 0, 1, 40, TWIN_MEDIUM, BIG, -1},
    /* emergency_fund: not an outflow; months_covered = floor(V / avg), -1 if unknown or V < 0 */
    {TWIN_EMERGENCY_FUND, 100000, 40000, 0, -1, 15000, 60000, 0, 10, TWIN_LOW, 0, 4},
    {TWIN_EMERGENCY_FUND, 100000, 40001, 0, -1, 15000, 59999, 0, 10, TWIN_LOW, 0, 3},
    {TWIN_EMERGENCY_FUND, 100, 100, 0, -1, 30, 0, 0, 10, TWIN_LOW, 0, 0},
    {TWIN_EMERGENCY_FUND, 100000, 40000, 0, -1, 0, 60000, 0, 10, TWIN_LOW, 0, -1},
    {TWIN_EMERGENCY_FUND, 100000, 40000, 0, -1, -5, 60000, 0, 10, TWIN_LOW, 0, -1},
    {TWIN_EMERGENCY_FUND, 100, 200, 0, -1, 30, -100, 0, 50, TWIN_MEDIUM, OVER, -1},
};

static int run_step(enum twin_scenario sc, int64_t balance, int64_t amount, int64_t r,
                    struct twin_step_result *res)
{
    struct twin_step_input in = {sc, balance, amount, r, -1, 0};
    return twin_step(&in, res);
}

static void test_twin_engine_step_golden(void)
{
    for (size_t i = 0; i < sizeof step_cases / sizeof step_cases[0]; i++) {
        const struct step_case *c = &step_cases[i];
        struct twin_step_input in = {c->scenario,       c->balance,     c->amount,
                                     c->default_return, c->low_balance, c->avg_outflow};
        struct twin_step_result res;
        memset(&res, 0x5a, sizeof res);
        int rc = twin_step(&in, &res);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(res.virtual_balance, c->v);
        CU_ASSERT_EQUAL(res.outflow, c->outflow);
        CU_ASSERT_EQUAL(res.score, c->score);
        CU_ASSERT_EQUAL(res.level, c->level);
        CU_ASSERT_EQUAL(res.rules, c->rules);
        CU_ASSERT_EQUAL(res.months_covered, c->months);
        if (rc != 0 || res.virtual_balance != c->v || res.score != c->score ||
            res.rules != c->rules || res.months_covered != c->months)
            fprintf(stderr,
                    "\n  step case %zu (%s B=%lld a=%lld): V=%lld score=%d rules=%u "
                    "months=%lld\n",
                    i, twin_scenario_name(c->scenario), (long long)c->balance, (long long)c->amount,
                    (long long)res.virtual_balance, res.score, res.rules,
                    (long long)res.months_covered);
    }
}

/* Rules add 30, 20 and 40 to a base of 10, so scores move in steps of 10 and 31 or 61 cannot
 * occur: the levels are pinned at the reachable scores on each side of 30 and 60. */
static void test_twin_engine_step_levels(void)
{
    struct twin_step_result res;
    struct twin_step_input low30 = {TWIN_WITHDRAWAL, 10000, 1001, 0, 9000, 0}; /* 10 + 20 */
    CU_ASSERT_EQUAL(twin_step(&low30, &res), 0);
    CU_ASSERT_EQUAL(res.score, 30);
    CU_ASSERT_EQUAL(res.level, TWIN_LOW);
    struct twin_step_input med40 = {TWIN_WITHDRAWAL, 10000, 5001, 0, -1, 0}; /* 10 + 30 */
    CU_ASSERT_EQUAL(twin_step(&med40, &res), 0);
    CU_ASSERT_EQUAL(res.score, 40);
    CU_ASSERT_EQUAL(res.level, TWIN_MEDIUM);
    struct twin_step_input med60 = {TWIN_WITHDRAWAL, 10000, 6000, 0, 5000, 0}; /* 10+30+20 */
    CU_ASSERT_EQUAL(twin_step(&med60, &res), 0);
    CU_ASSERT_EQUAL(res.score, 60);
    CU_ASSERT_EQUAL(res.rules, BIG | LOWB);
    CU_ASSERT_EQUAL(res.level, TWIN_MEDIUM);
    struct twin_step_input high70 = {TWIN_DEPOSIT, -500, 100, 0, 0, 0}; /* 10 + 20 + 40 */
    CU_ASSERT_EQUAL(twin_step(&high70, &res), 0);
    CU_ASSERT_EQUAL(res.score, 70);
    CU_ASSERT_EQUAL(res.level, TWIN_HIGH);

    CU_ASSERT_STRING_EQUAL(twin_level_name(TWIN_LOW), "low");
    CU_ASSERT_STRING_EQUAL(twin_level_name(TWIN_MEDIUM), "medium");
    CU_ASSERT_STRING_EQUAL(twin_level_name(TWIN_HIGH), "high");
}

static void test_twin_engine_step_overflow(void)
{
    struct twin_step_result res;
    CU_ASSERT_EQUAL(run_step(TWIN_DEPOSIT, INT64_MAX, 1, 0, &res), -1);
    CU_ASSERT_EQUAL(run_step(TWIN_DEPOSIT, INT64_MAX - 1, 1, 0, &res), 0);
    CU_ASSERT_EQUAL(res.virtual_balance, INT64_MAX);
    CU_ASSERT_EQUAL(run_step(TWIN_WITHDRAWAL, INT64_MIN, 1, 0, &res), -1);
    CU_ASSERT_EQUAL(run_step(TWIN_EMERGENCY_FUND, INT64_MIN, 1, 0, &res), -1);
    /* 12a itself overflows; one less and it fits (12 * (INT64_MAX / 12) = INT64_MAX - 7) */
    CU_ASSERT_EQUAL(run_step(TWIN_RECURRING_EXPENSE, 0, INT64_MAX / 12 + 1, 0, &res), -1);
    CU_ASSERT_EQUAL(run_step(TWIN_RECURRING_EXPENSE, INT64_MAX, INT64_MAX / 12, 0, &res), 0);
    CU_ASSERT_EQUAL(res.virtual_balance, 7);
    CU_ASSERT_EQUAL(res.outflow, INT64_MAX - 7);
    CU_ASSERT_EQUAL(run_step(TWIN_RATE_CHANGE, INT64_MAX, 10000, 0, &res), -1); /* +1 % */
    CU_ASSERT_EQUAL(run_step(TWIN_RATE_CHANGE, INT64_MAX, -10000, 0, &res), 0); /* -1 % */
    CU_ASSERT_EQUAL(run_step(TWIN_INVESTMENT_GROWTH, INT64_MAX, INT64_MAX, 1000000, &res), -1);
    CU_ASSERT_EQUAL(run_step(TWIN_SCENARIO_COUNT, 1000, 1, 0, &res), -1);
}

static void test_twin_engine_scenario_names(void)
{
    static const char *const names[TWIN_SCENARIO_COUNT] = {"withdrawal",        "deposit",
                                                           "rate_change",       "recurring_expense",
                                                           "investment_growth", "emergency_fund"};
    for (int i = 0; i < TWIN_SCENARIO_COUNT; i++) {
        enum twin_scenario s = TWIN_SCENARIO_COUNT;
        CU_ASSERT_STRING_EQUAL(twin_scenario_name((enum twin_scenario)i), names[i]);
        CU_ASSERT_EQUAL(twin_scenario_parse(names[i], &s), 0);
        CU_ASSERT_EQUAL(s, (enum twin_scenario)i);
    }
    const char *bad[] = {"Withdrawal", "", "withdrawal ", "deposits", "rate-change", "loan"};
    enum twin_scenario s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(twin_scenario_parse(bad[i], &s), -1);
    CU_ASSERT_EQUAL(twin_scenario_parse(NULL, &s), -1);
}

static void test_twin_engine_flags_order(void)
{
    const char *low_text = "Balance would fall below $1,000.00";
    const char *flags[TWIN_FLAGS_MAX] = {NULL, NULL, NULL};
    CU_ASSERT_EQUAL(twin_flags(0, low_text, flags), 0);

    CU_ASSERT_EQUAL(twin_flags(LOWB | BIG | OVER, low_text, flags), 3);
    CU_ASSERT_STRING_EQUAL(flags[0], "Account would be overdrawn");
    CU_ASSERT_STRING_EQUAL(flags[1], "Withdrawal exceeds 50% of balance");
    CU_ASSERT_PTR_EQUAL(flags[2], low_text); /* the caller's sentence, not a copy */

    const char *over = flags[0], *big = flags[1];
    CU_ASSERT_EQUAL(twin_flags(LOWB | BIG, low_text, flags), 2);
    CU_ASSERT_PTR_EQUAL(flags[0], big);
    CU_ASSERT_PTR_EQUAL(flags[1], low_text);
    CU_ASSERT_EQUAL(twin_flags(LOWB | OVER, low_text, flags), 2);
    CU_ASSERT_PTR_EQUAL(flags[0], over);
    CU_ASSERT_PTR_EQUAL(flags[1], low_text);
    CU_ASSERT_EQUAL(twin_flags(LOWB, low_text, flags), 1);
    CU_ASSERT_PTR_EQUAL(flags[0], low_text);
}

static void test_twin_engine_recommendation_priority(void)
{
    const char *over = twin_recommendation(OVER), *big = twin_recommendation(BIG),
               *low = twin_recommendation(LOWB), *ok = twin_recommendation(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(over);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(low);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(over, "overdraw"));
    CU_ASSERT_PTR_NOT_NULL(strstr(big, "half"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ok, "healthy"));
    CU_ASSERT(strcmp(over, big) != 0 && strcmp(over, low) != 0 && strcmp(over, ok) != 0);
    CU_ASSERT(strcmp(big, low) != 0 && strcmp(big, ok) != 0 && strcmp(low, ok) != 0);
    /* the most serious rule wins: overdraft, then big outflow, then low balance */
    CU_ASSERT_STRING_EQUAL(twin_recommendation(OVER | BIG | LOWB), over);
    CU_ASSERT_STRING_EQUAL(twin_recommendation(OVER | LOWB), over);
    CU_ASSERT_STRING_EQUAL(twin_recommendation(OVER | BIG), over);
    CU_ASSERT_STRING_EQUAL(twin_recommendation(BIG | LOWB), big);
}

/* ---- projection ---- */

static struct twin_month months[TWIN_HORIZON_MAX];

static int project(int64_t start, int horizon, int64_t rate, int64_t inflation,
                   const struct twin_event *ev, size_t nev, struct twin_projection *out)
{
    struct twin_projection_input in = {start, horizon, rate, inflation, ev, nev};
    memset(months, 0, sizeof months);
    memset(out, 0, sizeof *out);
    out->months = months;
    return twin_project(&in, out);
}

/*
 * 1,000,000 minor units at 12 %/yr, i.e. growth = round(balance / 100) a month:
 *   m1 10000 -> 1,010,000   m2 10100 -> 1,020,100   m3 10201 -> 1,030,301
 *   m4 10303.01 -> 10303 -> 1,040,604   m5 10406.04 -> 10406 -> 1,051,010
 *   m6 10510.10 -> 10510 -> 1,061,520
 * then a rate event from month 7: at 0 % it stays 1,061,520; at 24 % growth is
 * round(balance / 50):
 *   m7 21230.4 -> 21230 -> 1,082,750   m8 21655 -> 1,104,405   m9 22088.1 -> 1,126,493
 *   m10 22529.86 -> 22530 -> 1,149,023   m11 22980.46 -> 22980 -> 1,172,003
 *   m12 23440.06 -> 23440 -> 1,195,443
 */
static void test_twin_engine_project_rate_change(void)
{
    static const int64_t first6[6] = {1010000, 1020100, 1030301, 1040604, 1051010, 1061520};
    static const int64_t growth6[6] = {10000, 10100, 10201, 10303, 10406, 10510};
    static const int64_t at24[6] = {1082750, 1104405, 1126493, 1149023, 1172003, 1195443};
    static const int64_t growth24[6] = {21230, 21655, 22088, 22530, 22980, 23440};
    struct twin_projection p;

    struct twin_event to0 = {TWIN_EV_RATE, 7, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(project(1000000, 12, 120000, 0, &to0, 1, &p), 0);
    for (int m = 0; m < 6; m++) {
        CU_ASSERT_EQUAL(months[m].nominal, first6[m]);
        CU_ASSERT_EQUAL(months[m].growth, growth6[m]);
        CU_ASSERT_EQUAL(months[m].real, first6[m]); /* no inflation */
    }
    for (int m = 6; m < 12; m++) {
        CU_ASSERT_EQUAL(months[m].nominal, 1061520);
        CU_ASSERT_EQUAL(months[m].growth, 0);
    }
    CU_ASSERT_EQUAL(p.total_growth, 61520);
    CU_ASSERT_EQUAL(p.end_balance, 1061520);
    CU_ASSERT_EQUAL(p.total_income, 0);
    CU_ASSERT_EQUAL(p.total_expense, 0);
    CU_ASSERT_EQUAL(p.first_negative, 0);

    struct twin_event to24 = {TWIN_EV_RATE, 7, 0, 0, 240000};
    CU_ASSERT_EQUAL_FATAL(project(1000000, 12, 120000, 0, &to24, 1, &p), 0);
    for (int m = 0; m < 6; m++) {
        CU_ASSERT_EQUAL(months[m].nominal, first6[m]);
        CU_ASSERT_EQUAL(months[6 + m].nominal, at24[m]);
        CU_ASSERT_EQUAL(months[6 + m].growth, growth24[m]);
    }
    CU_ASSERT_EQUAL(p.total_growth, 195443);
    CU_ASSERT_EQUAL(p.end_balance, 1195443);

    /* several rate events: the latest start in force wins, in either array order */
    struct twin_event two[2][2] = {{{TWIN_EV_RATE, 9, 0, 0, 0}, {TWIN_EV_RATE, 7, 0, 0, 240000}},
                                   {{TWIN_EV_RATE, 7, 0, 0, 240000}, {TWIN_EV_RATE, 9, 0, 0, 0}}};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(project(1000000, 12, 120000, 0, two[i], 2, &p), 0);
        CU_ASSERT_EQUAL(months[6].nominal, 1082750); /* 24 % in months 7 and 8 */
        CU_ASSERT_EQUAL(months[7].nominal, 1104405);
        CU_ASSERT_EQUAL(months[8].growth, 0); /* 0 % from month 9 */
        CU_ASSERT_EQUAL(p.end_balance, 1104405);
    }
}

/* Growth rounds half away from zero: at 12 % a balance of 50 earns 0.5 -> 1, 150 earns
 * 1.5 -> 2, 149 earns 1.49 -> 1; at -12 % 150 loses 1.5 -> 2. */
static void test_twin_engine_project_rounding_halves(void)
{
    struct twin_projection p;
    CU_ASSERT_EQUAL(project(50, 1, 120000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[0].growth, 1);
    CU_ASSERT_EQUAL(project(150, 1, 120000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[0].growth, 2);
    CU_ASSERT_EQUAL(project(149, 1, 120000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[0].growth, 1);
    CU_ASSERT_EQUAL(project(150, 1, -120000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[0].growth, -2);
    CU_ASSERT_EQUAL(p.end_balance, 148);
}

/*
 * At 0 %, from 0: income 1000 in months 2..4, a one-off expense of 500 in month 3, another
 * of 2600 in month 6, and an income of 50 in month 3 (two incomes in one month add up):
 *   m1 0   m2 1000   m3 1000 + 1050 - 500 = 1550   m4 2550   m5 2550   m6 -50
 */
static void test_twin_engine_project_events(void)
{
    struct twin_event ev[4] = {{TWIN_EV_INCOME, 2, 4, 1000, 0},
                               {TWIN_EV_EXPENSE, 3, 3, 500, 0},
                               {TWIN_EV_EXPENSE, 6, 6, 2600, 0},
                               {TWIN_EV_INCOME, 3, 3, 50, 0}};
    static const int64_t nominal[6] = {0, 1000, 1550, 2550, 2550, -50};
    static const int64_t income[6] = {0, 1000, 1050, 1000, 0, 0};
    static const int64_t expense[6] = {0, 0, 500, 0, 0, 2600};
    struct twin_projection p;
    CU_ASSERT_EQUAL_FATAL(project(0, 6, 0, 0, ev, 4, &p), 0);
    for (int m = 0; m < 6; m++) {
        CU_ASSERT_EQUAL(months[m].nominal, nominal[m]);
        CU_ASSERT_EQUAL(months[m].income, income[m]);
        CU_ASSERT_EQUAL(months[m].expense, expense[m]);
        CU_ASSERT_EQUAL(months[m].growth, 0);
    }
    CU_ASSERT_EQUAL(p.first_negative, 6);
    CU_ASSERT_EQUAL(p.total_income, 3050);
    CU_ASSERT_EQUAL(p.total_expense, 3100);
    CU_ASSERT_EQUAL(p.total_growth, 0);
    CU_ASSERT_EQUAL(p.end_balance, -50);

    /* without the month-6 expense nothing goes negative */
    CU_ASSERT_EQUAL_FATAL(project(0, 6, 0, 0, ev, 2, &p), 0);
    CU_ASSERT_EQUAL(p.first_negative, 0);
    CU_ASSERT_EQUAL(p.end_balance, 2500);
    /* an event in the last month counts (end == horizon) */
    struct twin_event last = {TWIN_EV_EXPENSE, 600, 600, 1, 0};
    CU_ASSERT_EQUAL_FATAL(project(0, 600, 0, 0, &last, 1, &p), 0);
    CU_ASSERT_EQUAL(p.first_negative, 600);
    CU_ASSERT_EQUAL(months[598].nominal, 0);
    CU_ASSERT_EQUAL(months[599].nominal, -1);
}

/*
 * A negative (or zero) balance earns and costs nothing. From -1000 at 12 %, with income 600
 * in month 1 and 500 in months 2..3:
 *   m1 growth 0 -> -400   m2 growth 0 -> 100   m3 growth round(100 / 100) = 1 -> 601
 */
static void test_twin_engine_project_negative_no_growth(void)
{
    struct twin_event ev[2] = {{TWIN_EV_INCOME, 1, 1, 600, 0}, {TWIN_EV_INCOME, 2, 3, 500, 0}};
    struct twin_projection p;
    CU_ASSERT_EQUAL_FATAL(project(-1000, 3, 120000, 0, ev, 2, &p), 0);
    CU_ASSERT_EQUAL(months[0].nominal, -400);
    CU_ASSERT_EQUAL(months[0].growth, 0);
    CU_ASSERT_EQUAL(months[1].nominal, 100);
    CU_ASSERT_EQUAL(months[1].growth, 0);
    CU_ASSERT_EQUAL(months[2].growth, 1);
    CU_ASSERT_EQUAL(months[2].nominal, 601);
    CU_ASSERT_EQUAL(p.first_negative, 1);
    CU_ASSERT_EQUAL(p.total_growth, 1);

    /* at -50 % a negative balance does not grow more negative either */
    CU_ASSERT_EQUAL_FATAL(project(-1000, 24, -500000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(p.end_balance, -1000);
    CU_ASSERT_EQUAL(p.total_growth, 0);
    CU_ASSERT_EQUAL_FATAL(project(0, 24, 120000, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(p.end_balance, 0);
}

/*
 * Inflation 10 %: real = round(nominal / 1.1^(m/12)). With 1,100,000 kept at 0 %:
 *   m12 1,100,000 / 1.1 = 1,000,000    m24 1,100,000 / 1.21 = 909,090.909 -> 909,091
 *   m6  1,100,000 / 1.1^0.5 = 1,048,808.848 -> 1,048,809
 */
static void test_twin_engine_project_real_value(void)
{
    struct twin_projection p;
    CU_ASSERT_EQUAL_FATAL(project(1100000, 24, 0, 100000, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[5].real, 1048809);
    CU_ASSERT_EQUAL(months[11].real, 1000000);
    CU_ASSERT_EQUAL(months[23].real, 909091);
    CU_ASSERT_EQUAL(months[23].nominal, 1100000);
    for (int m = 1; m < 24; m++)
        CU_ASSERT(months[m].real < months[m - 1].real);
    /* a negative balance deflates toward zero: -1,100,000 is -1,000,000 in a year */
    CU_ASSERT_EQUAL_FATAL(project(-1100000, 12, 0, 100000, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(months[11].real, -1000000);
}

static void test_twin_engine_project_rejects_range(void)
{
    struct twin_projection p;
    CU_ASSERT_EQUAL(project(1000, 0, 0, 0, NULL, 0, &p), -1);
    CU_ASSERT_EQUAL(project(1000, -1, 0, 0, NULL, 0, &p), -1);
    CU_ASSERT_EQUAL(project(1000, TWIN_HORIZON_MAX + 1, 0, 0, NULL, 0, &p), -1);
    CU_ASSERT_EQUAL(project(1000, TWIN_HORIZON_MAX, 0, 0, NULL, 0, &p), 0);
    CU_ASSERT_EQUAL(project(1000, 12, 0, -1, NULL, 0, &p), -1); /* negative inflation */
    CU_ASSERT_EQUAL(project(1000, 12, 0, 0, NULL, 1, &p), -1);  /* events missing */

    const struct twin_event bad[] = {
        {TWIN_EV_INCOME, 0, 1, 10, 0},   /* start before month 1 */
        {TWIN_EV_INCOME, 13, 13, 10, 0}, /* start after the horizon */
        {TWIN_EV_INCOME, 5, 4, 10, 0},   /* end before start */
        {TWIN_EV_EXPENSE, 1, 13, 10, 0}, /* end after the horizon */
        {TWIN_EV_EXPENSE, 1, 1, -10, 0}, /* negative amount */
        {TWIN_EV_RATE, 0, 0, 0, 10000},  /* rate before month 1 */
        {TWIN_EV_RATE, 13, 0, 0, 10000}, /* rate after the horizon */
        {(enum twin_event_kind)7, 1, 1, 10, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(project(1000, 12, 0, 0, &bad[i], 1, &p), -1);
    /* the edges themselves are in range */
    const struct twin_event edges[] = {{TWIN_EV_INCOME, 1, 12, 10, 0},
                                       {TWIN_EV_EXPENSE, 12, 12, 10, 0},
                                       {TWIN_EV_RATE, 12, 0, 0, -1000000}};
    CU_ASSERT_EQUAL(project(1000, 12, 0, 0, edges, 3, &p), 0);

    static struct twin_event many[TWIN_EVENTS_MAX + 1];
    for (int i = 0; i <= TWIN_EVENTS_MAX; i++)
        many[i] = (struct twin_event){TWIN_EV_INCOME, 1, 1, 1, 0};
    CU_ASSERT_EQUAL(project(0, 1, 0, 0, many, TWIN_EVENTS_MAX, &p), 0);
    CU_ASSERT_EQUAL(p.end_balance, TWIN_EVENTS_MAX);
    CU_ASSERT_EQUAL(project(0, 1, 0, 0, many, TWIN_EVENTS_MAX + 1, &p), -1);

    struct twin_projection_input in = {1000, 12, 0, 0, NULL, 0};
    struct twin_projection no_months = {NULL, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(twin_project(&in, &no_months), -1);
    CU_ASSERT_EQUAL(twin_project(NULL, &p), -1);
    CU_ASSERT_EQUAL(twin_project(&in, NULL), -1);
}

static void test_twin_engine_project_overflow(void)
{
    struct twin_projection p;
    struct twin_event inc = {TWIN_EV_INCOME, 1, 1, 11, 0};
    CU_ASSERT_EQUAL(project(INT64_MAX - 10, 1, 0, 0, &inc, 1, &p), -1);
    inc.amount = 10;
    CU_ASSERT_EQUAL(project(INT64_MAX - 10, 1, 0, 0, &inc, 1, &p), 0);
    CU_ASSERT_EQUAL(p.end_balance, INT64_MAX);
    /* growth pushes it over */
    CU_ASSERT_EQUAL(project(INT64_MAX - 10, 1, 120000, 0, NULL, 0, &p), -1);
    /* the balance stays 0 but the income total passes INT64_MAX in month 2 */
    struct twin_event both[2] = {{TWIN_EV_INCOME, 1, 2, INT64_MAX / 2 + 1, 0},
                                 {TWIN_EV_EXPENSE, 1, 2, INT64_MAX / 2 + 1, 0}};
    CU_ASSERT_EQUAL(project(0, 2, 0, 0, both, 2, &p), -1);
    both[0].end = both[1].end = 1; /* one month of it fits */
    CU_ASSERT_EQUAL(project(0, 2, 0, 0, both, 2, &p), 0);
    CU_ASSERT_EQUAL(p.total_income, INT64_MAX / 2 + 1);
    CU_ASSERT_EQUAL(p.end_balance, 0);
    /* only one total overflows: from -INT64_MAX two incomes of INT64_MAX / 2 + 1 bring the
     * balance to 1 (no growth below 0), but the income total is INT64_MAX + 1; the same
     * downwards for expenses */
    struct twin_event inc2 = {TWIN_EV_INCOME, 1, 2, INT64_MAX / 2 + 1, 0};
    CU_ASSERT_EQUAL(project(-INT64_MAX, 1, 0, 0, &inc2, 1, &p), -1); /* month 2 > horizon */
    CU_ASSERT_EQUAL(project(-INT64_MAX, 2, 0, 0, &inc2, 1, &p), -1);
    struct twin_event ex2 = {TWIN_EV_EXPENSE, 1, 2, INT64_MAX / 2 + 1, 0};
    CU_ASSERT_EQUAL(project(INT64_MAX, 2, 0, 0, &ex2, 1, &p), -1);
    ex2.end = 1;
    CU_ASSERT_EQUAL(project(INT64_MAX, 2, 0, 0, &ex2, 1, &p), 0);
    CU_ASSERT_EQUAL(p.total_expense, INT64_MAX / 2 + 1);
    /* two incomes of one month whose sum does not fit */
    struct twin_event two[3] = {{TWIN_EV_INCOME, 1, 1, INT64_MAX, 0},
                                {TWIN_EV_INCOME, 1, 1, INT64_MAX, 0},
                                {TWIN_EV_EXPENSE, 1, 1, INT64_MAX, 0}};
    CU_ASSERT_EQUAL(project(-INT64_MAX, 1, 0, 0, two, 3, &p), -1);
}

/* ---- Monte Carlo ---- */

static int64_t pct_a[TWIN_HORIZON_MAX][TWIN_NPCT], pct_b[TWIN_HORIZON_MAX][TWIN_NPCT];

static int mc(const struct twin_projection_input *base, long paths, int64_t vol, uint64_t seed,
              int has_goal, int64_t goal, int64_t (*pct)[TWIN_NPCT], struct twin_mc_result *res)
{
    struct twin_mc_input in = {base, paths, vol, seed, has_goal, goal};
    memset(pct, 0, sizeof pct_a);
    res->pct = pct;
    res->p_ruin = res->p_goal = -1.0;
    return twin_monte_carlo(&in, res);
}

/* p5 <= p25 <= p50 <= p75 <= p95 in each of the first `horizon` rows. */
static int ordered(int64_t (*pct)[TWIN_NPCT], int horizon)
{
    for (int m = 0; m < horizon; m++)
        for (int k = 1; k < TWIN_NPCT; k++)
            if (pct[m][k - 1] > pct[m][k])
                return 0;
    return 1;
}

static void test_twin_engine_mc_reproducible(void)
{
    /* an odd path count, so the polar method's spare normal crosses each month boundary */
    struct twin_event ev[2] = {{TWIN_EV_EXPENSE, 1, 60, 50000, 0}, {TWIN_EV_RATE, 30, 0, 0, 20000}};
    struct twin_projection_input base = {10000000, 60, 70000, 0, ev, 2};
    struct twin_mc_result a, b, c;
    CU_ASSERT_EQUAL_FATAL(mc(&base, 2001, 150000, 42, 1, 12000000, pct_a, &a), 0);
    CU_ASSERT_EQUAL_FATAL(mc(&base, 2001, 150000, 43, 1, 12000000, pct_b, &b), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(pct_a, pct_b, sizeof pct_a[0] * 60), 0);
    /* seed 42 again after another run: no state survives a call */
    CU_ASSERT_EQUAL_FATAL(mc(&base, 2001, 150000, 42, 1, 12000000, pct_b, &c), 0);
    CU_ASSERT_EQUAL(memcmp(pct_a, pct_b, sizeof pct_a[0] * 60), 0);
    CU_ASSERT(a.p_ruin == c.p_ruin);
    CU_ASSERT(a.p_goal == c.p_goal);
    CU_ASSERT(ordered(pct_a, 60));
    CU_ASSERT(a.p_ruin >= 0.0 && a.p_ruin <= 1.0);
    CU_ASSERT(a.p_goal > 0.0 && a.p_goal < 1.0);
}

/*
 * With volatility 0 every path is the same: mu = ln(1 + r/12) each month, so the balance is
 * start * (1 + r/12)^m, computed in double; a few minor units cover the rounding of the
 * expected value and the last-bit differences of the month-by-month product.
 */
static void test_twin_engine_mc_zero_volatility(void)
{
    struct twin_projection_input base = {10000000, 120, 120000, 0, NULL, 0};
    struct twin_mc_result res;
    CU_ASSERT_EQUAL_FATAL(mc(&base, 7, 0, 1, 0, 0, pct_a, &res), 0);
    int all_equal = 1, close = 1;
    for (int m = 1; m <= 120; m++) {
        double want = 10000000.0 * pow(1.01, m);
        for (int k = 0; k < TWIN_NPCT; k++)
            all_equal &= pct_a[m - 1][k] == pct_a[m - 1][2];
        if (fabs((double)pct_a[m - 1][2] - want) > 2.0) {
            close = 0;
            fprintf(stderr, "\n  month %d: p50 %lld, expected %.2f\n", m,
                    (long long)pct_a[m - 1][2], want);
        }
    }
    CU_ASSERT(all_equal);
    CU_ASSERT(close);
    CU_ASSERT(res.p_ruin == 0.0);
    CU_ASSERT(res.p_goal == 0.0); /* no goal asked */

    /* Against the integer projection: each month's rounded growth is off by at most 0.5, and
     * an error grows with the balance, so after m months the gap is at most
     * 0.5 * (1.01^m - 1) / 0.01. */
    struct twin_projection p;
    CU_ASSERT_EQUAL_FATAL(project(10000000, 120, 120000, 0, NULL, 0, &p), 0);
    for (int m = 1; m <= 120; m++) {
        double bound = 0.5 * (pow(1.01, m) - 1.0) / 0.01 + 1.0;
        CU_ASSERT(fabs((double)(pct_a[m - 1][2] - months[m - 1].nominal)) <= bound);
    }
}

/*
 * The same with steep rates, so that e^X is far from 1 (at -1100 % a month keeps 1/12 of the
 * balance, at +1100 % it grows by 23/12): from 10^15 minor units, 12 months down, then 12 up.
 * The expected path is the product of the monthly factors in double; 2 minor units plus
 * 10^-13 relative allow a few hundred ulp over 24 months, while an error of 10^-8 in e^X (a
 * wrong series coefficient, say) is millions of minor units in month 1.
 */
static void test_twin_engine_mc_zero_volatility_steep(void)
{
    struct twin_event up = {TWIN_EV_RATE, 13, 0, 0, 11000000};
    struct twin_projection_input base = {1000000000000000, 24, -11000000, 0, &up, 1};
    struct twin_mc_result res;
    CU_ASSERT_EQUAL_FATAL(mc(&base, 3, 0, 1, 0, 0, pct_a, &res), 0);
    double want = 1e15;
    int close = 1;
    for (int m = 1; m <= 24; m++) {
        want *= m <= 12 ? 1.0 / 12.0 : 23.0 / 12.0;
        if (fabs((double)pct_a[m - 1][2] - want) > 2.0 + 1e-13 * want) {
            close = 0;
            fprintf(stderr, "\n  month %d: p50 %lld, expected %.2f\n", m,
                    (long long)pct_a[m - 1][2], want);
        }
    }
    CU_ASSERT(close);
}

/*
 * The percentile of q is the value at index floor(q * (paths - 1)) of the sorted balances.
 * With few paths the indices collide, and which of them collide shows the rule:
 *   3 paths: indices 0 0 1 1 1  -> p5 == p25 < p50 == p75 == p95
 *   5 paths: indices 0 1 2 3 3  -> p5 < p25 < p50 < p75 == p95
 *  21 paths: indices 1 5 10 15 19, all different
 * (rounding up, or q * paths, would give other patterns). Month-end balances of different
 * paths differ almost surely with a volatility of 30 %.
 */
static void test_twin_engine_mc_percentile_ranks(void)
{
    struct twin_projection_input base = {100000000, 6, 70000, 0, NULL, 0};
    struct twin_mc_result res;
    CU_ASSERT_EQUAL_FATAL(mc(&base, 1, 300000, 77, 0, 0, pct_a, &res), 0);
    for (int k = 1; k < TWIN_NPCT; k++)
        CU_ASSERT_EQUAL(pct_a[5][k], pct_a[5][0]);
    CU_ASSERT_EQUAL_FATAL(mc(&base, 3, 300000, 77, 0, 0, pct_a, &res), 0);
    for (int m = 0; m < 6; m++) {
        CU_ASSERT(pct_a[m][0] == pct_a[m][1] && pct_a[m][1] < pct_a[m][2]);
        CU_ASSERT(pct_a[m][2] == pct_a[m][3] && pct_a[m][3] == pct_a[m][4]);
    }
    CU_ASSERT_EQUAL_FATAL(mc(&base, 5, 300000, 77, 0, 0, pct_a, &res), 0);
    for (int m = 0; m < 6; m++) {
        CU_ASSERT(pct_a[m][0] < pct_a[m][1] && pct_a[m][1] < pct_a[m][2]);
        CU_ASSERT(pct_a[m][2] < pct_a[m][3] && pct_a[m][3] == pct_a[m][4]);
    }
    CU_ASSERT_EQUAL_FATAL(mc(&base, 21, 300000, 77, 0, 0, pct_a, &res), 0);
    for (int m = 0; m < 6; m++)
        for (int k = 1; k < TWIN_NPCT; k++)
            CU_ASSERT(pct_a[m][k - 1] < pct_a[m][k]);
}

/*
 * The percentiles of many paths (the bucket select, above 512 paths) are exact order
 * statistics. p_goal is counted by a plain loop over the final balances, so it checks them:
 * with v the value at index k = floor(q (n - 1)), exactly n - k paths are >= round(v) - 1 and
 * n - k - 1 are >= round(v) + 1, unless another path lies within 1.5 minor units of v (balances
 * of ~10^10 spread over a factor of 10: about 10^-6 likely, and the seed is fixed). A run
 * with a shorter horizon repeats the first months of a longer one, so any month can be the
 * last.
 */
static void test_twin_engine_mc_percentiles_exact(void)
{
    const long n = 5001, pct[TWIN_NPCT] = {5, 25, 50, 75, 95};
    const int horizons[3] = {1, 12, 24};
    for (int j = 0; j < TWIN_NPCT; j++)
        CU_ASSERT(twin_pct_q[j] == (double)pct[j] / 100.0);
    for (int h = 0; h < 3; h++) {
        struct twin_projection_input base = {10000000000, horizons[h], 70000, 0, NULL, 0};
        struct twin_mc_result res;
        CU_ASSERT_EQUAL_FATAL(mc(&base, n, 300000, 1234, 0, 0, pct_b, &res), 0);
        int64_t row[TWIN_NPCT];
        memcpy(row, pct_b[horizons[h] - 1], sizeof row);
        for (int j = 0; j < TWIN_NPCT; j++) {
            long k = (n - 1) * pct[j] / 100; /* in integers: 0.95 * 5000 is 4749.99... */
            CU_ASSERT_EQUAL_FATAL(mc(&base, n, 300000, 1234, 1, row[j] - 1, pct_a, &res), 0);
            CU_ASSERT(res.p_goal == (double)(n - k) / (double)n);
            CU_ASSERT_EQUAL_FATAL(mc(&base, n, 300000, 1234, 1, row[j] + 1, pct_a, &res), 0);
            CU_ASSERT(res.p_goal == (double)(n - k - 1) / (double)n);
        }
    }
}

/*
 * Without events every path stays positive and ln(balance_T / S) is a sum of T normals:
 * N(T mu, s sqrt(T)) with s = v / sqrt(12), mu = ln(1 + r/12) - s^2 / 2. So the median at T
 * is S exp(T mu) and the q-quantile S exp(T mu + z_q s sqrt(T)).
 *   S = 100,000,000, r = 7 %, v = 20 %, T = 120, n = 20,000 paths:
 *   s = 0.057735, mu = 0.0041497, sigma_T = s sqrt(T) = 0.63246, median = 164,537,157.
 * The sample median's standard error in log space is sqrt(pi/2) sigma_T / sqrt(n)
 * = 1.2533 * 0.63246 / 141.42 = 0.0056; a band of 5 of them is 0.028 (2.8 %). For p5 and p95,
 * sqrt(q(1-q)/n) / phi(z_q) * sigma_T = 0.00945, 5 of them 0.047. The nearest-rank-below
 * index moves the quantile by half a rank, 2.5e-5 in q, far inside the band. The seed is
 * fixed, so this never flickers; a wrong mu (say without -s^2/2: +0.2 in log space) or a
 * wrong s is far outside it.
 */
static void test_twin_engine_mc_lognormal_median(void)
{
    const double S = 1e8, r = 0.07, v = 0.20, z95 = 1.6448536269514715;
    const int T = 120;
    const long n = 20000;
    struct twin_projection_input base = {100000000, T, 70000, 0, NULL, 0};
    double s = v / sqrt(12.0), mu = log1p(r / 12.0) - s * s / 2.0, sig = s * sqrt((double)T);
    double median = S * exp(T * mu);
    struct twin_mc_result res;
    CU_ASSERT_EQUAL_FATAL(mc(&base, n, 200000, 20240601, 1, (int64_t)median, pct_a, &res), 0);

    double d50 = log((double)pct_a[T - 1][2] / median);
    double d05 = log((double)pct_a[T - 1][0] / (S * exp(T * mu - z95 * sig)));
    double d95 = log((double)pct_a[T - 1][4] / (S * exp(T * mu + z95 * sig)));
    if (fabs(d50) > 0.028 || fabs(d05) > 0.047 || fabs(d95) > 0.047)
        fprintf(stderr, "\n  log gaps: p50 %.4f p5 %.4f p95 %.4f\n", d50, d05, d95);
    CU_ASSERT(fabs(d50) < 0.028);
    CU_ASSERT(fabs(d05) < 0.047);
    CU_ASSERT(fabs(d95) < 0.047);
    CU_ASSERT(ordered(pct_a, T));
    for (int m = 0; m < T; m++)
        CU_ASSERT(pct_a[m][0] < pct_a[m][4]); /* a real spread every month */
    CU_ASSERT(res.p_ruin == 0.0);
    /* half the paths end above the median: standard error sqrt(.25 / n) = 0.0035 */
    CU_ASSERT(fabs(res.p_goal - 0.5) < 5 * 0.0035);
}

static void test_twin_engine_mc_ruin_and_goal(void)
{
    struct twin_mc_result res;
    struct twin_event huge = {TWIN_EV_EXPENSE, 1, 12, 1000000000000, 0};
    struct twin_projection_input drained = {1000000, 12, 70000, 0, &huge, 1};
    CU_ASSERT_EQUAL_FATAL(mc(&drained, 1000, 150000, 5, 1, 0, pct_a, &res), 0);
    CU_ASSERT(res.p_ruin == 1.0);
    CU_ASSERT(res.p_goal == 0.0);
    CU_ASSERT(pct_a[0][4] < 0);

    struct twin_projection_input calm = {1000000, 12, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL_FATAL(mc(&calm, 1000, 150000, 5, 1, 0, pct_a, &res), 0);
    CU_ASSERT(res.p_ruin == 0.0);
    CU_ASSERT(res.p_goal == 1.0); /* every balance is >= 0 */
    CU_ASSERT_EQUAL_FATAL(mc(&calm, 1000, 150000, 5, 0, 0, pct_a, &res), 0);
    CU_ASSERT(res.p_goal == 0.0); /* no goal asked */
    CU_ASSERT_EQUAL_FATAL(mc(&calm, 1000, 150000, 5, 1, INT64_MAX, pct_a, &res), 0);
    CU_ASSERT(res.p_goal == 0.0);

    /* one big expense in month 6 only: every path dips below zero there, then recovers; a
     * path that ran out once stays counted */
    struct twin_event ev[2] = {{TWIN_EV_EXPENSE, 6, 6, 10000000, 0},
                               {TWIN_EV_INCOME, 7, 7, 100000000, 0}};
    struct twin_projection_input dip = {1000000, 12, 70000, 0, ev, 2};
    CU_ASSERT_EQUAL_FATAL(mc(&dip, 1000, 150000, 5, 1, 0, pct_a, &res), 0);
    CU_ASSERT(pct_a[5][4] < 0 && pct_a[11][0] > 0);
    CU_ASSERT(res.p_ruin == 1.0);
    CU_ASSERT(res.p_goal == 1.0);
}

/* Only month ends count for running out of money, and a balance <= 0 does not grow. */
static void test_twin_engine_mc_negative_start(void)
{
    struct twin_mc_result res;
    struct twin_event inc = {TWIN_EV_INCOME, 1, 1, 1000, 0};
    struct twin_projection_input recovers = {-100, 12, 70000, 0, &inc, 1};
    CU_ASSERT_EQUAL_FATAL(mc(&recovers, 500, 150000, 9, 0, 0, pct_a, &res), 0);
    CU_ASSERT(res.p_ruin == 0.0);
    for (int k = 0; k < TWIN_NPCT; k++)
        CU_ASSERT_EQUAL(pct_a[0][k], 900); /* no growth on -100 in month 1 */

    struct twin_projection_input stuck = {-100, 24, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL_FATAL(mc(&stuck, 500, 500000, 9, 0, 0, pct_a, &res), 0);
    CU_ASSERT(res.p_ruin == 1.0);
    int all = 1;
    for (int m = 0; m < 24; m++)
        for (int k = 0; k < TWIN_NPCT; k++)
            all &= pct_a[m][k] == -100;
    CU_ASSERT(all);
}

/*
 * A volatility far beyond what rules.c accepts (20,000 %: s = 57.7, mu = -1666 a month) still
 * follows the contract: e^X underflows to 0, so every balance is 0 after month 1, which is
 * not below 0 (no ruin) and reaches a goal of 0 but not of 1.
 */
static void test_twin_engine_mc_extreme_volatility(void)
{
    struct twin_projection_input base = {10000000, 24, 70000, 0, NULL, 0};
    struct twin_mc_result res, again;
    CU_ASSERT_EQUAL_FATAL(mc(&base, 1001, 200000000, 3, 1, 0, pct_a, &res), 0);
    int zero = 1;
    for (int m = 0; m < 24; m++)
        for (int k = 0; k < TWIN_NPCT; k++)
            zero &= pct_a[m][k] == 0;
    CU_ASSERT(zero);
    CU_ASSERT(res.p_ruin == 0.0);
    CU_ASSERT(res.p_goal == 1.0);
    CU_ASSERT_EQUAL_FATAL(mc(&base, 1001, 200000000, 3, 1, 1, pct_b, &again), 0);
    CU_ASSERT(again.p_goal == 0.0);

    /* 300 %: wide, but every path keeps a positive balance and the bands stay ordered */
    CU_ASSERT_EQUAL_FATAL(mc(&base, 1001, 3000000, 3, 0, 0, pct_a, &res), 0);
    CU_ASSERT(ordered(pct_a, 24));
    CU_ASSERT(pct_a[23][4] > pct_a[23][0]);
    CU_ASSERT(res.p_ruin == 0.0);
}

static void test_twin_engine_mc_rejects_range(void)
{
    struct twin_mc_result res;
    struct twin_projection_input base = {1000000, 12, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&base, 0, 150000, 1, 0, 0, pct_a, &res), -1);
    CU_ASSERT_EQUAL(mc(&base, -1, 150000, 1, 0, 0, pct_a, &res), -1);
    CU_ASSERT_EQUAL(mc(&base, TWIN_PATHS_MAX + 1, 150000, 1, 0, 0, pct_a, &res), -1);
    CU_ASSERT_EQUAL(mc(&base, 10, -1, 1, 0, 0, pct_a, &res), -1);
    CU_ASSERT_EQUAL(mc(&base, 1, 0, 1, 0, 0, pct_a, &res), 0);

    /* paths * horizon: 100,000 x 360 is the limit, so 361 months or 60,001 x 600 are out */
    struct twin_projection_input h361 = {1000000, 361, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&h361, TWIN_PATHS_MAX, 150000, 1, 0, 0, pct_a, &res), -1);
    struct twin_projection_input h600 = {1000000, 600, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&h600, 60001, 150000, 1, 0, 0, pct_a, &res), -1);
    struct twin_projection_input h1 = {1000000, 1, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&h1, TWIN_PATHS_MAX, 150000, 1, 0, 0, pct_a, &res), 0);

    /* a rate at or below -1200 % a year has no log-return, from the start or from an event */
    struct twin_projection_input floor_rate = {1000000, 1, -12000000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&floor_rate, 10, 150000, 1, 0, 0, pct_a, &res), -1);
    floor_rate.annual_return = -11999999;
    CU_ASSERT_EQUAL(mc(&floor_rate, 10, 150000, 1, 0, 0, pct_a, &res), 0);
    struct twin_event crash = {TWIN_EV_RATE, 5, 0, 0, -12000000};
    struct twin_projection_input later = {1000000, 12, 70000, 0, &crash, 1};
    CU_ASSERT_EQUAL(mc(&later, 10, 150000, 1, 0, 0, pct_a, &res), -1);

    /* the projection's own limits apply */
    struct twin_projection_input h0 = {1000000, 0, 70000, 0, NULL, 0};
    CU_ASSERT_EQUAL(mc(&h0, 10, 150000, 1, 0, 0, pct_a, &res), -1);
    struct twin_event late = {TWIN_EV_INCOME, 13, 13, 1, 0};
    struct twin_projection_input bad_event = {1000000, 12, 70000, 0, &late, 1};
    CU_ASSERT_EQUAL(mc(&bad_event, 10, 150000, 1, 0, 0, pct_a, &res), -1);

    struct twin_mc_input in = {&base, 10, 150000, 1, 0, 0};
    struct twin_mc_result no_rows = {NULL, 0, 0};
    CU_ASSERT_EQUAL(twin_monte_carlo(&in, &no_rows), -1);
    in.base = NULL;
    CU_ASSERT_EQUAL(twin_monte_carlo(&in, &res), -1);
    CU_ASSERT_EQUAL(twin_monte_carlo(NULL, &res), -1);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("twin_engine", NULL, NULL);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_twin_engine_step_golden);
    ADD(test_twin_engine_step_levels);
    ADD(test_twin_engine_step_overflow);
    ADD(test_twin_engine_scenario_names);
    ADD(test_twin_engine_flags_order);
    ADD(test_twin_engine_recommendation_priority);
    ADD(test_twin_engine_project_rate_change);
    ADD(test_twin_engine_project_rounding_halves);
    ADD(test_twin_engine_project_events);
    ADD(test_twin_engine_project_negative_no_growth);
    ADD(test_twin_engine_project_real_value);
    ADD(test_twin_engine_project_rejects_range);
    ADD(test_twin_engine_project_overflow);
    ADD(test_twin_engine_mc_reproducible);
    ADD(test_twin_engine_mc_zero_volatility);
    ADD(test_twin_engine_mc_zero_volatility_steep);
    ADD(test_twin_engine_mc_percentile_ranks);
    ADD(test_twin_engine_mc_percentiles_exact);
    ADD(test_twin_engine_mc_lognormal_median);
    ADD(test_twin_engine_mc_ruin_and_goal);
    ADD(test_twin_engine_mc_negative_start);
    ADD(test_twin_engine_mc_extreme_volatility);
    ADD(test_twin_engine_mc_rejects_range);
#undef ADD
    return ft_cunit_run();
}

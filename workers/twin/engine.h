/*
 * workers/twin/engine.h — the digital twin's simulation engine: single-step what-if scenarios,
 * deterministic monthly projections and Monte Carlo bands. Pure C: no I/O, no globals, no
 * allocation except where a function says so; thread-safe; unit-tested alone
 * (tests/unit/test_twin_engine.c). The worker (handlers.c) reads live data, validates bodies
 * (rules.c) and calls in here; nothing here knows about PostgreSQL or msgpack.
 *
 * Units. Money is int64 minor units of one currency (the caller knows the exponent). Rates are
 * annual percentages scaled by TWIN_RATE_SCALE (7.5 % is 75000), so a rate read from JSON is
 * exact. The deterministic paths (twin_step, twin_project) use integer arithmetic only, with
 * __int128 intermediates and round-half-away-from-zero, so they give the same cents on every
 * machine. Monte Carlo is statistical: it runs in double and rounds to minor units at the end.
 */
#ifndef TWIN_ENGINE_H
#define TWIN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define TWIN_RATE_SCALE 10000 /* rates are percent * 10^4: 7.5 % == 75000 */

#define TWIN_HORIZON_MAX 600      /* months */
#define TWIN_EVENTS_MAX  64       /* events in one projection */
#define TWIN_PATHS_MAX   100000   /* Monte Carlo paths */
#define TWIN_CELLS_MAX   36000000 /* paths * months in one run (100,000 paths x 360 months) */
#define TWIN_FLAGS_MAX   3

/* ---- single step ---- */

enum twin_scenario {
    TWIN_WITHDRAWAL,        /* V = B - a */
    TWIN_DEPOSIT,           /* V = B + a */
    TWIN_RATE_CHANGE,       /* V = B * (1 + a/100); a is a percentage (TWIN_RATE_SCALE) */
    TWIN_RECURRING_EXPENSE, /* a per month for 12 months: V = B - 12a */
    TWIN_INVESTMENT_GROWTH, /* a invested for 12 months at the default return: V = B + a*r/100 */
    TWIN_EMERGENCY_FUND,    /* a set aside: V = B - a is what stays spendable */
    TWIN_SCENARIO_COUNT,
};

/* "withdrawal" ... "emergency_fund" <-> enum. parse returns 0, or -1 for an unknown name. */
int twin_scenario_parse(const char *name, enum twin_scenario *out);
const char *twin_scenario_name(enum twin_scenario s);

enum twin_level { TWIN_LOW, TWIN_MEDIUM, TWIN_HIGH };
const char *twin_level_name(enum twin_level l); /* "low", "medium", "high" */

/* Risk rule bits of twin_step_result.rules. */
#define TWIN_RULE_BIG_OUTFLOW 1u /* +30: the outflow is above 50 % of the balance */
#define TWIN_RULE_LOW_BALANCE 2u /* +20: V below the currency's low-balance threshold */
#define TWIN_RULE_OVERDRAWN   4u /* +40: V < 0 */

struct twin_step_input {
    enum twin_scenario scenario;
    int64_t balance;        /* B: the account's live balance, minor units (>= 0 for users) */
    int64_t amount;         /* a: minor units (> 0), or for TWIN_RATE_CHANGE a rate */
    int64_t default_return; /* r for TWIN_INVESTMENT_GROWTH: annual, TWIN_RATE_SCALE */
    int64_t low_balance;    /* threshold in minor units; < 0: no low-balance rule */
    int64_t avg_outflow;    /* average monthly outflow (minor units) for TWIN_EMERGENCY_FUND;
                               <= 0: unknown, months_covered is then -1 */
};

struct twin_step_result {
    int64_t virtual_balance; /* V */
    int64_t outflow;         /* money the scenario takes out of the balance (0 for inflows) */
    int score;               /* 10 + rules, capped at 100 */
    enum twin_level level;   /* low <= 30 < medium <= 60 < high */
    unsigned rules;          /* TWIN_RULE_* bits */
    /* TWIN_EMERGENCY_FUND: whole months of avg_outflow that V covers (floor), -1 when
     * avg_outflow is unknown or V < 0; -1 for the other scenarios. */
    int64_t months_covered;
};

/*
 * Which money counts as an outflow for the 50 % rule: withdrawal a, recurring_expense 12a,
 * investment_growth a (it leaves the cash balance). Deposits, rate changes and an emergency
 * fund (money set aside stays the user's) are not outflows. A balance <= 0 with any outflow
 * counts as above 50 %.
 * Returns 0, or -1 when V or the outflow would not fit in int64 (nothing else is checked
 * here: amounts and rates are validated by rules.c first).
 */
int twin_step(const struct twin_step_input *in, struct twin_step_result *out);

/*
 * The flag sentences of the rules set in `rules`, in the order overdrawn, big outflow, low
 * balance, into flags[0..n-1] (static strings, or `low_text` for the low-balance rule, which
 * the caller renders with the threshold: "Balance would fall below $1,000.00"). Returns n.
 */
int twin_flags(unsigned rules, const char *low_text, const char *flags[TWIN_FLAGS_MAX]);

/* One recommendation sentence for the outcome (the most serious rule first: overdraft, then
 * big outflow, then low balance, else a "stays healthy" sentence). A static string. */
const char *twin_recommendation(unsigned rules);

/* ---- projection ---- */

enum twin_event_kind {
    TWIN_EV_INCOME,  /* amount added in each month of [start, end] */
    TWIN_EV_EXPENSE, /* amount taken in each month of [start, end] */
    TWIN_EV_RATE,    /* from month `start` on, the annual return is `rate` */
};

struct twin_event {
    enum twin_event_kind kind;
    int start, end; /* months, 1-based, inclusive; a one-off has start == end; RATE: end unused */
    int64_t amount; /* minor units, > 0 (INCOME/EXPENSE) */
    int64_t rate;   /* TWIN_EV_RATE: annual return, TWIN_RATE_SCALE (may be negative) */
};

struct twin_projection_input {
    int64_t start_balance; /* minor units (may be negative only if a caller gives it) */
    int horizon;           /* months, 1..TWIN_HORIZON_MAX */
    int64_t annual_return; /* TWIN_RATE_SCALE, until a TWIN_EV_RATE changes it */
    int64_t inflation;     /* annual, TWIN_RATE_SCALE, >= 0 */
    const struct twin_event *events;
    size_t nevents; /* <= TWIN_EVENTS_MAX */
};

/*
 * One month of the deterministic projection. Month m (1..horizon) is applied in this order:
 *   growth  = round(balance * rate_m / (12 * 100 * TWIN_RATE_SCALE))  when balance > 0, else 0
 *             (the annual rate compounded monthly; a negative balance earns and costs nothing)
 *   balance = balance + growth + income_m - expense_m
 * where rate_m is the annual return in force in month m (the last TWIN_EV_RATE with
 * start <= m, else annual_return) and income_m/expense_m sum the events active in month m.
 * real = round(balance / (1 + inflation/100)^(m/12)): today's money (computed in double and
 * rounded; the only non-integer step of the deterministic projection).
 */
struct twin_month {
    int64_t nominal, real;
    int64_t income, expense, growth; /* of this month */
};

struct twin_projection {
    struct twin_month *months; /* caller-provided, horizon entries; [0] is month 1 */
    int first_negative;        /* first month whose nominal balance is < 0, 0 if none */
    int64_t total_income, total_expense, total_growth;
    int64_t end_balance; /* months[horizon-1].nominal */
};

/*
 * Runs the deterministic projection into out (out->months must hold in->horizon entries).
 * Returns 0, or -1 when the input is out of range (horizon, nevents, an event's months) or a
 * balance/total would overflow int64 (nothing useful is left in out then).
 */
int twin_project(const struct twin_projection_input *in, struct twin_projection *out);

/* ---- Monte Carlo ---- */

/*
 * Each path draws one log-return per month, X ~ N(mu, s) with s = volatility / sqrt(12) and
 * mu = ln(1 + rate_m / 12) - s^2 / 2 (so E[e^X] = 1 + rate_m/12: the mean path follows the
 * deterministic projection's growth), and applies
 *   balance = (balance > 0 ? balance * e^X : balance) + income_m - expense_m.
 * Normals come from xoshiro256** seeded through splitmix64(seed) and the Marsaglia polar
 * method: the same input and seed give bit-identical output on one build.
 * A path "runs out of money" when its balance is < 0 at the end of any month; it "reaches the
 * goal" when its balance is >= goal at the end of the horizon.
 * Percentiles per month are nearest-rank-below over the paths: the value at index
 * floor(q * (paths - 1)) of that month's sorted balances, q in {.05, .25, .50, .75, .95}.
 */
#define TWIN_NPCT 5
extern const double twin_pct_q[TWIN_NPCT]; /* 0.05, 0.25, 0.50, 0.75, 0.95 */

struct twin_mc_input {
    const struct twin_projection_input *base; /* start, horizon, rates, events */
    long paths;         /* 1..TWIN_PATHS_MAX; paths*horizon <= TWIN_CELLS_MAX */
    int64_t volatility; /* annual, TWIN_RATE_SCALE, >= 0 */
    uint64_t seed;
    int has_goal;
    int64_t goal; /* minor units */
};

struct twin_mc_result {
    int64_t (*pct)[TWIN_NPCT]; /* caller-provided, horizon rows; pct[m-1][k] for q[k], rounded */
    double p_ruin;             /* share of paths that ran out of money, 0..1 */
    double p_goal;             /* share that reached the goal, 0..1 (0 without a goal) */
};

/*
 * Runs the Monte Carlo. Allocates O(paths) doubles for the run (aborts on OOM, like x*
 * allocators) and frees them before returning. Returns 0, or -1 for an input out of range.
 */
int twin_monte_carlo(const struct twin_mc_input *in, struct twin_mc_result *out);

#endif

import { describe, expect, it } from "vitest";
import {
  buildProjection,
  chartRows,
  checkPercent,
  checkScenarioAmount,
  compactMoney,
  DEFAULT_DRAFT,
  formatShare,
  historyRow,
  levelBox,
  monthLabel,
  monthTicks,
  riskColor,
  SCENARIOS,
  type Projection,
  type ProjectionDraft,
} from "./TwinModel";

describe("scenarios", () => {
  it("lists the six the API knows, each with its own label and help", () => {
    expect(SCENARIOS.map((s) => s.id)).toEqual(["withdrawal", "deposit", "rate_change", "recurring_expense", "investment_growth", "emergency_fund"]);
    expect(new Set(SCENARIOS.map((s) => s.amountLabel)).size).toBe(6);
    expect(new Set(SCENARIOS.map((s) => s.help)).size).toBe(6);
  });

  it("checks money amounts in the account's currency and the rate change as a percent", () => {
    expect(checkScenarioAmount("withdrawal", "1,500.50", "USD")).toEqual({ ok: true, value: "1500.50" });
    expect(checkScenarioAmount("withdrawal", "1.505", "USD").ok).toBe(false);
    expect(checkScenarioAmount("deposit", "0", "USD").ok).toBe(false);
    expect(checkScenarioAmount("rate_change", "-2.5", "USD")).toEqual({ ok: true, value: "-2.5" });
    expect(checkScenarioAmount("rate_change", "1000", "USD")).toEqual({ ok: true, value: "1000" });
    expect(checkScenarioAmount("rate_change", "-100", "USD").ok).toBe(false);
    expect(checkScenarioAmount("rate_change", "-99.9999", "USD").ok).toBe(true);
    expect(checkScenarioAmount("rate_change", "1000.0001", "USD").ok).toBe(false);
  });
});

describe("checkPercent", () => {
  it("is exact to 4 decimals and trims what people type", () => {
    expect(checkPercent(" 7.50 % ", -100, 100)).toEqual({ ok: true, value: "7.5" });
    expect(checkPercent("007", -100, 100)).toEqual({ ok: true, value: "7" });
    expect(checkPercent("−3", -100, 100)).toEqual({ ok: true, value: "-3" });
    expect(checkPercent("-0", -100, 100)).toEqual({ ok: true, value: "0" });
    expect(checkPercent("1.23456", -100, 100)).toEqual({ ok: false, error: "At most 4 decimals." });
    expect(checkPercent("1.23450", -100, 100)).toEqual({ ok: true, value: "1.2345" });
    expect(checkPercent("abc", 0, 100).ok).toBe(false);
    expect(checkPercent("", 0, 100).ok).toBe(false);
    expect(checkPercent("-0.0001", 0, 100).ok).toBe(false);
    expect(checkPercent("100", 0, 100).ok).toBe(true);
    expect(checkPercent("100.0001", 0, 100).ok).toBe(false);
  });
});

describe("colours and texts", () => {
  it("colours risk by score: ≤30 green, ≤60 amber, else red", () => {
    expect(riskColor(0)).toBe("var(--green)");
    expect(riskColor(30)).toBe("var(--green)");
    expect(riskColor(31)).toBe("var(--amber)");
    expect(riskColor(60)).toBe("var(--amber)");
    expect(riskColor(61)).toBe("var(--red)");
    expect(levelBox("low")).toBe("ok");
    expect(levelBox("medium")).toBe("warn");
    expect(levelBox("high")).toBe("error");
  });

  it("shows shares as percentages", () => {
    expect(formatShare(0)).toBe("0%");
    expect(formatShare(1)).toBe("100%");
    expect(formatShare(0.03215)).toBe("3.2%");
    expect(formatShare(0.0004)).toBe("<0.1%");
    expect(formatShare(0.9996)).toBe(">99.9%");
    expect(formatShare(0.5)).toBe("50.0%");
    expect(formatShare(null)).toBe("—");
  });

  it("labels the month axis compactly", () => {
    expect(monthTicks(12)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    expect(monthTicks(120)).toEqual([0, 24, 48, 72, 96, 120]);
    expect(monthTicks(600).length).toBeLessThanOrEqual(9);
    expect(monthTicks(3)).toEqual([0, 1, 2, 3]);
    expect(monthLabel(0, 120)).toBe("Now");
    expect(monthLabel(24, 120)).toBe("2y");
    expect(monthLabel(6, 12)).toBe("6m");
    expect(compactMoney(1234567, "USD")).toBe("$1.2M");
    expect(compactMoney(250000, "EUR")).toBe("€250K");
    expect(compactMoney(500, "GBP")).toBe("£500");
    expect(compactMoney(-20000, "USD")).toBe("-$20K");
  });
});

const draft = (patch: Partial<ProjectionDraft>): ProjectionDraft => ({ ...DEFAULT_DRAFT, ...patch });

describe("buildProjection", () => {
  it("builds the README's example from the form", () => {
    const b = buildProjection(
      draft({
        horizon: "360",
        annualReturn: "6",
        inflation: "2.5",
        events: [
          { key: 1, type: "expense", amount: "1200", month: "1", recurring: true, endMonth: "" },
          { key: 2, type: "income", amount: "50,000", month: "120", recurring: false, endMonth: "" },
          { key: 3, type: "rate_change", amount: "3", month: "240", recurring: false, endMonth: "" },
        ],
        paths: "10000",
        volatility: "15",
        goal: "250000",
      }),
      "USD",
    );
    expect(b).toEqual({
      ok: true,
      body: {
        horizon_months: 360,
        annual_return: "6",
        inflation: "2.5",
        events: [
          { type: "expense", amount: "1200", month: 1, recurring: true },
          { type: "income", amount: "50000", month: 120 },
          { type: "rate_change", rate: "3", month: 240 },
        ],
        monte_carlo: { paths: 10000, volatility: "15", goal: "250000" },
      },
    });
  });

  it("sends a starting balance, an end month and no Monte Carlo when asked", () => {
    const b = buildProjection(
      draft({ useStart: true, startBalance: "0", monteCarlo: false, events: [{ key: 7, type: "income", amount: "10", month: "2", recurring: true, endMonth: "5" }] }),
      "USD",
    );
    expect(b.ok && b.body).toEqual({
      horizon_months: 120,
      annual_return: "7",
      inflation: "2.5",
      start_balance: "0",
      events: [{ type: "income", amount: "10", month: 2, recurring: true, end_month: 5 }],
    });
  });

  it("names every wrong field", () => {
    const b = buildProjection(
      draft({
        horizon: "601",
        annualReturn: "101",
        inflation: "-1",
        useStart: true,
        startBalance: "1.234",
        paths: "0",
        volatility: "201",
        goal: "-5",
        events: [
          { key: 4, type: "expense", amount: "0", month: "0", recurring: true, endMonth: "" },
          { key: 5, type: "rate_change", amount: "150", month: "3", recurring: false, endMonth: "" },
        ],
      }),
      "USD",
    );
    expect(b.ok).toBe(false);
    if (!b.ok) {
      expect(Object.keys(b.errors).sort()).toEqual(
        ["event-4-amount", "event-4-month", "event-5-amount", "goal", "horizon", "inflation", "paths", "return", "start", "volatility"].sort(),
      );
    }
  });

  it("refuses more paths × months than the worker allows", () => {
    const b = buildProjection(draft({ horizon: "600", paths: "100000" }), "USD");
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.errors.paths).toMatch(/at most 60,000 paths/);
    expect(buildProjection(draft({ horizon: "600", paths: "60000" }), "USD").ok).toBe(true);
  });

  it("checks event months against the horizon and end months against the start", () => {
    const b = buildProjection(draft({ horizon: "12", events: [{ key: 1, type: "income", amount: "5", month: "6", recurring: true, endMonth: "4" }] }), "USD");
    expect(!b.ok && b.errors["event-1-end"]).toBeTruthy();
    const c = buildProjection(draft({ horizon: "12", events: [{ key: 1, type: "income", amount: "5", month: "13", recurring: false, endMonth: "" }] }), "USD");
    expect(!c.ok && c.errors["event-1-month"]).toBeTruthy();
  });
});

describe("chartRows", () => {
  const reply: Projection = {
    id: "x",
    kind: "projection",
    account_id: null,
    currency: "USD",
    start_balance: "11700.50",
    start_is_live_balance: true,
    horizon_months: 2,
    end_balance: "9385.40",
    first_negative_month: null,
    p_ruin: 0,
    created_at: "2026-01-01T00:00:00Z",
    annual_return: 6,
    inflation: 2.5,
    events: [],
    totals: { income: "0.00", expense: "2400.00", growth: "84.90", end_real_balance: "9346.85" },
    months: [
      { month: 1, balance: "10559.00", real_balance: "10537.29", income: "0.00", expense: "1200.00", growth: "58.50" },
      { month: 2, balance: "9385.40", real_balance: "9346.85", income: "0.00", expense: "1200.00", growth: "26.40" },
    ],
    monte_carlo: {
      paths: 100,
      volatility: 15,
      seed: 1,
      goal: "250000.00",
      p_ruin: 0,
      p_goal: 0,
      bands: [
        { month: 1, p5: "9606.66", p25: "10166.79", p50: "10587.00", p75: "10894.28", p95: "11479.06" },
        { month: 2, p5: "8218.23", p25: "8771.89", p50: "9377.35", p75: "9916.77", p95: "10449.23" },
      ],
    },
  };

  it("starts at month 0 with the starting balance and keeps exact texts beside plotted numbers", () => {
    const rows = chartRows(reply);
    expect(rows.map((r) => r.month)).toEqual([0, 1, 2]);
    expect(rows[0]).toMatchObject({ balance: 11700.5, p5: 11700.5, p95: 11700.5, exact: { balance: "11700.50", p50: "11700.50" } });
    expect(rows[2]).toMatchObject({ balance: 9385.4, real: 9346.85, p25: 8771.89, p75: 9916.77, exact: { p95: "10449.23", real: "9346.85" } });
  });

  it("has no band values without Monte Carlo", () => {
    const rows = chartRows({ ...reply, monte_carlo: null });
    expect(rows[1].p50).toBeUndefined();
    expect(rows[0].p5).toBeUndefined();
  });
});

describe("historyRow", () => {
  it("reads both simulations and projections", () => {
    expect(
      historyRow({ id: "1", kind: "scenario", account_id: null, currency: "USD", scenario: "withdrawal", amount: "9000.00", current_balance: "11700.50", virtual_balance: "2700.50", created_at: "" }),
    ).toEqual({ what: "Large Withdrawal", amount: { money: "9000.00" }, before: "11700.50", after: "2700.50" });
    expect(historyRow({ id: "2", account_id: null, currency: "USD", scenario: "rate_change", amount: "5", before_balance: "1.00", after_balance: "1.05", created_at: "" })).toMatchObject({
      what: "Interest Rate Change",
      amount: { percent: "5%" },
    });
    expect(
      historyRow({ id: "3", kind: "projection", account_id: null, currency: "USD", horizon_months: 360, start_balance: "1.00", end_balance: "2.00", created_at: "" }),
    ).toEqual({ what: "Projection · 360 months", amount: null, before: "1.00", after: "2.00" });
  });
});

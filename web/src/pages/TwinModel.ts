// The Digital Twin page's pure parts: the six scenarios as people see them, checks of what is
// typed (amounts via money.ts, percentages exactly here), the projection request built from the
// form, and the projection reply turned into chart rows. No React, no floats on money except
// chart coordinates (chartValue) and the axis' compact labels.
import { chartValue, checkAmount, type Money } from "../lib/money";

export type ScenarioId = "withdrawal" | "deposit" | "rate_change" | "recurring_expense" | "investment_growth" | "emergency_fund";

export interface ScenarioInfo {
  id: ScenarioId;
  /** The button's name. */
  name: string;
  /** The amount field's label. */
  amountLabel: string;
  help: string;
  placeholder: string;
  /** True when the amount is a percentage, not money. */
  percent?: boolean;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    id: "withdrawal",
    name: "Large Withdrawal",
    amountLabel: "Withdrawal amount",
    help: "What if you took this much out of your account today?",
    placeholder: "1500.00",
  },
  {
    id: "deposit",
    name: "Large Deposit",
    amountLabel: "Deposit amount",
    help: "What if this much came in today — a bonus, a sale, a gift?",
    placeholder: "2500.00",
  },
  {
    id: "rate_change",
    name: "Interest Rate Change",
    amountLabel: "Rate change (%)",
    help: "Your balance grows or shrinks by this percentage, e.g. 5 or -2.5 (above -100, at most 1000).",
    placeholder: "5",
    percent: true,
  },
  {
    id: "recurring_expense",
    name: "Recurring Expense",
    amountLabel: "Monthly expense",
    help: "A new bill every month; the twin applies a full year of it (12 payments).",
    placeholder: "250.00",
  },
  {
    id: "investment_growth",
    name: "Investment Growth",
    amountLabel: "Amount to invest",
    help: "Moved from your balance into an investment that grows for a year at the twin's default annual return.",
    placeholder: "5000.00",
  },
  {
    id: "emergency_fund",
    name: "Emergency Fund",
    amountLabel: "Amount to set aside",
    help: "How many months the rest of your balance would cover, from your spending over the last 90 days.",
    placeholder: "3000.00",
  },
];

export function scenarioInfo(id: string): ScenarioInfo | undefined {
  return SCENARIOS.find((s) => s.id === id);
}

/** The scenario's name for a history row ("Large Withdrawal"), or the raw id. */
export function scenarioName(id: string | null | undefined): string {
  return (id && scenarioInfo(id)?.name) || id || "—";
}

export type Check<T = string> = { ok: true; value: T } | { ok: false; error: string };

const PERCENT = /^([+-]?)(\d+)(?:\.(\d*))?$/;

/**
 * A percentage as typed, checked exactly as the twin worker reads it: a decimal with at most
 * 4 decimals in [lo, hi] (lo excluded when loOpen). The value sent is the cleaned text.
 */
export function checkPercent(text: string, lo: number, hi: number, opts: { loOpen?: boolean; what?: string } = {}): Check {
  const cleaned = text.trim().replace(/\s/g, "").replace(/%$/, "").replace(/^−/, "-");
  const what = opts.what ?? "The percentage";
  if (cleaned === "") return { ok: false, error: "Enter a percentage, e.g. 2.5." };
  const m = PERCENT.exec(cleaned);
  if (!m) return { ok: false, error: "Use digits, an optional minus sign and at most one decimal point, e.g. 2.5." };
  const frac = (m[3] ?? "").replace(/0+$/, "");
  if (frac.length > 4) return { ok: false, error: "At most 4 decimals." };
  // Exact comparison in 1/10000 of a percent.
  const units = BigInt(m[2] + frac.padEnd(4, "0")) * (m[1] === "-" ? -1n : 1n);
  const loU = BigInt(lo) * 10000n;
  const hiU = BigInt(hi) * 10000n;
  const range = `${what} must be ${opts.loOpen ? "above" : "from"} ${lo} ${opts.loOpen ? "and at most" : "to"} ${hi}.`;
  if (units > hiU || units < loU || (opts.loOpen && units === loU)) return { ok: false, error: range };
  const int = m[2].replace(/^0+(?=\d)/, "");
  const value = `${m[1] === "-" && units !== 0n ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
  return { ok: true, value };
}

/** A whole number typed in [lo, hi]. */
export function checkWhole(text: string, lo: number, hi: number, what: string): Check<number> {
  const t = text.trim().replace(/[,\s]/g, "");
  if (t === "") return { ok: false, error: `Enter ${what}.` };
  if (!/^\d+$/.test(t)) return { ok: false, error: `${cap(what)} must be a whole number.` };
  const n = Number(t);
  if (n < lo || n > hi) return { ok: false, error: `${cap(what)} must be from ${lo.toLocaleString("en-US")} to ${hi.toLocaleString("en-US")}.` };
  return { ok: true, value: n };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The scenario amount as typed: money in the account's currency, or the rate_change percent. */
export function checkScenarioAmount(scenario: ScenarioId, text: string, currency: string): Check {
  if (scenario === "rate_change") return checkPercent(text, -100, 1000, { loOpen: true, what: "The rate change" });
  return checkAmount(text, currency);
}

/** Risk colours, the risk levels' bounds: ≤ 30 green, ≤ 60 amber, above red. */
export function riskColor(score: number): string {
  return score <= 30 ? "var(--green)" : score <= 60 ? "var(--amber)" : "var(--red)";
}

/** The recommendation box's alert-box class for a level. */
export function levelBox(level: string): "ok" | "warn" | "error" {
  return level === "high" ? "error" : level === "medium" ? "warn" : "ok";
}

/** A share (0…1) as a percentage for people: 0.03215 → "3.2%", tiny non-zero → "<0.1%". */
export function formatShare(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "—";
  if (p <= 0) return "0%";
  if (p >= 1) return "100%";
  if (p < 0.001) return "<0.1%";
  if (p > 0.999) return ">99.9%";
  return `${(Math.round(p * 1000) / 10).toFixed(1)}%`;
}

// ---- projection ----

export interface EventDraft {
  key: number;
  type: "income" | "expense" | "rate_change";
  /** Money for income/expense, the new annual rate (%) for a rate change. */
  amount: string;
  month: string;
  recurring: boolean;
  endMonth: string;
}

export interface ProjectionDraft {
  horizon: string;
  annualReturn: string;
  inflation: string;
  useStart: boolean;
  startBalance: string;
  events: EventDraft[];
  monteCarlo: boolean;
  paths: string;
  volatility: string;
  goal: string;
}

export const DEFAULT_DRAFT: ProjectionDraft = {
  horizon: "120",
  annualReturn: "7",
  inflation: "2.5",
  useStart: false,
  startBalance: "",
  events: [],
  monteCarlo: true,
  paths: "2000",
  volatility: "15",
  goal: "",
};

export const MAX_EVENTS = 64;
export const MAX_HORIZON = 600;
export const MAX_PATHS = 100000;
export const MAX_CELLS = 36000000;

export interface ProjectionEvent {
  type: "income" | "expense" | "rate_change";
  amount?: Money;
  rate?: string;
  month?: number;
  recurring?: boolean;
  end_month?: number;
}

export interface ProjectionRequest {
  horizon_months: number;
  annual_return: string;
  inflation: string;
  start_balance?: Money;
  events: ProjectionEvent[];
  monte_carlo?: { paths: number; volatility: string; goal?: Money };
}

/** Field errors keyed by the input's id suffix: "horizon", "event-3-amount", … */
export type DraftErrors = Record<string, string>;

/** The request the form describes, or the errors to show next to each field. */
export function buildProjection(d: ProjectionDraft, currency: string): { ok: true; body: ProjectionRequest } | { ok: false; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const horizon = checkWhole(d.horizon, 1, MAX_HORIZON, "the horizon");
  if (!horizon.ok) errors.horizon = horizon.error;
  const ret = checkPercent(d.annualReturn, -100, 100, { what: "The annual return" });
  if (!ret.ok) errors.return = ret.error;
  const inf = checkPercent(d.inflation, 0, 100, { what: "Inflation" });
  if (!inf.ok) errors.inflation = inf.error;
  let start: Money | undefined;
  if (d.useStart) {
    const s = checkAmount(d.startBalance, currency, { allowZero: true });
    if (!s.ok) errors.start = s.error;
    else start = s.value;
  }
  const h = horizon.ok ? horizon.value : MAX_HORIZON;
  if (d.events.length > MAX_EVENTS) errors.events = `At most ${MAX_EVENTS} events.`;
  const events: ProjectionEvent[] = [];
  for (const ev of d.events) {
    const p = `event-${ev.key}`;
    const month = checkWhole(ev.month, 1, h, "the month");
    if (!month.ok) errors[`${p}-month`] = month.error;
    if (ev.type === "rate_change") {
      const r = checkPercent(ev.amount, -100, 100, { what: "The new rate" });
      if (!r.ok) errors[`${p}-amount`] = r.error;
      if (r.ok && month.ok) events.push({ type: "rate_change", rate: r.value, month: month.value });
      continue;
    }
    const a = checkAmount(ev.amount, currency);
    if (!a.ok) errors[`${p}-amount`] = a.error;
    let end: number | undefined;
    if (ev.recurring && ev.endMonth.trim() !== "") {
      const e = checkWhole(ev.endMonth, month.ok ? month.value : 1, h, "the last month");
      if (!e.ok) errors[`${p}-end`] = e.error;
      else end = e.value;
    }
    if (a.ok && month.ok) {
      const out: ProjectionEvent = { type: ev.type, amount: a.value, month: month.value };
      if (ev.recurring) {
        out.recurring = true;
        if (end !== undefined) out.end_month = end;
      }
      events.push(out);
    }
  }
  let mc: ProjectionRequest["monte_carlo"];
  if (d.monteCarlo) {
    const paths = checkWhole(d.paths, 1, MAX_PATHS, "the number of paths");
    if (!paths.ok) errors.paths = paths.error;
    else if (horizon.ok && paths.value * horizon.value > MAX_CELLS) {
      errors.paths = `Paths × months must be at most ${MAX_CELLS.toLocaleString("en-US")}: at most ${Math.floor(MAX_CELLS / horizon.value).toLocaleString("en-US")} paths for ${horizon.value} months.`;
    }
    const vol = checkPercent(d.volatility, 0, 200, { what: "Volatility" });
    if (!vol.ok) errors.volatility = vol.error;
    let goal: Money | undefined;
    if (d.goal.trim() !== "") {
      const g = checkAmount(d.goal, currency);
      if (!g.ok) errors.goal = g.error;
      else goal = g.value;
    }
    if (paths.ok && vol.ok) mc = { paths: paths.value, volatility: vol.value, ...(goal !== undefined ? { goal } : {}) };
  }
  if (Object.keys(errors).length || !horizon.ok || !ret.ok || !inf.ok) return { ok: false, errors };
  const body: ProjectionRequest = { horizon_months: horizon.value, annual_return: ret.value, inflation: inf.value, events };
  if (start !== undefined) body.start_balance = start;
  if (mc) body.monte_carlo = mc;
  return { ok: true, body };
}

export interface ProjectionMonth {
  month: number;
  balance: Money;
  real_balance: Money;
  income: Money;
  expense: Money;
  growth: Money;
}

export interface ProjectionBand {
  month: number;
  p5: Money;
  p25: Money;
  p50: Money;
  p75: Money;
  p95: Money;
}

export interface Projection {
  id: string;
  kind: "projection";
  account_id: string | null;
  currency: string;
  start_balance: Money;
  start_is_live_balance: boolean;
  horizon_months: number;
  end_balance: Money;
  first_negative_month: number | null;
  p_ruin: number | null;
  created_at: string;
  annual_return: number;
  inflation: number;
  events: unknown[];
  totals: { income: Money; expense: Money; growth: Money; end_real_balance: Money };
  months: ProjectionMonth[];
  monte_carlo: {
    paths: number;
    volatility: number;
    seed: number;
    goal: Money | null;
    p_ruin: number;
    p_goal: number | null;
    bands: ProjectionBand[];
  } | null;
}

/** One point of the fan chart: numbers to plot, the exact texts for the tooltip. */
export interface ChartRow {
  month: number;
  balance: number;
  real: number;
  p5?: number;
  p25?: number;
  p50?: number;
  p75?: number;
  p95?: number;
  exact: { balance: Money; real: Money; p5?: Money; p25?: Money; p50?: Money; p75?: Money; p95?: Money };
}

/** The reply as chart rows, with month 0 the starting balance (every band starts there). */
export function chartRows(p: Projection): ChartRow[] {
  const c = p.currency;
  const v = (m: Money) => chartValue(m, c);
  const s = p.start_balance;
  const start: ChartRow = { month: 0, balance: v(s), real: v(s), exact: { balance: s, real: s } };
  if (p.monte_carlo) {
    const n = v(s);
    Object.assign(start, { p5: n, p25: n, p50: n, p75: n, p95: n });
    Object.assign(start.exact, { p5: s, p25: s, p50: s, p75: s, p95: s });
  }
  const rows: ChartRow[] = [start];
  const bands = new Map((p.monte_carlo?.bands ?? []).map((b) => [b.month, b]));
  for (const m of p.months) {
    const row: ChartRow = { month: m.month, balance: v(m.balance), real: v(m.real_balance), exact: { balance: m.balance, real: m.real_balance } };
    const b = bands.get(m.month);
    if (b) {
      row.p5 = v(b.p5);
      row.p25 = v(b.p25);
      row.p50 = v(b.p50);
      row.p75 = v(b.p75);
      row.p95 = v(b.p95);
      Object.assign(row.exact, { p5: b.p5, p25: b.p25, p50: b.p50, p75: b.p75, p95: b.p95 });
    }
    rows.push(row);
  }
  return rows;
}

/** X-axis ticks: every few months for short horizons, whole years otherwise, at most ~8. */
export function monthTicks(horizon: number): number[] {
  const steps = horizon <= 24 ? [1, 2, 3, 6, 12] : [12, 24, 36, 60, 120, 240];
  const step = steps.find((s) => horizon / s <= 8) ?? 240;
  const out: number[] = [];
  for (let m = 0; m <= horizon; m += step) out.push(m);
  return out;
}

/** An x-axis label: "6m" under two years, else "5y" on whole years ("18m" off them). */
export function monthLabel(month: number, horizon: number): string {
  if (month === 0) return "Now";
  if (horizon > 24 && month % 12 === 0) return `${month / 12}y`;
  return `${month}m`;
}

/** "Month 18 (1 y 6 m)" for tooltips. */
export function monthTitle(month: number): string {
  if (month === 0) return "Now";
  const y = Math.floor(month / 12);
  const m = month % 12;
  if (!y) return `Month ${month}`;
  return `Month ${month} (${y} y${m ? ` ${m} m` : ""})`;
}

/** A compact axis label for a plotted value: $1.2M, €250K, ₹12L. Plotting only, never a figure. */
export function compactMoney(value: number, currency: string): string {
  if (!Number.isFinite(value)) return "";
  try {
    return new Intl.NumberFormat(currency === "INR" ? "en-IN" : "en-US", {
      style: "currency",
      currency,
      notation: "compact",
      minimumFractionDigits: 0,
      maximumFractionDigits: Math.abs(value) >= 1000 ? 1 : 0,
    }).format(value);
  } catch {
    return `${currency} ${Math.round(value)}`;
  }
}

// ---- history ----

/** A history item: a one-step simulation (kind "scenario") or a projection's head. */
export interface HistoryItem {
  id: string;
  kind?: "scenario" | "projection" | string;
  account_id: string | null;
  currency: string;
  scenario?: string;
  amount?: Money;
  current_balance?: Money;
  virtual_balance?: Money;
  before_balance?: Money;
  after_balance?: Money;
  start_balance?: Money;
  end_balance?: Money;
  horizon_months?: number;
  risk_score?: number;
  alert_level?: "low" | "medium" | "high";
  p_ruin?: number | null;
  created_at: string;
}

/** What a history row shows, as exact texts (amounts not yet formatted). */
export function historyRow(it: HistoryItem): { what: string; amount: { money: Money } | { percent: string } | null; before: Money | null; after: Money | null } {
  const before = it.before_balance ?? it.current_balance ?? it.start_balance ?? null;
  const after = it.after_balance ?? it.virtual_balance ?? it.end_balance ?? null;
  if (it.kind === "projection") {
    const h = it.horizon_months;
    return { what: h ? `Projection · ${h} ${h === 1 ? "month" : "months"}` : "Projection", amount: null, before, after };
  }
  const amount = it.amount === undefined || it.amount === null ? null : it.scenario === "rate_change" ? { percent: `${it.amount}%` } : { money: it.amount };
  return { what: scenarioName(it.scenario), amount, before, after };
}

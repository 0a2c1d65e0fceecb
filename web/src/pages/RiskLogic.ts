// The Risk page's pure parts ("Account health check"), unit-tested alone (RiskLogic.test.ts):
// the band and banner of a score, one plain-language card per flag, the summary rows, three
// tips per band, the flagged postings and the score-over-time points. The flag codes and the
// score object are the risk worker's (docs/api.md, "Risk"). No React.
import { ApiError } from "../lib/api";
import { levelForScore, shortDate, shortTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import type { RiskFlag, RiskHistoryItem, RiskLevel, RiskScore } from "../lib/types";

export type Band = RiskLevel;

/** The band of a score (≤ 30 low, ≤ 60 medium, above high), clamped to 0..100. */
export function bandForScore(score: number): Band {
  return levelForScore(clampScore(score));
}

export function clampScore(score: number): number {
  return Number.isFinite(score) ? Math.max(0, Math.min(100, Math.round(score))) : 0;
}

export interface Banner {
  icon: string;
  text: string;
  /** The alert-box class: ok (green), warn (amber), error (red). */
  box: "ok" | "warn" | "error";
}

const BANNERS: Record<Band, Banner> = {
  low: { icon: "🟢", text: "Your account looks healthy", box: "ok" },
  medium: { icon: "🟡", text: "Some things need your attention", box: "warn" },
  high: { icon: "🔴", text: "Action recommended", box: "error" },
};

export function bannerFor(score: number): Banner {
  return BANNERS[bandForScore(score)];
}

/** "Low risk", "Medium risk", "High risk". */
export function levelLabel(level: string): string {
  return level === "high" ? "High risk" : level === "medium" ? "Medium risk" : "Low risk";
}

/** Each flag code as people read it, with a small icon. */
export const FLAG_INFO: Record<string, { title: string; icon: string }> = {
  large_posting: { title: "Unusually large transaction", icon: "↓" },
  velocity: { title: "Many recent transfers", icon: "⇄" },
  low_balance: { title: "Low balance", icon: "◔" },
  balance_drop: { title: "Balance fell sharply", icon: "↘" },
  anomaly: { title: "Unusual activity detected", icon: "⚠\uFE0E" },
  high_amount: { title: "Very large amount", icon: "‼\uFE0E" },
};

export interface FlagCard {
  code: string;
  title: string;
  icon: string;
  /** The flag's sentence, as the worker wrote it (money in the account's currency). */
  message: string;
  points: number | null;
  /** Colour: 20 points or more red, else amber. */
  tone: "high" | "medium";
}

/**
 * One card per flag: flag_details when the answer has them, else the plain `flags` sentences
 * (older answers) under a generic title.
 */
export function flagCards(s: { flags?: string[] | null; flag_details?: RiskFlag[] | null }): FlagCard[] {
  const details = s.flag_details ?? [];
  const items: RiskFlag[] = details.length ? details : (s.flags ?? []).map((message) => ({ code: "", message }));
  return items.map((f) => {
    const info = FLAG_INFO[f.code] ?? { title: "Something to review", icon: "•" };
    const points = typeof f.points === "number" ? f.points : null;
    return { code: f.code, title: info.title, icon: info.icon, message: f.message, points, tone: points !== null && points >= 20 ? "high" : "medium" };
  });
}

/** The card titles of a posting's flags, for the flagged postings list. */
export function flagTitles(s: { flags?: string[] | null; flag_details?: RiskFlag[] | null }): string[] {
  return [...new Set(flagCards(s).map((c) => c.title))];
}

const TIPS: Record<Band, readonly [string, string, string]> = {
  low: [
    "Keep a cushion above your low-balance level for the unexpected.",
    "Glance through your transactions now and then: anything odd is easier to sort out early.",
    "Try a big purchase on your Digital Twin first. It never touches your real money.",
  ],
  medium: [
    "Look through the transactions below and make sure you recognise each one.",
    "Spread large payments out rather than making several at once.",
    "Top your balance back up above the low-balance level when you can.",
  ],
  high: [
    "If you do not recognise a transaction, change your password and contact your bank now.",
    "Hold off on more large withdrawals or transfers until your balance recovers.",
    "Build an emergency fund: a few months of spending kept aside.",
  ],
};

export function tipsFor(score: number): readonly string[] {
  return TIPS[bandForScore(score)];
}

export interface SummaryRow {
  key: "balance" | "activity" | "unusual";
  label: string;
  ok: boolean;
  text: string;
}

/** Balance status, recent activity and unusual activity, from flag_details and ml_details. */
export function summaryRows(s: RiskScore): SummaryRow[] {
  const codes = new Set(flagCards(s).map((c) => c.code));
  const cur = s.currency;
  const balance = s.balance !== undefined && s.balance !== null && cur ? formatMoney(s.balance, cur) : null;
  const now = balance ? ` · now ${balance}` : "";

  let balanceRow: SummaryRow;
  if (codes.has("balance_drop")) balanceRow = { key: "balance", label: "Balance status", ok: false, text: `Fell sharply in the last 24 hours${now}` };
  else if (codes.has("low_balance")) balanceRow = { key: "balance", label: "Balance status", ok: false, text: `Below your low-balance level${now}` };
  else balanceRow = { key: "balance", label: "Balance status", ok: true, text: balance ? `Healthy · ${balance}` : "Healthy" };

  const large = codes.has("large_posting");
  const velocity = codes.has("velocity");
  const activity: SummaryRow = {
    key: "activity",
    label: "Recent activity",
    ok: !large && !velocity,
    text:
      large && velocity
        ? "Several transfers in the last hour, one of them large"
        : velocity
          ? "Several transfers in the last hour"
          : large
            ? "A large transaction compared with your balance"
            : "Nothing out of the ordinary",
  };

  const ml = s.ml_details ?? null;
  const anomaly = codes.has("anomaly") || ml?.anomalous === true;
  const high = codes.has("high_amount") || ml?.verdict === "high_amount";
  const n = ml?.postings_used ?? 0;
  let quiet: string;
  if (ml?.method === "isolation_forest") quiet = `Nothing unusual, compared with your last ${n} transactions`;
  else if (ml?.method === "robust_z") quiet = "Nothing unusual (a simpler check until you have 20 transactions)";
  else if (ml?.method === "none") quiet = "Not checked yet: no transactions";
  else quiet = "Nothing unusual";
  const unusual: SummaryRow = {
    key: "unusual",
    label: "Unusual activity",
    ok: !anomaly && !high,
    text:
      anomaly && high
        ? "Your latest transaction is a very large amount, unlike your usual ones"
        : anomaly
          ? "Your latest transaction looks unlike your usual ones"
          : high
            ? "Your latest transaction is a very large amount"
            : quiet,
  };
  return [balanceRow, activity, unusual];
}

/** True when the answer says there is nothing to score: no account, or no postings yet. */
export function nothingToScore(error: unknown, score: RiskScore | undefined): boolean {
  if (error instanceof ApiError && error.status === 404 && error.code === "account_not_found") return true;
  return !!score && score.ml_details?.method === "none" && (score.ml_details.postings_used ?? 0) === 0;
}

function at(p: RiskHistoryItem): number {
  const t = Date.parse(p.posted_at || p.created_at);
  return Number.isNaN(t) ? 0 : t;
}

/** The postings that raised a flag, newest first (ties keep the server's order). */
export function flaggedPostings(items: readonly RiskHistoryItem[]): RiskHistoryItem[] {
  return items
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => (p.flags?.length ?? 0) > 0 || (p.flag_details?.length ?? 0) > 0)
    .sort((a, b) => at(b.p) - at(a.p) || a.i - b.i)
    .map(({ p }) => p);
}

export interface ScorePoint {
  t: number;
  score: number;
  level: Band;
  at: string;
}

/** The score after each posting, oldest first, each posting once (pages may overlap). */
export function scorePoints(items: readonly RiskHistoryItem[]): ScorePoint[] {
  const seen = new Set<string>();
  const out: ScorePoint[] = [];
  for (const p of items) {
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    const score = clampScore(p.score);
    out.push({ t: at(p), score, level: bandForScore(score), at: p.posted_at || p.created_at });
  }
  return out.sort((a, b) => a.t - b.t);
}

/**
 * The x-axis label of each point (the chart places postings evenly, one slot each, so a burst
 * of postings stays readable): the time of day when they all fall on one local day, else
 * the date.
 */
export function axisLabels(points: readonly ScorePoint[]): string[] {
  if (!points.length) return [];
  const day = (t: number) => new Date(t).toDateString();
  const oneDay = day(points[0].t) === day(points[points.length - 1].t);
  return points.map((p) => (oneDay ? shortTime(p.at) : shortDate(p.at)));
}

/** "Withdrawal", "Deposit", "Transfer sent", "Transfer received". */
export function postingLabel(p: Pick<RiskHistoryItem, "type" | "direction">): string {
  if (p.type === "transfer") return p.direction === "in" ? "Transfer received" : "Transfer sent";
  return p.type === "withdrawal" ? "Withdrawal" : p.type === "deposit" ? "Deposit" : p.type;
}

/** GET /api/risk/history, 100 at a time, keyset paging with `before`. */
export const HISTORY_PAGE = 100;
export function historyPath(before: string | null): string {
  return `/api/risk/history?limit=${HISTORY_PAGE}${before ? `&before=${encodeURIComponent(before)}` : ""}`;
}
export function nextBefore(last: readonly RiskHistoryItem[]): string | undefined {
  return last.length < HISTORY_PAGE ? undefined : last[last.length - 1].id;
}

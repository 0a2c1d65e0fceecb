import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import type { RiskHistoryItem, RiskScore } from "../lib/types";
import { shortDate, shortTime } from "../lib/format";
import {
  axisLabels,
  bandForScore,
  bannerFor,
  flagCards,
  flaggedPostings,
  flagTitles,
  historyPath,
  nextBefore,
  nothingToScore,
  postingLabel,
  scorePoints,
  summaryRows,
  tipsFor,
} from "./RiskLogic";

const score = (p: Partial<RiskScore> = {}): RiskScore => ({
  id: "s1",
  account_id: "a1",
  score: 10,
  alert_level: "low",
  flags: [],
  flag_details: [],
  ml_details: { method: "robust_z", anomaly_score: 0.4, threshold: 3.5, anomalous: false, postings_used: 3, verdict: "normal" },
  currency: "USD",
  balance: "1209.06",
  transfer_id: null,
  updated_at: "2026-12-08T10:00:00.123Z",
  ...p,
});

const item = (p: Partial<RiskHistoryItem>): RiskHistoryItem => ({
  id: "h",
  account_id: "a1",
  transfer_id: "t",
  type: "withdrawal",
  direction: "out",
  amount: "600.00",
  currency: "USD",
  score: 10,
  alert_level: "low",
  flags: [],
  flag_details: [],
  posted_at: "2026-12-08T10:00:00Z",
  created_at: "2026-12-08T10:00:01Z",
  ...p,
});

describe("band and banner by score", () => {
  it("≤ 30 low, ≤ 60 medium, above high, at the boundaries", () => {
    expect([0, 30, 31, 60, 61, 100].map(bandForScore)).toEqual(["low", "low", "medium", "medium", "high", "high"]);
    expect(bandForScore(-5)).toBe("low");
    expect(bandForScore(250)).toBe("high");
    expect(bandForScore(Number.NaN)).toBe("low");
  });
  it("say it plainly, in the band's colour", () => {
    expect(bannerFor(30)).toEqual({ icon: "🟢", text: "Your account looks healthy", box: "ok" });
    expect(bannerFor(55)).toEqual({ icon: "🟡", text: "Some things need your attention", box: "warn" });
    expect(bannerFor(61)).toEqual({ icon: "🔴", text: "Action recommended", box: "error" });
  });
  it("three tips per band", () => {
    for (const s of [10, 45, 90]) expect(tipsFor(s)).toHaveLength(3);
    expect(tipsFor(10)).not.toEqual(tipsFor(45));
    expect(tipsFor(90)[0]).toMatch(/do not recognise/);
  });
});

describe("flag cards", () => {
  it("one card per flag, titled by its code, with the worker's sentence", () => {
    const cards = flagCards({
      flags: [],
      flag_details: [
        { code: "large_posting", message: "Withdrawal of $600.00 is more than half of the balance before it ($1,000.00)", points: 20 },
        { code: "velocity", message: "3 transfers out within 60 minutes", points: 15 },
        { code: "low_balance", message: "Balance is below $1,000.00", points: 10 },
        { code: "balance_drop", message: "Balance fell by 85% in 24 hours", points: 25 },
        { code: "anomaly", message: "Unusual for you", points: 12 },
        { code: "high_amount", message: "A very large amount", points: 10 },
      ],
    });
    expect(cards.map((c) => c.title)).toEqual([
      "Unusually large transaction",
      "Many recent transfers",
      "Low balance",
      "Balance fell sharply",
      "Unusual activity detected",
      "Very large amount",
    ]);
    expect(cards[0]).toMatchObject({ message: "Withdrawal of $600.00 is more than half of the balance before it ($1,000.00)", points: 20, tone: "high" });
    expect(cards[2].tone).toBe("medium");
  });
  it("fall back to the plain sentences, and a generic title for an unknown code", () => {
    expect(flagCards({ flags: ["Balance is below ₹50,000.00"] })).toEqual([
      { code: "", title: "Something to review", icon: "•", message: "Balance is below ₹50,000.00", points: null, tone: "medium" },
    ]);
    expect(flagCards({ flags: ["x"], flag_details: [{ code: "new_rule", message: "x" }] })[0].title).toBe("Something to review");
    expect(flagCards({ flags: [], flag_details: [] })).toEqual([]);
  });
  it("titles of a posting's flags, each once", () => {
    expect(flagTitles({ flag_details: [{ code: "anomaly", message: "a" }, { code: "anomaly", message: "b" }, { code: "low_balance", message: "c" }] })).toEqual([
      "Unusual activity detected",
      "Low balance",
    ]);
  });
});

describe("summary rows", () => {
  it("all fine: the balance in its currency, nothing unusual", () => {
    expect(summaryRows(score({ currency: "INR", balance: "123456.78" }))).toEqual([
      { key: "balance", label: "Balance status", ok: true, text: "Healthy · ₹1,23,456.78" },
      { key: "activity", label: "Recent activity", ok: true, text: "Nothing out of the ordinary" },
      { key: "unusual", label: "Unusual activity", ok: true, text: "Nothing unusual (a simpler check until you have 20 transactions)" },
    ]);
  });
  it("flags turn the rows amber", () => {
    const rows = summaryRows(
      score({
        score: 55,
        alert_level: "medium",
        balance: "400.00",
        flag_details: [
          { code: "large_posting", message: "…", points: 20 },
          { code: "low_balance", message: "…", points: 10 },
          { code: "anomaly", message: "…", points: 15 },
        ],
        ml_details: { method: "isolation_forest", anomaly_score: 0.71, threshold: 0.62, anomalous: true, postings_used: 480, verdict: "normal" },
      }),
    );
    expect(rows.map((r) => [r.ok, r.text])).toEqual([
      [false, "Below your low-balance level · now $400.00"],
      [false, "A large transaction compared with your balance"],
      [false, "Your latest transaction looks unlike your usual ones"],
    ]);
  });
  it("a sharp drop wins over a low balance; velocity and a large posting together; the verdict alone", () => {
    const rows = summaryRows(
      score({
        flag_details: [
          { code: "low_balance", message: "…" },
          { code: "balance_drop", message: "…" },
          { code: "velocity", message: "…" },
          { code: "large_posting", message: "…" },
        ],
        ml_details: { method: "isolation_forest", anomalous: false, postings_used: 40, verdict: "high_amount" },
      }),
    );
    expect(rows.map((r) => r.text)).toEqual([
      "Fell sharply in the last 24 hours · now $1,209.06",
      "Several transfers in the last hour, one of them large",
      "Your latest transaction is a very large amount",
    ]);
  });
  it("the forest's quiet answer says what it compared with", () => {
    expect(summaryRows(score({ ml_details: { method: "isolation_forest", anomalous: false, postings_used: 480, verdict: "normal" } }))[2].text).toBe(
      "Nothing unusual, compared with your last 480 transactions",
    );
  });
});

describe("nothing to score", () => {
  it("no account (404 account_not_found) or no postings", () => {
    expect(nothingToScore(new ApiError(404, "account_not_found", "No such account."), undefined)).toBe(true);
    expect(nothingToScore(new ApiError(500, "internal", "x"), undefined)).toBe(false);
    expect(nothingToScore(null, score({ ml_details: { method: "none", postings_used: 0 } }))).toBe(true);
    expect(nothingToScore(null, score())).toBe(false);
    expect(nothingToScore(null, undefined)).toBe(false);
  });
});

describe("flagged postings and the score over time", () => {
  const rows = [
    item({ id: "3", score: 55, alert_level: "medium", posted_at: "2026-12-08T12:00:00Z", flags: ["big"], flag_details: [{ code: "large_posting", message: "big" }] }),
    item({ id: "2", score: 10, posted_at: "2026-12-08T11:00:00Z", type: "deposit", direction: "in" }),
    item({ id: "1", score: 75, alert_level: "high", posted_at: "2026-12-08T13:00:00Z", flags: ["odd"] }),
  ];
  it("only postings with flags, newest first", () => {
    expect(flaggedPostings(rows).map((r) => r.id)).toEqual(["1", "3"]);
    expect(flaggedPostings([])).toEqual([]);
  });
  it("points oldest first, each posting once, banded", () => {
    expect(scorePoints([...rows, rows[0]])).toEqual([
      { t: Date.parse("2026-12-08T11:00:00Z"), score: 10, level: "low", at: "2026-12-08T11:00:00Z" },
      { t: Date.parse("2026-12-08T12:00:00Z"), score: 55, level: "medium", at: "2026-12-08T12:00:00Z" },
      { t: Date.parse("2026-12-08T13:00:00Z"), score: 75, level: "high", at: "2026-12-08T13:00:00Z" },
    ]);
  });
  it("axis labels: the time of day within one day, else the date", () => {
    const burst = ["2026-12-08T12:00:05Z", "2026-12-08T12:00:20Z", "2026-12-08T12:00:40Z"].map((at, i) => item({ id: `b${i}`, posted_at: at }));
    const pts = scorePoints(burst);
    expect(axisLabels(pts)).toEqual(pts.map((p) => shortTime(p.at)));
    const spread = scorePoints([rows[0], item({ id: "9", posted_at: "2026-12-01T12:00:00Z" })]);
    expect(axisLabels(spread)).toEqual(spread.map((p) => shortDate(p.at)));
    expect(axisLabels([])).toEqual([]);
  });
  it("labels a posting as people say it", () => {
    expect(postingLabel({ type: "withdrawal", direction: "out" })).toBe("Withdrawal");
    expect(postingLabel({ type: "deposit", direction: "in" })).toBe("Deposit");
    expect(postingLabel({ type: "transfer", direction: "out" })).toBe("Transfer sent");
    expect(postingLabel({ type: "transfer", direction: "in" })).toBe("Transfer received");
  });
  it("pages with before = the last id of a full page", () => {
    expect(historyPath(null)).toBe("/api/risk/history?limit=100");
    expect(historyPath("abc")).toBe("/api/risk/history?limit=100&before=abc");
    expect(nextBefore(rows)).toBeUndefined();
    const full = Array.from({ length: 100 }, (_, i) => item({ id: `x${i}` }));
    expect(nextBefore(full)).toBe("x99");
  });
});

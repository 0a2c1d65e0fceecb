// The Risk page, "Account health check": the latest risk score of the account that needs the
// most attention (GET /api/risk/score/{user id}) as a banner, a gauge and three summary rows;
// one plain-language card per flag; three tips for the band; the score after each posting
// over time and the postings that raised a flag (GET /api/risk/history, newest first, 100 at a
// time); "Re-run" rescores from server data (POST /api/risk/analyze). A live risk frame makes
// every risk query stale (frames.ts), so the page follows new postings without a reload.
// Pure parts: RiskLogic.ts.
import { useMemo, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { useInfiniteQuery, useMutation, useQueryClient, type InfiniteData, type UseInfiniteQueryResult } from "@tanstack/react-query";
import { CartesianGrid, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis, type DotProps, type TooltipContentProps } from "recharts";
import { api } from "../lib/api";
import { useAuth } from "../lib/auth";
import { keys, useAccounts, useRiskScore } from "../lib/queries";
import { dateTime, relativeTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import type { RiskHistoryItem, RiskScore } from "../lib/types";
import { Amount, Empty, ErrorBox, Loading } from "../components/common";
import { useToast } from "../components/Toasts";
import { riskColor } from "./TwinModel";
import {
  axisLabels,
  bannerFor,
  clampScore,
  flagCards,
  flaggedPostings,
  flagTitles,
  historyPath,
  levelLabel,
  nextBefore,
  nothingToScore,
  postingLabel,
  scorePoints,
  summaryRows,
  tipsFor,
  type ScorePoint,
} from "./RiskLogic";
import "./Risk.css";

const historyKey = [...keys.risk, "history"] as const;

export function Risk() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const toast = useToast();
  const score = useRiskScore(user?.id);
  const accounts = useAccounts();
  const history = useInfiniteQuery({
    queryKey: historyKey,
    queryFn: ({ pageParam, signal }) => api.get<RiskHistoryItem[]>(historyPath(pageParam), { signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => nextBefore(last),
  });
  const rerun = useMutation({
    mutationFn: (accountId: string | null) => api.post<RiskScore>("/api/risk/analyze", accountId ? { account_id: accountId } : {}),
    onSuccess: (s) => {
      toast(`Score ${s.score} · ${levelLabel(s.alert_level).toLowerCase()}`, { kind: "ok", title: "Health check updated" });
      qc.invalidateQueries({ queryKey: keys.risk });
    },
  });

  const empty = nothingToScore(score.error, score.data);
  const s = empty ? undefined : score.data;
  const account = s ? accounts.data?.find((a) => a.id === s.account_id) : undefined;

  return (
    <div className="risk-page">
      <div className="page-head">
        <div>
          <h1>Account health check</h1>
          <div className="muted">Every transaction is checked on our side as it happens; this page updates by itself.</div>
        </div>
        {!empty && (
          <button className="btn secondary" onClick={() => rerun.mutate(s?.account_id ?? null)} disabled={rerun.isPending || score.isPending} data-testid="risk-rerun">
            <span aria-hidden="true">↻</span> {rerun.isPending ? "Checking…" : "Re-run"}
          </button>
        )}
      </div>
      {rerun.isError && (
        <div className="risk-gap">
          <ErrorBox error={rerun.error} onRetry={() => rerun.mutate(s?.account_id ?? null)} />
        </div>
      )}

      {score.isPending ? (
        <div className="card" aria-label="Loading your health check">
          <Loading lines={4} label="Loading your health check" />
        </div>
      ) : empty ? (
        <div className="card" data-testid="risk-empty">
          <h2>Nothing to score yet</h2>
          <Empty>
            Your account has no transactions yet, so there is nothing to check. Your health check appears after your{" "}
            <Link to="/transactions">first transaction</Link>.
          </Empty>
        </div>
      ) : score.isError || !s ? (
        <div className="card">
          <ErrorBox error={score.error} onRetry={() => score.refetch()} />
        </div>
      ) : (
        <>
          <Banner s={s} accountName={account?.name ?? null} />
          <div className="cols risk-top">
            <section className="card" aria-labelledby="risk-score-title">
              <h2 id="risk-score-title">Risk score</h2>
              <Gauge score={s.score} />
              <div className="risk-gauge-foot">
                <span className={`pill ${s.alert_level}`} data-testid="risk-level">
                  {levelLabel(s.alert_level)}
                </span>
                <span className="faint">0–30 low · 31–60 medium · 61–100 high</span>
              </div>
            </section>
            <Summary s={s} />
          </div>
          <div className="cols">
            <Review s={s} />
            <Tips score={s.score} />
          </div>
        </>
      )}

      {!empty && (
        <>
          <section className="card risk-gap" aria-labelledby="risk-chart-title">
            <h2 id="risk-chart-title">Score over time</h2>
            <HistoryState q={history}>{(items) => <ScoreChart points={scorePoints(items)} />}</HistoryState>
          </section>
          <section className="card risk-gap" aria-labelledby="risk-flagged-title">
            <h2 id="risk-flagged-title">Flagged transactions</h2>
            <HistoryState q={history}>{(items) => <Flagged items={flaggedPostings(items)} />}</HistoryState>
            {history.hasNextPage && (
              <div className="row risk-more">
                <button className="btn secondary small" onClick={() => history.fetchNextPage()} disabled={history.isFetchingNextPage}>
                  {history.isFetchingNextPage ? "Loading…" : "Load more"}
                </button>
                {history.isFetchNextPageError && <span className="neg">Could not load more. Try again.</span>}
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}

type HistoryQuery = UseInfiniteQueryResult<InfiniteData<RiskHistoryItem[], unknown>>;

/** Loading, error or the loaded postings (all pages, each once) for one of the history cards. */
function HistoryState({ q, children }: { q: HistoryQuery; children: (items: RiskHistoryItem[]) => ReactNode }) {
  const items = useMemo(() => {
    const seen = new Set<string>();
    return (q.data?.pages ?? []).flat().filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)));
  }, [q.data]);
  if (q.isPending) return <Loading lines={3} />;
  if (q.isError) return <ErrorBox error={q.error} onRetry={() => q.refetch()} />;
  return <>{children(items)}</>;
}

function Banner({ s, accountName }: { s: RiskScore; accountName: string | null }) {
  const b = bannerFor(s.score);
  return (
    <div className={`alert-box ${b.box} risk-banner`} data-testid="risk-banner" data-level={s.alert_level}>
      <span className="risk-banner-ic" aria-hidden="true">
        {b.icon}
      </span>
      <div>
        <div className="risk-banner-text">{b.text}</div>
        <div className="risk-banner-sub">
          Score {s.score} of 100{accountName ? ` · ${accountName}` : ""} · checked {relativeTime(s.updated_at)}
        </div>
      </div>
    </div>
  );
}

/** A half-ring from 0 to 100, filled to the score in the score's colour. */
function Gauge({ score }: { score: number }) {
  const v = clampScore(score);
  const arc = "M 12 62 A 48 48 0 0 1 108 62";
  return (
    <div className="risk-gauge" role="meter" aria-label="Risk score" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v}>
      <svg viewBox="0 0 120 70" aria-hidden="true">
        <path d={arc} className="risk-gauge-track" />
        {v > 0 && <path d={arc} className="risk-gauge-value" pathLength={100} strokeDasharray={`${v} 100`} style={{ stroke: riskColor(v) }} />}
      </svg>
      <div className="risk-gauge-num">
        <span data-testid="risk-score" style={{ color: riskColor(v) }}>
          {score}
        </span>
        <span className="faint"> / 100</span>
      </div>
    </div>
  );
}

function Summary({ s }: { s: RiskScore }) {
  return (
    <section className="card" aria-labelledby="risk-summary-title">
      <h2 id="risk-summary-title">Summary</h2>
      <ul className="list risk-summary">
        {summaryRows(s).map((r) => (
          <li key={r.key} data-testid={`risk-summary-${r.key}`} data-ok={r.ok}>
            <span className={`risk-dot ${r.ok ? "ok" : "warn"}`} aria-hidden="true">
              {r.ok ? "✓" : "!"}
            </span>
            <div className="risk-summary-body">
              <div className="title">{r.label}</div>
              <div className="muted">{r.text}</div>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Review({ s }: { s: RiskScore }) {
  const cards = flagCards(s);
  return (
    <section className="card" aria-labelledby="risk-review-title">
      <h2 id="risk-review-title">Things to review</h2>
      {cards.length === 0 ? (
        <p className="risk-none">
          <span aria-hidden="true">✓</span> Nothing to review. Your latest transaction raised no warning signs.
        </p>
      ) : (
        <ul className="risk-flags">
          {cards.map((c, i) => (
            <li key={`${c.code}-${i}`} className={`risk-flag ${c.tone}`} data-testid="risk-flag-card" data-code={c.code}>
              <span className="risk-flag-ic" aria-hidden="true">
                {c.icon}
              </span>
              <div className="risk-flag-body">
                <div className="risk-flag-title">{c.title}</div>
                <div className="risk-flag-msg">{c.message}</div>
              </div>
              {c.points !== null && c.points > 0 && <span className="risk-flag-pts mono" title="Points added to the score">+{c.points}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Tips({ score }: { score: number }) {
  return (
    <section className="card" aria-labelledby="risk-tips-title">
      <h2 id="risk-tips-title">Simple steps to improve</h2>
      <ol className="risk-tips">
        {tipsFor(score).map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ol>
    </section>
  );
}

function Flagged({ items }: { items: RiskHistoryItem[] }) {
  if (items.length === 0) return <Empty>No flagged transactions. Anything that raises a warning sign will be listed here.</Empty>;
  return (
    <ul className="list risk-flagged">
      {items.map((p) => (
        <li key={p.id} data-testid="risk-flagged-row">
          <div className="risk-flagged-main">
            <div className="title">{postingLabel(p)}</div>
            <div className="risk-chips">
              {flagTitles(p).map((t) => (
                <span key={t} className="pill risk-chip">
                  {t}
                </span>
              ))}
            </div>
            <div className="meta">
              {dateTime(p.posted_at || p.created_at)}
              {p.balance_before !== undefined && p.balance_after !== undefined && (
                <>
                  {" "}
                  · balance <span className="amount">{formatMoney(p.balance_before, p.currency)}</span> →{" "}
                  <span className="amount">{formatMoney(p.balance_after, p.currency)}</span>
                </>
              )}
            </div>
          </div>
          <div className="risk-flagged-side">
            <Amount value={p.amount} currency={p.currency} direction={p.direction} className="risk-flagged-amt" />
            <span className={`pill ${p.alert_level}`}>
              {p.score} · {p.alert_level}
            </span>
          </div>
        </li>
      ))}
    </ul>
  );
}

function ScoreTooltip({ active, payload }: TooltipContentProps<number, string>) {
  const p = active && payload?.length ? (payload[0].payload as ScorePoint) : null;
  if (!p) return null;
  return (
    <div className="risk-tip">
      <div className="faint">{dateTime(p.at)}</div>
      <div>
        Score <strong style={{ color: riskColor(p.score) }}>{p.score}</strong> · {p.level}
      </div>
    </div>
  );
}

function ScoreDot({ cx, cy, payload }: DotProps & { payload?: ScorePoint }) {
  if (cx === undefined || cy === undefined || !payload) return null;
  return <circle cx={cx} cy={cy} r={3.5} fill={riskColor(payload.score)} stroke="var(--surface)" strokeWidth={1.5} />;
}

function ScoreChart({ points }: { points: ScorePoint[] }) {
  const labels = useMemo(() => axisLabels(points), [points]);
  if (points.length === 0) return <Empty>No scored transactions yet.</Empty>;
  const data = points.map((p, i) => ({ ...p, i }));
  return (
    <div className="chart-box" data-testid="risk-chart" role="img" aria-label={`Risk score after each of ${points.length} transactions, latest ${points[points.length - 1].score}`}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <ReferenceArea y1={0} y2={30} fill="var(--green)" fillOpacity={0.07} ifOverflow="hidden" />
          <ReferenceArea y1={30} y2={60} fill="var(--amber)" fillOpacity={0.07} ifOverflow="hidden" />
          <ReferenceArea y1={60} y2={100} fill="var(--red)" fillOpacity={0.07} ifOverflow="hidden" />
          <CartesianGrid stroke="var(--border)" vertical={false} />
          <XAxis
            dataKey="i"
            type="category"
            interval="preserveStartEnd"
            minTickGap={24}
            tickFormatter={(i: number) => labels[i] ?? ""}
            stroke="var(--text-3)"
            fontSize={12}
          />
          <YAxis domain={[0, 100]} ticks={[0, 30, 60, 100]} stroke="var(--text-3)" fontSize={12} width={36} />
          <Tooltip content={(p) => <ScoreTooltip {...(p as TooltipContentProps<number, string>)} />} />
          <Line type="linear" dataKey="score" stroke="var(--text-2)" strokeWidth={2} dot={<ScoreDot />} activeDot={{ r: 5 }} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

// The dashboard: the default account (id with copy), balances of every account, this month's
// figures, balance over time, recent transactions, latest notifications, the last simulation,
// the risk score (kept fresh by live risk frames) and live service health. The persona shows
// "coming soon" until its worker exists: no made-up numbers. Every figure comes from the API;
// sums are BigInt minor units.
import { lazy, Suspense, useMemo } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { useAuth } from "../lib/auth";
import { keys, useAccounts, useLatestNotifications, useNotifCount, useRiskScore, useStatus } from "../lib/queries";
import { formatMoney, fromMinor, toMinor } from "../lib/money";
import { dateTime, relativeTime } from "../lib/format";
import type { Account, Txn } from "../lib/types";
import { historyRow, riskColor, type HistoryItem } from "./TwinModel";
import { bannerFor, clampScore, flagCards, levelLabel, nothingToScore } from "./RiskLogic";
import { counterparties, rowKey, transferSources, txnLabel, type Names } from "./TxnLogic";
import { usePeople } from "../lib/people";
import { Amount, ComingSoon, Empty, ErrorBox, Loading } from "../components/common";
import { useToast } from "../components/Toasts";

const BalanceChart = lazy(() => import("../components/BalanceChart"));

const MONTH_PAGES = 10; // at most 1,000 postings read for "this month"

/** This month's postings across all accounts, newest first, paging with `before`. */
async function monthTxns(signal: AbortSignal): Promise<{ rows: Txn[]; complete: boolean }> {
  const start = new Date();
  const monthStart = new Date(start.getFullYear(), start.getMonth(), 1).getTime();
  const rows: Txn[] = [];
  let before = "";
  for (let i = 0; i < MONTH_PAGES; i++) {
    const page = await api.get<Txn[]>(`/api/transactions/?limit=100${before ? `&before=${before}` : ""}`, { signal });
    for (const t of page) {
      if (Date.parse(t.created_at) < monthStart) return { rows, complete: true };
      rows.push(t);
    }
    if (page.length < 100) return { rows, complete: true };
    before = page[page.length - 1].id;
  }
  return { rows, complete: false };
}

/**
 * Chart points, oldest first: each posting's balance_after, preceded by the balance just
 * before the oldest one (so a first deposit draws a step up from zero). Exact: BigInt.
 */
export function balancePoints(newestFirst: Txn[]): { at: string; balance: string }[] {
  if (!newestFirst.length) return [];
  const rows = newestFirst.slice().reverse();
  const first = rows[0];
  const after = toMinor(first.balance_after, first.currency) ?? 0n;
  const amt = toMinor(first.amount, first.currency) ?? 0n;
  const before = fromMinor(first.direction === "in" ? after - amt : after + amt, first.currency);
  const start = new Date(Date.parse(first.created_at) - 1000).toISOString();
  return [{ at: start, balance: before }, ...rows.map((t) => ({ at: t.created_at, balance: t.balance_after }))];
}

export function Dashboard() {
  const { user } = useAuth();
  const toast = useToast();
  const accounts = useAccounts();
  const defaultAcct: Account | undefined = accounts.data?.find((a) => a.id === user?.default_account_id) ?? accounts.data?.[0];
  const month = useQuery({ queryKey: [...keys.txns, "month"], queryFn: ({ signal }) => monthTxns(signal) });
  const history = useQuery({
    queryKey: [...keys.txns, "account", defaultAcct?.id],
    enabled: !!defaultAcct,
    queryFn: ({ signal }) => api.get<Txn[]>(`/api/transactions/account/${defaultAcct!.id}?limit=200`, { signal }),
  });
  const sims = useQuery({ queryKey: keys.simulations, queryFn: ({ signal }) => api.get<HistoryItem[]>("/api/simulate/history", { signal }) });
  const notes = useLatestNotifications(5);
  const count = useNotifCount();
  const status = useStatus();

  const cur = defaultAcct?.currency ?? user?.currency_preference ?? "USD";
  const stats = useMemo(() => {
    if (!month.data) return null;
    let inM = 0n;
    let outM = 0n;
    for (const t of month.data.rows) {
      if (t.currency !== cur) continue;
      const m = toMinor(t.amount, t.currency) ?? 0n;
      if (t.direction === "in") inM += m;
      else outM += m;
    }
    return { count: month.data.rows.length, in: fromMinor(inM, cur), out: fromMinor(outM, cur), complete: month.data.complete };
  }, [month.data, cur]);

  const points = useMemo(() => balancePoints(history.data ?? []), [history.data]);

  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Hello, {user?.full_name?.split(" ")[0] || "there"}</h1>
          <div className="muted">Here is where your money stands.</div>
        </div>
        <div className="row">
          <Link className="btn" to="/transactions">New transaction</Link>
          <Link className="btn secondary" to="/twin">Run a simulation</Link>
        </div>
      </div>

      <div className="grid-stats">
        {accounts.isPending ? (
          <div className="card"><Loading lines={2} /></div>
        ) : accounts.isError ? (
          <div className="card"><ErrorBox error={accounts.error} onRetry={() => accounts.refetch()} /></div>
        ) : accounts.data.length === 0 ? (
          <div className="card stat"><div className="label">Balance</div><div className="value">—</div><div className="sub">No account yet: make a deposit.</div></div>
        ) : (
          accounts.data.map((a) => (
            <div className="card stat" key={a.id} data-testid="account-card">
              <div className="label">{a.name} · {a.currency}</div>
              <div className="value" data-testid="dashboard-balance" data-account={a.id}>{formatMoney(a.balance, a.currency)}</div>
              {a.id === defaultAcct?.id && (
                <div className="sub row" style={{ gap: 6 }}>
                  <span className="mono" title={a.id}>{a.id.slice(0, 8)}…</span>
                  <button
                    className="btn ghost small"
                    aria-label="Copy account ID"
                    onClick={() => navigator.clipboard?.writeText(a.id).then(() => toast("Account ID copied!", { kind: "ok" }), () => toast("Could not copy the account ID.", { kind: "error" }))}
                  >
                    Copy ID
                  </button>
                </div>
              )}
            </div>
          ))
        )}
        <Link className="card stat" to="/notifications" style={{ color: "inherit", textDecoration: "none" }}>
          <div className="label">Unread notifications</div>
          <div className="value" data-testid="dashboard-unread">{count.data ? count.data.unread : count.isError ? "—" : "…"}</div>
          {count.data && <div className="sub">{count.data.total} in all</div>}
        </Link>
        <div className="card stat">
          <div className="label">Transactions this month</div>
          <div className="value" data-testid="month-count">{stats ? `${stats.count}${stats.complete ? "" : "+"}` : month.isError ? "—" : "…"}</div>
        </div>
        <div className="card stat">
          <div className="label">Money in / out this month</div>
          <div className="value" style={{ fontSize: 17 }}>
            {stats ? (
              <>
                <span className="in amount">+{formatMoney(stats.in, cur)}</span> <span className="faint">/</span> <span className="amount">−{formatMoney(stats.out, cur)}</span>
              </>
            ) : month.isError ? "—" : "…"}
          </div>
          {stats && !stats.complete && <div className="sub">The newest 1,000 postings.</div>}
        </div>
      </div>

      <div className="cols-wide">
        <div className="card">
          <h2>Balance over time{defaultAcct ? ` · ${defaultAcct.name}` : ""}</h2>
          {history.isError ? (
            <ErrorBox error={history.error} onRetry={() => history.refetch()} />
          ) : !defaultAcct || (history.data && points.length === 0) ? (
            <Empty>No postings yet. Your balance history appears after your first deposit.</Empty>
          ) : history.isPending ? (
            <Loading lines={4} />
          ) : (
            <Suspense fallback={<Loading lines={4} />}>
              <BalanceChart points={points} currency={defaultAcct.currency} />
            </Suspense>
          )}
        </div>
        <div className="stack">
          <SimulationCard sims={sims.data} error={sims.error} pending={sims.isPending} retry={() => sims.refetch()} />
          <RiskCard userId={user?.id ?? null} />
          <ComingSoon title="Financial persona" issue="your persona score and tips arrive with the Persona issue" />
        </div>
      </div>

      <div className="cols">
        <div className="card">
          <div className="row between"><h2>Recent transactions</h2><Link to="/transactions">All</Link></div>
          <RecentList accounts={accounts.data} me={user?.id ?? null} />
        </div>
        <div className="card">
          <div className="row between"><h2>Latest notifications</h2><Link to="/notifications">All</Link></div>
          {notes.isError ? (
            <ErrorBox error={notes.error} onRetry={() => notes.refetch()} />
          ) : notes.isPending ? (
            <Loading />
          ) : notes.data.length === 0 ? (
            <Empty>Nothing yet.</Empty>
          ) : (
            <ul className="list">
              {notes.data.map((n) => (
                <li key={n.id} data-testid="dashboard-notification">
                  <div style={{ minWidth: 0 }}>
                    <div className="title">{n.is_read ? "" : "● "}{n.title}</div>
                    <div className="meta">{n.message}</div>
                  </div>
                  <span className="meta" style={{ whiteSpace: "nowrap" }}>{relativeTime(n.created_at)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>

      <div className="card">
        <div className="health" data-testid="health">
          <strong style={{ color: "var(--text)" }}>Service health</strong>
          {status.isPending ? (
            <span>checking…</span>
          ) : status.isError ? (
            <span className="neg">status unavailable</span>
          ) : (
            <>
              {status.data.workers.map((w) => (
                <span key={w.name}>
                  <span className="live-dot" style={{ background: w.ok ? "var(--green)" : "var(--red)" }} /> {w.name}
                </span>
              ))}
              <span><span className="live-dot" style={{ background: status.data.broker.ok ? "var(--green)" : "var(--red)" }} /> broker</span>
              <span><span className="live-dot" style={{ background: status.data.redis.ok ? "var(--green)" : "var(--red)" }} /> redis</span>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

/** The five latest postings, transfers named like the Transactions list ("Sent · To Bob"). */
function RecentList({ accounts, me }: { accounts?: Account[]; me: string | null }) {
  const recent = useQuery({ queryKey: [...keys.txns, "recent", 5], queryFn: ({ signal }) => api.get<Txn[]>("/api/transactions/?limit=5", { signal }) });
  const accountNames = useMemo(() => new Map((accounts ?? []).map((a) => [a.id.toLowerCase(), a.name])), [accounts]);
  const others = useMemo(() => counterparties(recent.data ?? [], { me, accounts: accountNames }), [recent.data, me, accountNames]);
  const people = usePeople(others);
  const names: Names = useMemo(
    () => ({ me, accounts: accountNames, people, sources: transferSources(recent.data ?? []) }),
    [me, accountNames, people, recent.data],
  );
  if (recent.isError) return <ErrorBox error={recent.error} onRetry={() => recent.refetch()} />;
  if (recent.isPending) return <Loading />;
  if (recent.data.length === 0) return <Empty>No transactions yet.</Empty>;
  return (
    <ul className="list">
      {recent.data.map((t) => (
        <li key={rowKey(t)} data-testid="recent-txn">
          <div style={{ minWidth: 0 }}>
            <div className="title">{txnLabel(t, names)}</div>
            <div className="meta">{t.note || t.type} · {dateTime(t.created_at)}</div>
          </div>
          <Amount value={t.amount} currency={t.currency} direction={t.direction} />
        </li>
      ))}
    </ul>
  );
}

function SimulationCard({ sims, error, pending, retry }: { sims?: HistoryItem[]; error: unknown; pending: boolean; retry: () => void }) {
  const last = sims?.[0];
  const row = last ? historyRow(last) : null;
  return (
    <div className="card">
      <h2>Last simulation</h2>
      {error ? (
        <ErrorBox error={error} onRetry={retry} />
      ) : pending ? (
        <Loading lines={2} />
      ) : !last || !row ? (
        <Empty>
          No simulations yet. <Link to="/twin">Try one</Link> — it never touches your real money.
        </Empty>
      ) : (
        <div className="stack" style={{ gap: 6 }} data-testid="last-simulation">
          <div className="muted">{row.what} · {relativeTime(last.created_at)}</div>
          {row.before !== null && row.after !== null && (
            <div className="amount" style={{ fontSize: 18 }}>
              {formatMoney(row.before, last.currency)} → {formatMoney(row.after, last.currency)}
            </div>
          )}
          {last.alert_level && (
            <div>
              <span className={`pill ${last.alert_level}`}>{last.alert_level} risk · {last.risk_score}</span>
            </div>
          )}
        </div>
      )}
    </div>
  );
}

/** The latest risk score (the account that needs the most attention), its level and why. */
function RiskCard({ userId }: { userId: string | null }) {
  const q = useRiskScore(userId);
  const empty = nothingToScore(q.error, q.data);
  const s = empty ? undefined : q.data;
  const v = s ? clampScore(s.score) : 0;
  const why = s ? (flagCards(s)[0]?.title ?? bannerFor(s.score).text) : "";
  return (
    <section className="card" data-testid="dashboard-risk" aria-labelledby="dash-risk-title">
      <div className="row between">
        <h2 id="dash-risk-title">Risk score</h2>
        <Link to="/risk">Details</Link>
      </div>
      {q.isPending ? (
        <Loading lines={2} />
      ) : empty ? (
        <Empty>Nothing to score yet: your first transaction starts your health check.</Empty>
      ) : q.isError || !s ? (
        <ErrorBox error={q.error} onRetry={() => q.refetch()} />
      ) : (
        <div className="stack" style={{ gap: 8 }}>
          <div className="row" style={{ alignItems: "baseline", gap: 8 }}>
            <span className="amount" style={{ fontSize: 28, fontWeight: 600, color: riskColor(v) }} data-testid="dashboard-risk-score">
              {s.score}
            </span>
            <span className="faint">/ 100</span>
            <span className={`pill ${s.alert_level}`} data-testid="dashboard-risk-level">
              {levelLabel(s.alert_level)}
            </span>
          </div>
          <div className="risk-bar" role="meter" aria-label="Risk score" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v}>
            <span style={{ width: `${v}%`, background: riskColor(v) }} />
          </div>
          <div className="muted" style={{ fontSize: 14 }}>
            {why}
          </div>
        </div>
      )}
    </section>
  );
}

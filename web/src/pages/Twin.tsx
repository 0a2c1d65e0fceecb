// The Digital Twin: what-if simulations on a virtual copy of the person's finances. The live
// balance (from /api/accounts, kept fresh by the live channel) is what the twin simulates on;
// six one-step scenarios answer with a virtual balance, a risk score and a recommendation;
// the history lists the last ten; the projection panel runs months ahead with events and a
// Monte Carlo fan. Nothing here writes ledger data (README "Digital twin").
import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, newIdempotencyKey } from "../lib/api";
import { useAuth } from "../lib/auth";
import { formatMoney, formatSigned, toMinor, type Money } from "../lib/money";
import { keys, useAccounts } from "../lib/queries";
import type { Account, Simulation } from "../lib/types";
import { Empty, ErrorBox, errorText, Loading } from "../components/common";
import { checkScenarioAmount, levelBox, riskColor, scenarioInfo, SCENARIOS, type ScenarioId } from "./TwinModel";
import { TwinHistory } from "./TwinHistory";
import { TwinProjection } from "./TwinProjection";
import "./Twin.css";

const ICONS: Record<ScenarioId, string> = {
  withdrawal: "↓",
  deposit: "↑",
  rate_change: "%",
  recurring_expense: "↻",
  investment_growth: "↗",
  emergency_fund: "☂",
};

/** Statuses worth retrying under the same Idempotency-Key: no answer, or the backend's trouble. */
function retryable(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 0 || e.status >= 500);
}

/** The account the twin uses: the chosen one, else the default, else the first. */
function pickAccount(accounts: Account[] | undefined, chosen: string | null, defaultId: string | null | undefined): Account | null {
  if (!accounts?.length) return null;
  return (
    accounts.find((a) => a.id === chosen) ??
    accounts.find((a) => a.id === defaultId) ??
    accounts.find((a) => (a as Account & { is_default?: boolean }).is_default) ??
    accounts[0]
  );
}

export function Twin() {
  const { user } = useAuth();
  const accounts = useAccounts();
  const [chosen, setChosen] = useState<string | null>(null);
  const account = pickAccount(accounts.data, chosen, user?.default_account_id);
  const currency = account?.currency ?? user?.currency_preference ?? "USD";
  const [result, setResult] = useState<Simulation | null>(null);

  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Digital Twin</h1>
          <p className="muted" style={{ margin: 0 }}>
            Try a what-if on a virtual copy of your finances. Nothing here moves real money.
          </p>
        </div>
      </div>
      <div className="cols twin-top">
        <div className="stack">
          <BalanceCard
            accounts={accounts.data}
            loading={accounts.isPending}
            error={accounts.isError ? accounts.error : null}
            retry={() => accounts.refetch()}
            account={account}
            onChoose={setChosen}
          />
          <ScenarioCard accountId={account?.id ?? null} currency={currency} onResult={setResult} />
        </div>
        <ResultCard result={result} />
      </div>
      <TwinProjection accountId={account?.id ?? null} currency={currency} liveBalance={account?.balance ?? null} />
      <TwinHistory />
    </div>
  );
}

function BalanceCard(props: {
  accounts: Account[] | undefined;
  loading: boolean;
  error: unknown;
  retry: () => void;
  account: Account | null;
  onChoose: (id: string) => void;
}) {
  const { accounts, loading, error, retry, account, onChoose } = props;
  return (
    <section className="card stat twin-balance" aria-labelledby="twin-balance-title">
      <h2 id="twin-balance-title" className="label" style={{ margin: 0, fontWeight: 500 }}>
        Live balance
      </h2>
      {loading ? (
        <Loading lines={2} label="Loading your balance" />
      ) : error ? (
        <ErrorBox error={error} onRetry={retry} />
      ) : !account ? (
        <Empty>
          You have no account yet: the twin simulates on a balance of 0 until your{" "}
          <Link to="/transactions">first deposit</Link>.
        </Empty>
      ) : (
        <>
          <div className="value" data-testid="twin-live-balance">
            {formatMoney(account.balance, account.currency)}
          </div>
          <div className="sub">Used automatically in the simulation · {account.name}</div>
          {accounts && accounts.length > 1 && (
            <div className="field" style={{ marginTop: 10 }}>
              <label htmlFor="twin-account">Account</label>
              <select id="twin-account" value={account.id} onChange={(e) => onChoose(e.target.value)}>
                {accounts.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name} · {formatMoney(a.balance, a.currency)}
                  </option>
                ))}
              </select>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function ScenarioCard({ accountId, currency, onResult }: { accountId: string | null; currency: string; onResult: (s: Simulation) => void }) {
  const qc = useQueryClient();
  const [scenario, setScenario] = useState<ScenarioId>("withdrawal");
  const [amount, setAmount] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const attempt = useRef<{ body: string; key: string } | null>(null);
  const info = scenarioInfo(scenario)!;

  const run = useMutation({
    mutationFn: ({ body, key }: { body: Record<string, unknown>; key: string }) => api.post<Simulation>("/api/simulate/", body, { idempotencyKey: key }),
    onSuccess: (sim) => {
      attempt.current = null;
      onResult(sim);
      qc.invalidateQueries({ queryKey: keys.simulations });
    },
    onError: (e) => {
      if (!retryable(e)) attempt.current = null;
      if (e instanceof ApiError && e.field === "amount") setFieldError(e.detail);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (run.isPending) return;
    const c = checkScenarioAmount(scenario, amount, currency);
    if (!c.ok) {
      setFieldError(c.error);
      return;
    }
    setFieldError(null);
    const body: Record<string, unknown> = { scenario, amount: c.value };
    if (accountId) body.account_id = accountId;
    const text = JSON.stringify(body);
    // The same body after a failure without an answer is a retry: same key, so it runs once.
    if (attempt.current?.body !== text) attempt.current = { body: text, key: newIdempotencyKey() };
    run.mutate({ body, key: attempt.current.key });
  }

  function choose(id: ScenarioId) {
    setScenario(id);
    setFieldError(null);
    run.reset();
  }

  const apiError = run.isError && !(run.error instanceof ApiError && run.error.field === "amount") ? run.error : null;
  return (
    <section className="card" aria-labelledby="twin-scenario-title">
      <h2 id="twin-scenario-title">What if…</h2>
      <form className="form" onSubmit={submit} noValidate>
        <div className="twin-scenarios" role="group" aria-label="Scenario">
          {SCENARIOS.map((s) => (
            <button
              key={s.id}
              type="button"
              className="twin-scenario"
              aria-pressed={scenario === s.id}
              onClick={() => choose(s.id)}
              data-scenario={s.id}
            >
              <span className="twin-scenario-ic" aria-hidden="true">
                {ICONS[s.id]}
              </span>
              {s.name}
            </button>
          ))}
        </div>
        <div className="field">
          <label htmlFor="twin-amount">{info.amountLabel}</label>
          <div className="twin-input-wrap">
            <span className="twin-affix" aria-hidden="true">
              {info.percent ? "%" : currency}
            </span>
            <input
              id="twin-amount"
              name="amount"
              inputMode="decimal"
              autoComplete="off"
              placeholder={info.placeholder}
              value={amount}
              onChange={(e) => {
                setAmount(e.target.value);
                if (fieldError) setFieldError(null);
              }}
              aria-invalid={fieldError ? true : undefined}
              aria-describedby={fieldError ? "twin-amount-error" : "twin-amount-hint"}
            />
          </div>
          {fieldError ? (
            <div className="error" id="twin-amount-error" role="alert" data-testid="twin-amount-error">
              {fieldError}
            </div>
          ) : (
            <div className="hint" id="twin-amount-hint">
              {info.help}
            </div>
          )}
        </div>
        {apiError !== null && (
          <div className="alert-box error" role="alert">
            {errorText(apiError)}
          </div>
        )}
        <button className="btn" type="submit" disabled={run.isPending}>
          {run.isPending ? "Simulating…" : "Run simulation"}
        </button>
      </form>
    </section>
  );
}

function signOf(v: Money | undefined, currency: string): -1 | 0 | 1 {
  const m = v === undefined ? null : toMinor(v, currency);
  if (m === null || m === 0n) return 0;
  return m < 0n ? -1 : 1;
}

function ResultCard({ result }: { result: Simulation | null }) {
  if (!result) {
    return (
      <section className="card twin-result-empty" aria-label="Simulation result">
        <h2>Result</h2>
        <Empty>
          Pick a scenario and an amount, then run the simulation: your virtual balance, risk score and a recommendation
          appear here.
        </Empty>
      </section>
    );
  }
  const c = result.currency;
  const info = scenarioInfo(result.scenario);
  const diff = result.difference;
  const diffSign = signOf(diff, c);
  const score = Math.max(0, Math.min(100, result.risk_score));
  const virtualNegative = signOf(result.virtual_balance, c) < 0;
  return (
    <section className="card twin-result" data-testid="sim-result" aria-labelledby="twin-result-title" aria-live="polite">
      <div className="row between">
        <h2 id="twin-result-title" style={{ margin: 0 }}>
          Result · {info?.name ?? result.scenario}
        </h2>
        <span className={`pill ${result.alert_level}`} data-testid="sim-level">
          {result.alert_level === "low" ? "Low risk" : result.alert_level === "medium" ? "Medium risk" : "High risk"}
        </span>
      </div>
      <div className="twin-flow">
        <div>
          <div className="twin-k">Current balance</div>
          <div className="twin-v amount" data-testid="sim-current-balance">
            {formatMoney(result.current_balance, c)}
          </div>
        </div>
        <div className="twin-arrow" aria-hidden="true">
          →
        </div>
        <div>
          <div className="twin-k">Virtual balance</div>
          <div className={`twin-v amount ${virtualNegative ? "neg" : ""}`} data-testid="sim-virtual-balance">
            {formatMoney(result.virtual_balance, c)}
          </div>
        </div>
      </div>
      {diff !== undefined && (
        <div className="muted twin-diff">
          Change:{" "}
          <span className={`amount ${diffSign > 0 ? "in" : ""}`}>{diffSign === 0 ? formatMoney(diff, c) : formatSigned(diff, c, diffSign > 0 ? "in" : "out")}</span>
          {info?.percent && <> ({result.amount}% on your balance)</>}
        </div>
      )}
      <div className="twin-risk">
        <div className="row between">
          <span id="twin-risk-label">Risk score</span>
          <span className="amount">
            <span data-testid="sim-risk-score" style={{ color: riskColor(score), fontWeight: 700 }}>
              {result.risk_score}
            </span>
            <span className="faint"> / 100</span>
          </span>
        </div>
        <div className="risk-bar" role="meter" aria-labelledby="twin-risk-label" aria-valuemin={0} aria-valuemax={100} aria-valuenow={score}>
          <span style={{ width: `${score}%`, background: riskColor(score) }} />
        </div>
      </div>
      {result.flags.length > 0 ? (
        <ul className="twin-flags" aria-label="Warning signs">
          {result.flags.map((f) => (
            <li key={f}>
              <span aria-hidden="true">⚠</span> {f}
            </li>
          ))}
        </ul>
      ) : (
        <p className="twin-noflags">
          <span aria-hidden="true">✓</span> No warning signs.
        </p>
      )}
      <div className={`alert-box ${levelBox(result.alert_level)}`} data-testid="sim-recommendation">
        <strong>Recommendation: </strong>
        {result.recommendation}
      </div>
      {result.months_covered !== null && result.months_covered !== undefined ? (
        <p className="twin-months" data-testid="sim-months-covered">
          Your remaining balance would cover <strong>{result.months_covered}</strong> {result.months_covered === 1 ? "month" : "months"} of
          your recent spending.
        </p>
      ) : (
        result.scenario === "emergency_fund" && <p className="twin-months muted">No spending in the last 90 days to measure months covered against.</p>
      )}
      <p className="faint twin-note">Simulation ran on your virtual twin. Real data unchanged.</p>
    </section>
  );
}

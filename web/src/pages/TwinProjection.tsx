// The projection panel: months ahead from the live balance (or a given one) with a return,
// inflation, a short list of events and optional Monte Carlo → the fan chart, the chances of
// running out and of reaching a goal, and the first month the expected balance goes negative.
import { useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, newIdempotencyKey } from "../lib/api";
import { chartValue, formatMoney, type Money } from "../lib/money";
import { keys } from "../lib/queries";
import { errorText } from "../components/common";
import { TwinFanChart } from "../components/TwinFanChart";
import {
  buildProjection,
  chartRows,
  DEFAULT_DRAFT,
  formatShare,
  MAX_EVENTS,
  type DraftErrors,
  type EventDraft,
  type Projection,
  type ProjectionDraft,
  type ProjectionRequest,
} from "./TwinModel";

/** Which form field an API error code is about (README "Digital twin" errors). */
const CODE_FIELD: Record<string, string> = {
  invalid_horizon: "horizon",
  invalid_rate: "return",
  invalid_inflation: "inflation",
  invalid_start_balance: "start",
  invalid_paths: "paths",
  simulation_too_large: "paths",
  invalid_volatility: "volatility",
  invalid_goal: "goal",
};

function NumField({
  id,
  label,
  value,
  onChange,
  error,
  hint,
  suffix,
  placeholder,
  inputMode = "decimal",
}: {
  id: string;
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: ReactNode;
  suffix?: string;
  placeholder?: string;
  inputMode?: "decimal" | "numeric";
}) {
  const described = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="twin-input-wrap">
        {suffix && (
          <span className="twin-affix" aria-hidden="true">
            {suffix}
          </span>
        )}
        <input
          id={id}
          inputMode={inputMode}
          autoComplete="off"
          value={value}
          placeholder={placeholder}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={described}
        />
      </div>
      {error ? (
        <div className="error" id={`${id}-error`} role="alert" data-testid={`${id}-error`}>
          {error}
        </div>
      ) : (
        hint && (
          <div className="hint" id={`${id}-hint`}>
            {hint}
          </div>
        )
      )}
    </div>
  );
}

export function TwinProjection({ accountId, currency, liveBalance }: { accountId: string | null; currency: string; liveBalance: Money | null }) {
  const qc = useQueryClient();
  const [d, setD] = useState<ProjectionDraft>(DEFAULT_DRAFT);
  const [errors, setErrors] = useState<DraftErrors>({});
  const nextKey = useRef(1);
  const attempt = useRef<{ body: string; key: string } | null>(null);

  const run = useMutation({
    mutationFn: ({ body, key }: { body: ProjectionRequest & { account_id?: string }; key: string }) =>
      api.post<Projection>("/api/simulate/projection", body, { idempotencyKey: key }),
    onSuccess: () => {
      attempt.current = null;
      qc.invalidateQueries({ queryKey: keys.simulations });
    },
    onError: (e) => {
      if (!(e instanceof ApiError && (e.status === 0 || e.status >= 500))) attempt.current = null;
      if (e instanceof ApiError && CODE_FIELD[e.code]) setErrors({ [CODE_FIELD[e.code]]: e.detail });
    },
  });

  const set = <K extends keyof ProjectionDraft>(k: K, v: ProjectionDraft[K]) => {
    setD((x) => ({ ...x, [k]: v }));
    setErrors((e) => {
      const f = fieldOf(k);
      if (!(f in e)) return e;
      const rest = { ...e };
      delete rest[f];
      return rest;
    });
  };
  const setEvent = (key: number, patch: Partial<EventDraft>) => {
    setD((x) => ({ ...x, events: x.events.map((ev) => (ev.key === key ? { ...ev, ...patch } : ev)) }));
    setErrors((e) => {
      const rest = { ...e };
      for (const k of Object.keys(rest)) if (k.startsWith(`event-${key}-`)) delete rest[k];
      return rest;
    });
  };
  const addEvent = () => {
    const key = nextKey.current++;
    setD((x) => ({ ...x, events: [...x.events, { key, type: "expense", amount: "", month: "1", recurring: true, endMonth: "" }] }));
    window.setTimeout(() => document.getElementById(`event-${key}-type`)?.focus(), 0);
  };
  const removeEvent = (key: number) => setD((x) => ({ ...x, events: x.events.filter((ev) => ev.key !== key) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    if (run.isPending) return;
    const b = buildProjection(d, currency);
    if (!b.ok) {
      setErrors(b.errors);
      const first = Object.keys(b.errors)[0];
      if (first) document.getElementById(first.startsWith("event-") ? first : `proj-${first}`)?.focus();
      return;
    }
    setErrors({});
    const body: ProjectionRequest & { account_id?: string } = { ...b.body };
    if (accountId && body.start_balance === undefined) body.account_id = accountId;
    const text = JSON.stringify(body);
    if (attempt.current?.body !== text) attempt.current = { body: text, key: newIdempotencyKey() };
    run.mutate({ body, key: attempt.current.key });
  }

  const p = run.data;
  const rows = useMemo(() => (p ? chartRows(p) : []), [p]);
  const mc = p?.monte_carlo ?? null;
  const goal = mc?.goal ? { value: chartValue(mc.goal, p!.currency), text: mc.goal } : null;
  const formError = run.isError && !(run.error instanceof ApiError && CODE_FIELD[run.error.code]) ? run.error : null;

  return (
    <section className="card twin-projection" aria-labelledby="twin-proj-title">
      <h2 id="twin-proj-title">Projection</h2>
      <p className="muted twin-lead">
        See where your balance could be months or years from now, month by month, with your own income, expenses and rate
        changes. Monte Carlo runs thousands of random market paths to show the range of outcomes.
      </p>
      <form className="form" onSubmit={submit} noValidate>
        <div className="twin-fields">
          <NumField id="proj-horizon" label="Horizon (months)" value={d.horizon} onChange={(v) => set("horizon", v)} error={errors.horizon} hint="1 to 600 (50 years)." inputMode="numeric" />
          <NumField id="proj-return" label="Annual return (%)" value={d.annualReturn} onChange={(v) => set("annualReturn", v)} error={errors.return} hint="Growth on a positive balance, e.g. 7." suffix="%" />
          <NumField id="proj-inflation" label="Inflation (%)" value={d.inflation} onChange={(v) => set("inflation", v)} error={errors.inflation} hint="For the balance in today's money." suffix="%" />
        </div>
        <div className="twin-start">
          <label className="twin-check">
            <input type="checkbox" checked={d.useStart} onChange={(e) => set("useStart", e.target.checked)} />
            Start from a different balance
          </label>
          {d.useStart ? (
            <NumField id="proj-start" label="Starting balance" value={d.startBalance} onChange={(v) => set("startBalance", v)} error={errors.start} suffix={currency} placeholder="10000.00" />
          ) : (
            <div className="hint faint">
              Starts from your live balance{liveBalance !== null ? ` (${formatMoney(liveBalance, currency)})` : ""}.
            </div>
          )}
        </div>

        <fieldset className="twin-fieldset">
          <legend>Events</legend>
          {d.events.length === 0 && <p className="faint twin-none">No events: the balance only grows with the return. Add income, an expense or a rate change.</p>}
          {errors.events && (
            <div className="error" role="alert">
              {errors.events}
            </div>
          )}
          <ol className="twin-events">
            {d.events.map((ev, i) => (
              <EventRow key={ev.key} n={i + 1} ev={ev} currency={currency} errors={errors} onChange={(patch) => setEvent(ev.key, patch)} onRemove={() => removeEvent(ev.key)} />
            ))}
          </ol>
          <button type="button" className="btn small secondary" onClick={addEvent} disabled={d.events.length >= MAX_EVENTS}>
            + Add event
          </button>
        </fieldset>

        <fieldset className="twin-fieldset">
          <legend>
            <label className="twin-check">
              <input type="checkbox" checked={d.monteCarlo} onChange={(e) => set("monteCarlo", e.target.checked)} />
              Monte Carlo simulation
            </label>
          </legend>
          {d.monteCarlo ? (
            <div className="twin-fields">
              <NumField id="proj-paths" label="Paths" value={d.paths} onChange={(v) => set("paths", v)} error={errors.paths} hint="Random market paths, e.g. 2000." inputMode="numeric" />
              <NumField id="proj-volatility" label="Volatility (%)" value={d.volatility} onChange={(v) => set("volatility", v)} error={errors.volatility} hint="Yearly ups and downs, 0 to 200." suffix="%" />
              <NumField id="proj-goal" label="Goal (optional)" value={d.goal} onChange={(v) => set("goal", v)} error={errors.goal} hint="A balance you want to reach by the end." suffix={currency} placeholder="250000" />
            </div>
          ) : (
            <p className="faint twin-none">Off: only the expected path is projected, without the range or the chances.</p>
          )}
        </fieldset>

        {formError !== null && (
          <div className="alert-box error" role="alert">
            {errorText(formError)}
          </div>
        )}
        <div>
          <button className="btn" type="submit" disabled={run.isPending}>
            {run.isPending ? "Projecting…" : "Run projection"}
          </button>
        </div>
      </form>

      {p && <ProjectionResult p={p} rows={rows} goal={goal} />}
    </section>
  );
}

/** The error key a draft field clears when edited. */
function fieldOf(k: keyof ProjectionDraft): string {
  switch (k) {
    case "annualReturn":
      return "return";
    case "startBalance":
    case "useStart":
      return "start";
    case "monteCarlo":
      return "paths";
    default:
      return k;
  }
}

function EventRow({
  n,
  ev,
  currency,
  errors,
  onChange,
  onRemove,
}: {
  n: number;
  ev: EventDraft;
  currency: string;
  errors: DraftErrors;
  onChange: (patch: Partial<EventDraft>) => void;
  onRemove: () => void;
}) {
  const p = `event-${ev.key}`;
  const rate = ev.type === "rate_change";
  const sr = <span className="sr-only">Event {n} </span>;
  return (
    <li className="twin-event" data-testid="projection-event">
      <div className="field">
        <label htmlFor={`${p}-type`}>{sr}Type</label>
        <select id={`${p}-type`} value={ev.type} onChange={(e) => onChange({ type: e.target.value as EventDraft["type"] })}>
          <option value="income">Income</option>
          <option value="expense">Expense</option>
          <option value="rate_change">Rate change</option>
        </select>
      </div>
      <NumField
        id={`${p}-amount`}
        label={
          <>
            {sr}
            {rate ? "New annual return (%)" : "Amount"}
          </>
        }
        value={ev.amount}
        onChange={(v) => onChange({ amount: v })}
        error={errors[`${p}-amount`]}
        suffix={rate ? "%" : currency}
        placeholder={rate ? "3" : "500.00"}
      />
      <NumField
        id={`${p}-month`}
        label={
          <>
            {sr}
            {rate ? "From month" : ev.recurring ? "From month" : "In month"}
          </>
        }
        value={ev.month}
        onChange={(v) => onChange({ month: v })}
        error={errors[`${p}-month`]}
        inputMode="numeric"
      />
      {!rate && (
        <div className="field twin-event-rec">
          <label className="twin-check">
            <input type="checkbox" checked={ev.recurring} onChange={(e) => onChange({ recurring: e.target.checked })} />
            {sr}Every month
          </label>
          {ev.recurring && (
            <NumField
              id={`${p}-end`}
              label={<>{sr}Until month (optional)</>}
              value={ev.endMonth}
              onChange={(v) => onChange({ endMonth: v })}
              error={errors[`${p}-end`]}
              inputMode="numeric"
              placeholder="end"
            />
          )}
        </div>
      )}
      <button type="button" className="btn ghost small twin-event-del" onClick={onRemove} aria-label={`Remove event ${n}`} title="Remove event">
        ✕
      </button>
    </li>
  );
}

function Stat({ label, children, sub, testid }: { label: string; children: ReactNode; sub?: ReactNode; testid?: string }) {
  return (
    <div className="twin-stat">
      <div className="label">{label}</div>
      <div className="value" data-testid={testid}>
        {children}
      </div>
      {sub && <div className="sub">{sub}</div>}
    </div>
  );
}

function ProjectionResult({ p, rows, goal }: { p: Projection; rows: ReturnType<typeof chartRows>; goal: { value: number; text: Money } | null }) {
  const c = p.currency;
  const mc = p.monte_carlo;
  const neg = p.first_negative_month;
  return (
    <div className="twin-proj-result" data-testid="projection-result" aria-live="polite">
      <div className="twin-stats">
        <Stat label={`Expected balance in ${p.horizon_months} ${p.horizon_months === 1 ? "month" : "months"}`} testid="projection-end-balance" sub={`from ${formatMoney(p.start_balance, c)}${p.start_is_live_balance ? " (live)" : ""}`}>
          {formatMoney(p.end_balance, c)}
        </Stat>
        <Stat label="In today's money" sub={`after ${p.inflation}% inflation a year`}>
          {formatMoney(p.totals.end_real_balance, c)}
        </Stat>
        {mc ? (
          <>
            <Stat label="Chance of running out" testid="p-ruin" sub={`of ${mc.paths.toLocaleString("en-US")} paths go below zero`}>
              <span style={{ color: mc.p_ruin > 0.1 ? "var(--red)" : mc.p_ruin > 0 ? "var(--amber)" : "var(--green)" }}>{formatShare(mc.p_ruin)}</span>
            </Stat>
            <Stat label="Chance of reaching the goal" testid="p-goal" sub={mc.goal ? `${formatMoney(mc.goal, c)} or more at the end` : "Set a goal to see this."}>
              {mc.goal ? formatShare(mc.p_goal) : "—"}
            </Stat>
          </>
        ) : (
          <Stat label="Chances" sub="Turn on Monte Carlo to see the chance of running out and of reaching a goal.">
            —
          </Stat>
        )}
      </div>
      {neg !== null ? (
        <div className="alert-box error" data-testid="first-negative-month" role="status">
          ⚠ Your expected balance first goes below zero in month {neg}.
        </div>
      ) : (
        <div className="alert-box ok" data-testid="first-negative-month" role="status">
          Your expected balance stays above zero for all {p.horizon_months} months.
        </div>
      )}
      <TwinFanChart rows={rows} currency={c} horizon={p.horizon_months} goal={goal} monteCarlo={!!mc} />
      <div className="twin-totals muted">
        Over {p.horizon_months} months: income <span className="amount in">{formatMoney(p.totals.income, c)}</span>, expenses{" "}
        <span className="amount">{formatMoney(p.totals.expense, c)}</span>, growth <span className="amount">{formatMoney(p.totals.growth, c)}</span>.
      </div>
      <p className="faint twin-note">Projection ran on your virtual twin. Real data unchanged.</p>
    </div>
  );
}

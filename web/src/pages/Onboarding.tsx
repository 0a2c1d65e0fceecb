// Onboarding, two steps: 1 — account name and phone; 2 — currency, the figures the profile
// needs (income, goal, risk appetite) and a first deposit with a live preview. Finishing
// saves the profile (PUT /api/auth/profile: the default account follows its currency while
// empty), then deposits under one Idempotency-Key, so a double click or a retry deposits once.
import { useMemo, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { api, ApiError, newIdempotencyKey } from "../lib/api";
import { useAuth } from "../lib/auth";
import { checkAmount, formatMoney, PROFILE_CURRENCIES } from "../lib/money";
import type { User } from "../lib/session";
import { keys } from "../lib/queries";
import { Field, errorText } from "../components/common";
import { useToast } from "../components/Toasts";
import { ThemeToggle } from "../components/ThemeToggle";

type Errors = Record<string, string | undefined>;

/** "+91 98765 43210" → "+919876543210"; the API wants an optional + and 7–15 digits. */
export function cleanPhone(text: string): string {
  return text.trim().replace(/[\s\-().]/g, "");
}

export function phoneError(text: string): string | null {
  return /^\+?\d{7,15}$/.test(cleanPhone(text)) ? null : "Enter 7 to 15 digits, with the country code, e.g. +44 20 7946 0958.";
}

export function Onboarding() {
  const { user, setUser } = useAuth();
  const nav = useNavigate();
  const qc = useQueryClient();
  const toast = useToast();
  const [step, setStep] = useState(1);
  const [name, setName] = useState(user?.account_name || user?.full_name || "");
  const [phone, setPhone] = useState(user?.phone_number || "");
  const [currency, setCurrency] = useState<string>(user?.currency_preference || "USD");
  const [income, setIncome] = useState("");
  const [goal, setGoal] = useState("savings");
  const [appetite, setAppetite] = useState("medium");
  const [deposit, setDeposit] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  // One key per deposit body: a retry of the same amount replays, a new amount gets a new key.
  const idem = useRef<{ body: string; key: string } | null>(null);
  const [profileSaved, setProfileSaved] = useState(false);

  const depositCheck = useMemo(() => checkAmount(deposit, currency), [deposit, currency]);

  function next(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {};
    if (!name.trim()) errs.account_name = "Enter a name for your account.";
    const pe = phoneError(phone);
    if (pe) errs.phone_number = pe;
    setErrors(errs);
    if (!Object.keys(errs).length) setStep(2);
  }

  async function finish(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {};
    const inc = income.trim() === "" ? { ok: true as const, value: "0" } : checkAmount(income, currency, { allowZero: true });
    if (!inc.ok) errs.monthly_income = inc.error;
    if (!depositCheck.ok) errs.deposit = depositCheck.error;
    setErrors(errs);
    if (Object.keys(errs).length || !inc.ok || !depositCheck.ok) return;
    setBusy(true);
    let savedUser: User | null = null;
    try {
      if (!profileSaved) {
        const u = await api.put<User>("/api/auth/profile", {
          account_name: name.trim(),
          phone_number: cleanPhone(phone),
          currency_preference: currency,
          monthly_income: inc.value,
          financial_goal: goal,
          risk_appetite: appetite,
        });
        // The session's user stays incomplete until the deposit is in, so the guard keeps
        // this page open; a failed deposit is retried without saving the profile again.
        setProfileSaved(true);
        savedUser = u;
      }
      const body = JSON.stringify({ type: "deposit", amount: depositCheck.value });
      if (!idem.current || idem.current.body !== body) idem.current = { body, key: newIdempotencyKey() };
      await api.post("/api/transactions/", { type: "deposit", amount: depositCheck.value, note: "First deposit" }, { idempotencyKey: idem.current.key });
      const me = savedUser ?? (await api.get<User>("/api/auth/me"));
      qc.invalidateQueries({ queryKey: keys.accounts });
      qc.invalidateQueries({ queryKey: keys.txns });
      toast("Account set up! Welcome to FinTwin 🎉", { kind: "ok" });
      setUser({ ...me, is_profile_complete: true });
      nav("/", { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.field) {
        const f = err.field === "currency" ? "currency_preference" : err.field === "amount" ? "deposit" : err.field;
        setErrors({ [f]: err.detail });
        if (f === "account_name" || f === "phone_number") setStep(1);
      } else {
        setErrors({ form: errorText(err) });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth-wrap">
      <div style={{ position: "fixed", top: 12, right: 12 }}>
        <ThemeToggle />
      </div>
      <div className="card auth-card">
        <h1>Set up your account</h1>
        <div className="muted">Step {step} of 2</div>
        <div className="steps" aria-hidden="true">
          <span className="done" />
          <span className={step === 2 ? "done" : ""} />
        </div>
        {step === 1 ? (
          <form className="form" onSubmit={next} noValidate>
            <Field id="account_name" label="Account name" error={errors.account_name}>
              <input id="account_name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} aria-invalid={!!errors.account_name} autoComplete="name" />
            </Field>
            <Field id="phone_number" label="Phone number" error={errors.phone_number} hint="With the country code, e.g. +44 20 7946 0958.">
              <input id="phone_number" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} maxLength={24} aria-invalid={!!errors.phone_number} autoComplete="tel" />
            </Field>
            <button className="btn" type="submit">
              Continue
            </button>
          </form>
        ) : (
          <form className="form" onSubmit={finish} noValidate>
            <Field id="currency_preference" label="Currency" error={errors.currency_preference}>
              <select id="currency_preference" value={currency} onChange={(e) => setCurrency(e.target.value)} disabled={profileSaved}>
                {PROFILE_CURRENCIES.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="monthly_income" label="Monthly income (optional)" error={errors.monthly_income}>
              <input id="monthly_income" inputMode="decimal" value={income} onChange={(e) => setIncome(e.target.value)} aria-invalid={!!errors.monthly_income} />
            </Field>
            <div className="cols" style={{ marginBottom: 0 }}>
              <Field id="financial_goal" label="Main goal" error={errors.financial_goal}>
                <select id="financial_goal" value={goal} onChange={(e) => setGoal(e.target.value)}>
                  <option value="savings">Savings</option>
                  <option value="investment">Investment</option>
                  <option value="debt_payoff">Paying off debt</option>
                  <option value="wealth_building">Building wealth</option>
                </select>
              </Field>
              <Field id="risk_appetite" label="Risk appetite" error={errors.risk_appetite}>
                <select id="risk_appetite" value={appetite} onChange={(e) => setAppetite(e.target.value)}>
                  <option value="low">Low</option>
                  <option value="medium">Medium</option>
                  <option value="high">High</option>
                </select>
              </Field>
            </div>
            <Field
              id="deposit"
              label="First deposit"
              error={errors.deposit}
              hint={depositCheck.ok ? <span data-testid="deposit-preview">Your starting balance will be {formatMoney(depositCheck.value, currency)}</span> : "An amount greater than zero."}
            >
              <input id="deposit" inputMode="decimal" value={deposit} onChange={(e) => setDeposit(e.target.value)} aria-invalid={!!errors.deposit} />
            </Field>
            {errors.form && (
              <div className="alert-box error" role="alert">
                {errors.form}
              </div>
            )}
            <div className="row between">
              <button type="button" className="btn secondary" onClick={() => setStep(1)} disabled={busy || profileSaved}>
                Back
              </button>
              <button className="btn" type="submit" disabled={busy}>
                {busy ? "Setting up…" : "Finish"}
              </button>
            </div>
          </form>
        )}
      </div>
    </div>
  );
}

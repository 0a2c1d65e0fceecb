// Small building blocks every page uses: loading, error and empty states, a labelled field,
// money, and "coming soon" for features whose issue has not landed.
import type { ReactNode } from "react";
import { ApiError } from "../lib/api";
import { formatMoney, formatSigned, type Money } from "../lib/money";

export function Loading({ lines = 3, label = "Loading…" }: { lines?: number; label?: string }) {
  return (
    <div aria-busy="true" aria-label={label} className="stack" style={{ gap: 8 }}>
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - i * 15}%` }} />
      ))}
    </div>
  );
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.detail;
  return "Something went wrong. Please try again.";
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="alert-box error row between" role="alert">
      <span>{errorText(error)}</span>
      {onRetry && (
        <button className="btn small secondary" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string | null; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && !error && <div className="hint" id={`${id}-hint`}>{hint}</div>}
      {error && (
        <div className="error" id={`${id}-error`} role="alert" data-testid={`${id}-error`}>
          {error}
        </div>
      )}
    </div>
  );
}

export function Amount({ value, currency, direction, className }: { value: Money; currency: string; direction?: "in" | "out"; className?: string }) {
  const text = direction ? formatSigned(value, currency, direction) : formatMoney(value, currency);
  return <span className={`amount ${direction === "in" ? "in" : ""} ${className ?? ""}`}>{text}</span>;
}

export function ComingSoon({ title, issue, children }: { title: string; issue: string; children?: ReactNode }) {
  return (
    <div className="card" data-testid="coming-soon">
      <h2>{title}</h2>
      <p className="muted" style={{ margin: 0 }}>
        Coming soon — {issue}. {children}
      </p>
    </div>
  );
}

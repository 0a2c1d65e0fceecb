// JSON that keeps money exact. JSON.parse turns 12345678901234.57 into a double; with the
// reviver's third argument (the value's source text: TC39 "JSON.parse source text access",
// Chromium 114+, Node 21+) numbers under a money key keep the digits the server printed.
// Browsers without it get String(value), which is exact for every amount below 2^53 minor units.
import type { Money } from "./money";

/** Keys whose numbers are money (every amount field of the HTTP API; README "HTTP surface today"). */
export const MONEY_KEYS = new Set([
  "amount", "balance", "balance_after", "balance_before", "current_balance", "virtual_balance",
  "difference", "before_balance", "after_balance", "start_balance", "real_balance", "end_balance",
  "end_real_balance", "income", "expense", "growth", "goal", "p5", "p25", "p50", "p75", "p95",
  "monthly_income",
]);

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const revive: Reviver = (key, value, context) => {
  if (typeof value === "number" && MONEY_KEYS.has(key)) {
    return (context?.source ?? String(value)) as Money;
  }
  return value;
};

export function parseJson<T = unknown>(text: string): T {
  return JSON.parse(text, revive as (k: string, v: unknown) => unknown) as T;
}

// Exact money in the browser. The API prints amounts as JSON numbers written exactly from
// integer minor units (125.50); api.ts keeps those numbers' source text, so every amount here
// is a decimal string and nothing is ever computed in floating point. Arithmetic, where a page
// needs it (sums, comparisons), is on BigInt minor units. Formatting follows the server's
// proto_money_display (proto/src/money.c): $, €, £, ¥, ₹ with Indian grouping, else "CHF 1.00".

/** A decimal amount as the API printed it, e.g. "125.50" or "-3". */
export type Money = string;

// ISO 4217 minor-unit digits that are not 2 (proto/src/money.c has the full table).
const EXPONENTS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};
const SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", INR: "₹" };

/** The currencies a profile can choose (the auth worker's list). */
export const PROFILE_CURRENCIES = ["USD", "EUR", "INR", "GBP"] as const;

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

export function currencySymbol(currency: string): string {
  return SYMBOLS[currency] ?? `${currency} `;
}

interface Parts {
  negative: boolean;
  int: string; // digits, no leading zeros (at least "0")
  frac: string; // digits as written
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

function split(value: Money | number | bigint): Parts | null {
  const text = typeof value === "string" ? value.trim() : String(value);
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const int = m[2].replace(/^0+(?=\d)/, "");
  const frac = m[3] ?? "";
  const zero = /^0*$/.test(int + frac);
  return { negative: m[1] === "-" && !zero, int, frac };
}

function group(int: string, lakh: boolean): string {
  if (int.length <= 3) return int;
  const last3 = int.slice(-3);
  let head = int.slice(0, -3);
  const size = lakh ? 2 : 3;
  const out: string[] = [];
  while (head.length > size) {
    out.unshift(head.slice(-size));
    head = head.slice(0, -size);
  }
  if (head) out.unshift(head);
  return `${out.join(",")},${last3}`;
}

/** The digits of p without its sign: grouped, the fraction padded (never rounded). */
function digits(p: Parts, currency: string): string {
  const exp = currencyExponent(currency);
  const frac = p.frac.padEnd(exp, "0");
  return `${group(p.int, currency === "INR")}${frac ? `.${frac}` : ""}`;
}

/** "1234.5", "USD" → "1,234.50" (no symbol). */
export function formatDecimal(value: Money, currency: string): string {
  const p = split(value);
  return p ? `${p.negative ? "-" : ""}${digits(p, currency)}` : String(value);
}

/** "1234.5", "USD" → "$1,234.50"; "-3", "EUR" → "-€3.00"; "5", "CHF" → "CHF 5.00". */
export function formatMoney(value: Money | null | undefined, currency: string): string {
  if (value === null || value === undefined || value === "") return "—";
  const p = split(value);
  return p ? `${p.negative ? "-" : ""}${currencySymbol(currency)}${digits(p, currency)}` : String(value);
}

/** Money with a direction: incoming "+$12.50", outgoing "−$12.50" (a real minus sign). */
export function formatSigned(value: Money, currency: string, direction: "in" | "out"): string {
  const p = split(value);
  const abs = p ? `${currencySymbol(currency)}${digits(p, currency)}` : String(value);
  return `${direction === "in" ? "+" : "−"}${abs}`;
}

/** Exact integer minor units of a decimal, or null when it is not one in this currency. */
export function toMinor(value: Money | number, currency: string): bigint | null {
  const p = split(typeof value === "number" ? String(value) : value);
  if (!p) return null;
  const exp = currencyExponent(currency);
  if (p.frac.length > exp && !/^0*$/.test(p.frac.slice(exp))) return null;
  const digits = p.int + p.frac.slice(0, exp).padEnd(exp, "0");
  const v = BigInt(digits);
  return p.negative ? -v : v;
}

/** Minor units back to the API's decimal text: 12550n, "USD" → "125.50". */
export function fromMinor(minor: bigint, currency: string): Money {
  const exp = currencyExponent(currency);
  const neg = minor < 0n;
  const digits = (neg ? -minor : minor).toString().padStart(exp + 1, "0");
  const int = digits.slice(0, digits.length - exp);
  const frac = exp ? `.${digits.slice(digits.length - exp)}` : "";
  return `${neg ? "-" : ""}${int}${frac}`;
}

/** A chart coordinate only (never shown as text, never summed): minor units ÷ 10^exp. */
export function chartValue(value: Money, currency: string): number {
  const minor = toMinor(value, currency);
  if (minor === null) return NaN;
  return Number(minor) / 10 ** currencyExponent(currency);
}

export type AmountCheck = { ok: true; value: Money } | { ok: false; error: string };

/**
 * What a person typed into an amount field, checked the way the ledger will check it:
 * digits with at most the currency's decimals, greater than zero, at most 15 integer digits.
 * Grouping commas and spaces are allowed ("1,250.00"). The value sent is the cleaned text.
 */
export function checkAmount(text: string, currency: string, opts: { allowZero?: boolean } = {}): AmountCheck {
  const cleaned = text.trim().replace(/[,\s]/g, "");
  if (cleaned === "") return { ok: false, error: "Enter an amount." };
  if (!/^\d+(\.\d+)?$/.test(cleaned) && !/^\d+\.$/.test(cleaned)) {
    return { ok: false, error: "Use digits and at most one decimal point, e.g. 125.50." };
  }
  const noDot = cleaned.replace(/\.$/, "");
  const exp = currencyExponent(currency);
  const frac = noDot.split(".")[1] ?? "";
  if (frac.length > exp) {
    return {
      ok: false,
      error: exp === 0 ? `${currency} has no decimals.` : `${currency} allows at most ${exp} decimals.`,
    };
  }
  if ((noDot.split(".")[0] ?? "").replace(/^0+/, "").length > 15) {
    return { ok: false, error: "That amount is too large." };
  }
  const minor = toMinor(noDot, currency);
  if (minor === null || (minor <= 0n && !opts.allowZero)) {
    return { ok: false, error: "The amount must be greater than zero." };
  }
  return { ok: true, value: noDot };
}

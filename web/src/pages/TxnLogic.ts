// The Transactions page's pure parts, unit-tested alone (TxnLogic.test.ts): what the
// recipient field holds, how a row is labelled, the filter, and when an Idempotency-Key is
// kept for a retry and when a new one is due.
import { ApiError } from "../lib/api";
import type { Txn } from "../lib/types";

export type TxnType = Txn["type"];
export type TxnFilter = "all" | TxnType;

/** Page size of the list (GET /api/transactions/?limit=). */
export const TXN_PAGE = 20;
/** The ledger's limit on a note (rules.c LEDGER_NOTE_MAX, in characters). */
export const NOTE_MAX = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/;

export type Recipient =
  | { kind: "empty" }
  | { kind: "id"; id: string }
  | { kind: "email"; email: string }
  | { kind: "partial" } // an email being typed: not an error yet
  | { kind: "invalid"; error: string };

/** What a person typed as the recipient: a user or account id (UUID), or an email. */
export function parseRecipient(text: string): Recipient {
  const t = text.trim();
  if (!t) return { kind: "empty" };
  if (UUID.test(t)) return { kind: "id", id: t.toLowerCase() };
  if (EMAIL.test(t)) return { kind: "email", email: t };
  if (t.includes("@")) return { kind: "partial" };
  return { kind: "invalid", error: "Enter the recipient's email, user id or account id." };
}

/** "3f2a9c1d-…" → "3f2a9c1d…"; ids stay whole in the title attribute. */
export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

export const TYPE_NAMES: Record<TxnType, string> = { deposit: "Deposit", withdrawal: "Withdrawal", transfer: "Transfer" };

/**
 * Who a party of a transfer is, for people: a name we know (an account of the caller's, a
 * person looked up by id or email, the caller themself) or a short id.
 */
export interface Names {
  me: string | null;
  accounts: ReadonlyMap<string, string>; // the caller's account id → name
  people: ReadonlyMap<string, string>; // user id (lowercase) → full name (GET /api/users/lookup)
  /** A transfer between one's own accounts: its id → the account it left (from the loaded
   * "out" line), so the "in" line can say which account it came from. */
  sources?: ReadonlyMap<string, string>;
}

/** For `Names.sources`: each loaded outgoing transfer's id → the caller's account it left. */
export function transferSources(rows: readonly Txn[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of rows) if (t.type === "transfer" && t.direction === "out") m.set(t.id, t.account_id.toLowerCase());
  return m;
}

function nameOf(id: string | null, names: Names): string {
  if (!id) return "someone";
  const lower = id.toLowerCase();
  const acct = names.accounts.get(lower);
  if (acct) return acct;
  if (names.me && lower === names.me.toLowerCase()) return "you";
  return names.people.get(lower) ?? shortId(id);
}

/** "Deposit", "Withdrawal", "Received · From …", "Sent · To …". */
export function txnLabel(t: Txn, names: Names): string {
  if (t.type !== "transfer") return TYPE_NAMES[t.type] ?? t.type;
  if (t.direction === "in") {
    const src = names.sources?.get(t.id);
    const acct = src ? names.accounts.get(src) : undefined;
    return `Received · From ${acct ?? nameOf(t.from_user_id, names)}`;
  }
  // The account credited names a transfer between one's own accounts; otherwise the
  // recipient's name when we know it, else what the sender addressed (a user id or an account
  // id) or the recipient's user id, short.
  const own = t.to_account_id ? names.accounts.get(t.to_account_id.toLowerCase()) : undefined;
  const person = t.to_user_id ? names.people.get(t.to_user_id.toLowerCase()) : undefined;
  return `Sent · To ${own ?? person ?? nameOf(t.to_account ?? t.to_user_id, names)}`;
}

/**
 * The other person of a transfer row, whose name the row wants (lowercase user id): the
 * sender of an incoming one, the recipient of an outgoing one. None for deposits and
 * withdrawals, for a transfer between one's own accounts (the row names the account), or
 * when the API gave no id.
 */
export function counterparty(t: Txn, names: Pick<Names, "me" | "accounts">): string | null {
  if (t.type !== "transfer") return null;
  if (t.direction === "out" && t.to_account_id && names.accounts.has(t.to_account_id.toLowerCase())) return null;
  const id = (t.direction === "in" ? t.from_user_id : t.to_user_id)?.toLowerCase();
  if (!id || (names.me && id === names.me.toLowerCase())) return null;
  return id;
}

/** The distinct people of the rows, first seen first: one name lookup each, not one per row. */
export function counterparties(rows: readonly Txn[], names: Pick<Names, "me" | "accounts">): string[] {
  const seen = new Set<string>();
  for (const t of rows) {
    const id = counterparty(t, names);
    if (id) seen.add(id);
  }
  return [...seen];
}

/** A row's identity: a transfer between two of one's own accounts lists one id twice. */
/** The row's second line: the note, else the type unless the label already says it. */
export function txnDetail(t: Txn, label: string): string {
  if (t.note) return t.note;
  const type = TYPE_NAMES[t.type] ?? t.type;
  return label === type ? "" : type;
}

export function rowKey(t: Txn): string {
  return `${t.id}:${t.account_id}:${t.direction}`;
}

/** The loaded pages as one list, newest first, each row once (keyset pages may repeat the
 * older line of an own-account transfer at a boundary). */
export function flattenPages(pages: readonly (readonly Txn[])[]): Txn[] {
  const seen = new Set<string>();
  const out: Txn[] = [];
  for (const page of pages)
    for (const t of page) {
      const k = rowKey(t);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(t);
      }
    }
  return out;
}

export function matchesFilter(t: Txn, type: TxnFilter, category: string): boolean {
  return (type === "all" || t.type === type) && (!category || t.category === category);
}

/** The categories present in the loaded rows (the API adds them with the categories issue). */
export function categoriesOf(rows: readonly Txn[]): string[] {
  const s = new Set<string>();
  for (const t of rows) if (t.category) s.add(t.category);
  return [...s].sort((a, b) => a.localeCompare(b));
}

/** The next page's `before`: the last id of a full page; none after a short one. */
export function nextBefore(last: readonly Txn[]): string | undefined {
  return last.length < TXN_PAGE ? undefined : last[last.length - 1]?.id;
}

export interface TxnBody {
  type: TxnType;
  amount: string;
  account_id?: string;
  to_account?: string;
  note?: string;
}

/** The request body, its keys always in one order so equal bodies print equal. */
export function txnBody(b: TxnBody): TxnBody {
  const out: TxnBody = { type: b.type, amount: b.amount };
  if (b.account_id) out.account_id = b.account_id;
  if (b.type === "transfer" && b.to_account) out.to_account = b.to_account;
  const note = b.note?.trim();
  if (note) out.note = note;
  return out;
}

/**
 * The Idempotency-Key of the form. One key per body: a retry of the same body (after a
 * network error, a 5xx or a 409 while the first is still in flight) reuses it, so the server
 * posts at most once; a changed body gets a new key. After an answer the server decided (a
 * success or a refusal, which it stores and would replay under the same key) the key is
 * spent: the same body sent again is a new request (a refused withdrawal tried again after a
 * deposit must not replay the old refusal).
 */
export class IdempotencyKeys {
  private fp: string | null = null;
  private key: string | null = null;
  constructor(private readonly make: () => string) {}

  keyFor(body: TxnBody): string {
    const fp = JSON.stringify(txnBody(body));
    if (this.fp !== fp || !this.key) {
      this.fp = fp;
      this.key = this.make();
    }
    return this.key;
  }

  /** After an answer: keep the key only when the server may not have decided. */
  settle(error: unknown | null): void {
    if (error !== null && outcomeUnknown(error)) return;
    this.fp = null;
    this.key = null;
  }
}

/** Whether a failed POST may or may not have been recorded (so a retry must reuse its key). */
export function outcomeUnknown(e: unknown): boolean {
  if (!(e instanceof ApiError)) return true;
  return e.status === 0 || e.status === 409 || e.status >= 500;
}

/** The form field an API error is about, so the message is shown next to it. */
export function errorField(e: unknown): "amount" | "to" | "note" | "account" | null {
  if (!(e instanceof ApiError)) return null;
  switch (e.code) {
    case "invalid_amount":
    case "insufficient_funds":
      return "amount";
    case "invalid_to_account":
    case "recipient_not_found":
    case "same_account":
    case "currency_mismatch":
      return "to";
    case "invalid_note":
      return "note";
    case "invalid_account_id":
    case "account_not_found":
      return "account";
    default:
      return null;
  }
}

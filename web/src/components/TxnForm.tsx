// The new-transaction form: deposit, withdrawal or transfer from one of the person's
// accounts. A transfer's recipient is a user id, an account id or an email (looked up with
// GET /api/users/lookup and shown as "To: <name>" before anything is sent). The POST carries
// an Idempotency-Key kept for retries of the same body (TxnLogic.IdempotencyKeys), and the
// button is disabled while it is in flight, so a double click or a retry posts once.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, newIdempotencyKey } from "../lib/api";
import { checkAmount, formatMoney, toMinor } from "../lib/money";
import { rememberPerson } from "../lib/people";
import { keys } from "../lib/queries";
import type { Account, Txn } from "../lib/types";
import { Field, errorText } from "./common";
import { useToast } from "./Toasts";
import {
  errorField,
  IdempotencyKeys,
  NOTE_MAX,
  outcomeUnknown,
  parseRecipient,
  shortId,
  txnBody,
  type TxnType,
} from "../pages/TxnLogic";

interface LookupAnswer {
  id: string;
  full_name: string;
}

const TYPES: { value: TxnType; label: string }[] = [
  { value: "deposit", label: "Deposit" },
  { value: "withdrawal", label: "Withdrawal" },
  { value: "transfer", label: "Transfer" },
];
const SUBMIT: Record<TxnType, [string, string]> = {
  deposit: ["Record deposit", "Recording…"],
  withdrawal: ["Record withdrawal", "Recording…"],
  transfer: ["Send transfer", "Sending…"],
};
const VERB: Record<TxnType, string> = { deposit: "deposit", withdrawal: "withdraw", transfer: "send" };

function useDebounced<T>(value: T, ms: number): [T, (v: T) => void] {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return [v, setV];
}

export function TxnForm({ accounts, defaultAccountId, fallbackCurrency }: { accounts: Account[]; defaultAccountId: string | null; fallbackCurrency: string }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [type, setType] = useState<TxnType>("deposit");
  const [accountId, setAccountId] = useState("");
  const [to, setTo] = useState("");
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [touched, setTouched] = useState<{ amount?: boolean; to?: boolean }>({});
  const [serverError, setServerError] = useState<unknown>(null);
  const idem = useRef(new IdempotencyKeys(newIdempotencyKey));
  const inFlight = useRef(false);

  const account = accounts.find((a) => a.id === accountId) ?? accounts.find((a) => a.id === defaultAccountId) ?? accounts[0] ?? null;
  const currency = account?.currency ?? fallbackCurrency;
  const check = checkAmount(amount, currency);

  // The recipient: an id is sent as it is; an email is looked up (debounced, once per address).
  const recipient = parseRecipient(to);
  const email = recipient.kind === "email" ? recipient.email.toLowerCase() : "";
  const [lookupEmail, setLookupEmail] = useDebounced(email, 500);
  const lookup = useQuery({
    queryKey: ["users", "lookup", lookupEmail],
    queryFn: ({ signal }) => api.get<LookupAnswer>(`/api/users/lookup?email=${encodeURIComponent(lookupEmail)}`, { signal }),
    enabled: type === "transfer" && !!lookupEmail && lookupEmail === email,
    staleTime: 5 * 60_000,
    retry: false,
  });
  useEffect(() => {
    // The list names the recipient from the same cache, without a lookup by id.
    if (lookup.data) rememberPerson(qc, lookup.data.id, lookup.data.full_name);
  }, [qc, lookup.data]);
  const resolved = lookup.data && lookupEmail === email ? lookup.data : null;
  const toId = type !== "transfer" ? undefined : recipient.kind === "id" ? recipient.id : recipient.kind === "email" ? resolved?.id : undefined;
  const ownTarget = toId ? accounts.find((a) => a.id === toId) : undefined;

  const mutation = useMutation({
    mutationFn: (v: { body: ReturnType<typeof txnBody>; key: string }) => api.post<Txn>("/api/transactions/", v.body, { idempotencyKey: v.key }),
    onSuccess: () => {
      idem.current.settle(null);
      toast("Transaction recorded", { kind: "ok" });
      setAmount("");
      setNote("");
      setTo("");
      setTouched({});
      setServerError(null);
    },
    onError: (e) => {
      idem.current.settle(e);
      setServerError(e);
    },
    onSettled: () => {
      inFlight.current = false;
      // Balances and the list come from the server again (a refusal changed nothing, and the
      // live channel may be down).
      void qc.invalidateQueries({ queryKey: keys.accounts });
      void qc.invalidateQueries({ queryKey: keys.txns });
    },
  });

  // A server message belongs to the body it answered: editing the form clears it.
  const bodyNow = JSON.stringify(txnBody({ type, amount: check.ok ? check.value : amount, account_id: account?.id, to_account: toId, note }));
  const lastBody = useRef<string>("");
  useEffect(() => {
    if (lastBody.current && bodyNow !== lastBody.current) setServerError(null);
  }, [bodyNow]);

  const field = errorField(serverError);
  const serverText = serverError ? errorText(serverError) : null;
  const unknownOutcome = serverError !== null && outcomeUnknown(serverError);

  let toError: string | null = null;
  let toHint: ReactNode = "Their email, user id or account id.";
  let toOk: string | null = null;
  if (type === "transfer") {
    if (recipient.kind === "invalid" && touched.to) toError = recipient.error;
    else if (recipient.kind === "partial" && touched.to) toError = "Enter a whole email address, e.g. ada@example.com.";
    else if (recipient.kind === "empty" && touched.to) toError = "Enter who receives the money.";
    else if (recipient.kind === "email") {
      if (lookup.isError && lookupEmail === email) toError = errorText(lookup.error);
      else if (resolved) toOk = `To: ${resolved.full_name}`;
      else toHint = "Looking up…";
    } else if (recipient.kind === "id") {
      toOk = ownTarget ? `To: your account ${ownTarget.name}` : `To: ${shortId(recipient.id)} (a user id or account id)`;
    }
    if (!toError && field === "to") toError = serverText;
  }
  const amountError = (touched.amount && !check.ok ? check.error : null) ?? (field === "amount" ? serverText : null);
  const over =
    check.ok && account && type !== "deposit" && (toMinor(check.value, currency) ?? 0n) > (toMinor(account.balance, currency) ?? 0n);
  const amountHint = check.ok ? (
    <>
      You will {VERB[type]} <strong className="amount" data-testid="txn-amount-preview">{formatMoney(check.value, currency)}</strong>
      {over && <span className="neg"> — more than this account's balance</span>}
    </>
  ) : (
    `In ${currency}, e.g. 125.50.`
  );

  const lookupPending = type === "transfer" && recipient.kind === "email" && !resolved && !(lookup.isError && lookupEmail === email);
  const pending = mutation.isPending;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return;
    setTouched({ amount: true, to: true });
    if (!check.ok) return;
    if (type === "transfer") {
      if (recipient.kind === "email" && !resolved) {
        // Not found yet (or the look-up failed): look up now, send nothing yet.
        if (lookupEmail === email) void lookup.refetch();
        else setLookupEmail(email);
        return;
      }
      if (!toId) return;
    }
    const body = txnBody({ type, amount: check.value, account_id: account?.id, to_account: toId, note });
    const key = idem.current.keyFor(body);
    lastBody.current = JSON.stringify(body);
    inFlight.current = true;
    setServerError(null);
    mutation.mutate({ body, key });
  }

  return (
    <form className="form" onSubmit={submit} noValidate aria-label="New transaction" data-testid="txn-form">
      <div className="field">
        <span className="txn-label" id="txn-type-label">Type</span>
        <div className="seg txn-seg" role="group" aria-labelledby="txn-type-label">
          {TYPES.map((t) => (
            <button key={t.value} type="button" aria-pressed={type === t.value} onClick={() => setType(t.value)} disabled={pending}>
              {t.label}
            </button>
          ))}
        </div>
      </div>

      {accounts.length > 0 ? (
        <Field id="txn-account" label={type === "deposit" ? "To account" : "From account"} error={field === "account" ? serverText : null} hint={account && <>Balance <span className="amount" data-testid="txn-account-balance">{formatMoney(account.balance, account.currency)}</span></>}>
          <select id="txn-account" value={account?.id ?? ""} onChange={(e) => setAccountId(e.target.value)} disabled={pending}>
            {accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} · {a.currency}
              </option>
            ))}
          </select>
        </Field>
      ) : (
        <p className="hint faint" style={{ margin: 0 }}>
          Your first deposit opens your account in {currency}.
        </p>
      )}

      {type === "transfer" && (
        <Field id="txn-to" label="Recipient" error={toError} hint={toOk ? null : toHint}>
          <input
            id="txn-to"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            onBlur={() => {
              setTouched((t) => ({ ...t, to: true }));
              if (email) setLookupEmail(email);
            }}
            placeholder="ada@example.com"
            autoComplete="off"
            spellCheck={false}
            aria-invalid={!!toError}
            aria-describedby={toError ? "txn-to-error" : toOk ? "txn-to-ok" : "txn-to-hint"}
            disabled={pending}
          />
          {toOk && !toError && (
            <div className="txn-to-ok" id="txn-to-ok" data-testid="txn-recipient" role="status">
              {toOk}
            </div>
          )}
        </Field>
      )}

      <Field id="txn-amount" label="Amount" error={amountError} hint={amountHint}>
        <input
          id="txn-amount"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          onBlur={() => setTouched((t) => ({ ...t, amount: !!amount || t.amount }))}
          inputMode="decimal"
          autoComplete="off"
          placeholder="0.00"
          aria-invalid={!!amountError}
          aria-describedby={amountError ? "txn-amount-error" : "txn-amount-hint"}
          disabled={pending}
          className="amount"
        />
      </Field>

      <Field id="txn-note" label="Note (optional)" error={field === "note" ? serverText : null} hint={`${[...note].length}/${NOTE_MAX}`}>
        <input id="txn-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={NOTE_MAX} autoComplete="off" placeholder="What is it for?" disabled={pending} aria-describedby="txn-note-hint" />
      </Field>

      {serverText && !field && (
        <div className="alert-box error" role="alert" data-testid="txn-error">
          {serverText}
          {unknownOutcome && " Press the button again to retry: it will be recorded once."}
        </div>
      )}
      {serverText && field && unknownOutcome && (
        <div className="alert-box warn" role="alert">
          Press the button again to retry: it will be recorded once.
        </div>
      )}

      <button type="submit" className="btn" disabled={pending || lookupPending} data-testid="txn-submit" aria-busy={pending}>
        {pending ? SUBMIT[type][1] : SUBMIT[type][0]}
      </button>
    </form>
  );
}


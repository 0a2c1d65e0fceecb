// The person's transactions, newest first, 20 at a time with keyset paging
// (`before=<last id>`, so postings that arrive meanwhile never shift or repeat a page).
//
// The filters (type, and category once the API returns one) are applied to the loaded rows:
// GET /api/transactions/ has no type filter (docs/api.md: limit, offset, before only). So that
// a filter never shows a short or empty list while older matches exist, a filter keeps
// loading pages until it shows a page more of matching rows, up to AUTO_PAGES requests per
// step; "Load more" continues from there.
import { useEffect, useMemo, useRef, useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatMoney, formatSigned } from "../lib/money";
import { keys } from "../lib/queries";
import { dateTime } from "../lib/format";
import type { Account, Txn } from "../lib/types";
import { Empty, ErrorBox, Loading } from "./common";
import { usePeople } from "../lib/people";
import {
  categoriesOf,
  counterparties,
  flattenPages,
  matchesFilter,
  nextBefore,
  rowKey,
  TXN_PAGE,
  transferSources,
  txnDetail,
  txnLabel,
  type Names,
  type TxnFilter,
} from "../pages/TxnLogic";

const AUTO_PAGES = 5;

const FILTERS: { value: TxnFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "deposit", label: "Deposits" },
  { value: "withdrawal", label: "Withdrawals" },
  { value: "transfer", label: "Transfers" },
];

export function TxnList({ accounts, userId }: { accounts: Account[]; userId: string | null }) {
  const [type, setType] = useState<TxnFilter>("all");
  const [category, setCategory] = useState("");
  const [autoLoading, setAutoLoading] = useState(false);

  const q = useInfiniteQuery({
    queryKey: [...keys.txns, "list"],
    queryFn: ({ pageParam, signal }) =>
      api.get<Txn[]>(`/api/transactions/?limit=${TXN_PAGE}${pageParam ? `&before=${encodeURIComponent(pageParam)}` : ""}`, { signal }),
    initialPageParam: "",
    getNextPageParam: (last) => nextBefore(last),
  });

  const rows = useMemo(() => flattenPages(q.data?.pages ?? []), [q.data]);
  const shown = useMemo(() => rows.filter((t) => matchesFilter(t, type, category)), [rows, type, category]);
  const categories = useMemo(() => categoriesOf(rows), [rows]);
  const filtered = type !== "all" || !!category;

  // Transfer rows name the other person: one lookup per distinct person (cached), the short
  // id until it answers.
  const accountNames = useMemo(() => new Map(accounts.map((a) => [a.id.toLowerCase(), a.name])), [accounts]);
  const others = useMemo(() => counterparties(shown, { me: userId, accounts: accountNames }), [shown, userId, accountNames]);
  const people = usePeople(others);
  const names: Names = useMemo(
    () => ({ me: userId, accounts: accountNames, people, sources: transferSources(rows) }),
    [userId, accountNames, people, rows],
  );

  // Loads pages until `target` matching rows are loaded, the history ends, or AUTO_PAGES.
  const fetchNext = q.fetchNextPage;
  const running = useRef(false);
  async function loadUntil(target: number, t: TxnFilter, c: string) {
    if (running.current) return;
    running.current = true;
    setAutoLoading(true);
    try {
      for (let i = 0; i < AUTO_PAGES; i++) {
        const r = await fetchNext();
        if (r.isError || !r.hasNextPage) break;
        const n = flattenPages(r.data?.pages ?? []).filter((x) => matchesFilter(x, t, c)).length;
        if (n >= target) break;
      }
    } finally {
      running.current = false;
      setAutoLoading(false);
    }
  }

  // A new filter with fewer than a page of matches loaded: look further back, once per filter.
  const autoFor = useRef("");
  useEffect(() => {
    const id = `${type}|${category}`;
    if (!filtered || !q.isSuccess || autoFor.current === id) return;
    if (shown.length >= TXN_PAGE || !q.hasNextPage) return;
    autoFor.current = id;
    void loadUntil(TXN_PAGE, type, category);
  }, [type, category, filtered, q.isSuccess, q.hasNextPage, shown.length]);

  const busy = q.isFetchingNextPage || autoLoading;

  return (
    <div className="stack" style={{ gap: 12 }}>
      <div className="row between">
        <h2 style={{ margin: 0 }}>History</h2>
        <div className="row" style={{ gap: 8 }}>
          <div className="seg" role="group" aria-label="Filter by type">
            {FILTERS.map((f) => (
              <button key={f.value} type="button" aria-pressed={type === f.value} onClick={() => setType(f.value)}>
                {f.label}
              </button>
            ))}
          </div>
          {categories.length > 0 && (
            <select aria-label="Filter by category" value={category} onChange={(e) => setCategory(e.target.value)} className="txn-cat">
              <option value="">All categories</option>
              {categories.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          )}
        </div>
      </div>

      {q.isPending ? (
        <Loading lines={5} label="Loading transactions…" />
      ) : q.isError && !q.data ? (
        <ErrorBox error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        <>
          {q.isError && <ErrorBox error={q.error} onRetry={() => void q.refetch()} />}
          {shown.length === 0 ? (
            busy ? (
              <Loading lines={3} label="Looking further back…" />
            ) : (
              <Empty>
                {rows.length === 0
                  ? "No transactions yet. Record a deposit to get started."
                  : `No ${filtered ? FILTERS.find((f) => f.value === type)?.label.toLowerCase() ?? "matching transactions" : "transactions"}${category ? ` in ${category}` : ""} ${q.hasNextPage ? `in your ${rows.length} most recent transactions` : "yet"}.`}
              </Empty>
            )
          ) : (
            <ul className="list txn-list" data-testid="txn-list">
              {shown.map((t) => (
                <TxnRow key={rowKey(t)} t={t} names={names} accountName={accounts.length > 1 ? names.accounts.get(t.account_id.toLowerCase()) : undefined} />
              ))}
            </ul>
          )}
          {filtered && rows.length > 0 && (
            <p className="faint txn-foot">
              Showing {shown.length} of your {rows.length} {q.hasNextPage ? "most recent transactions" : rows.length === 1 ? "transaction" : "transactions"}.
            </p>
          )}
          {q.hasNextPage && (
            <button
              type="button"
              className="btn secondary"
              disabled={busy}
              onClick={() => (filtered ? void loadUntil(shown.length + TXN_PAGE, type, category) : void q.fetchNextPage())}
              data-testid="txn-load-more"
            >
              {busy ? "Loading…" : "Load more"}
            </button>
          )}
        </>
      )}
    </div>
  );
}

function TxnRow({ t, names, accountName }: { t: Txn; names: Names; accountName?: string }) {
  const label = txnLabel(t, names);
  const detail = txnDetail(t, label);
  const party = t.type === "transfer" ? (t.direction === "in" ? t.from_user_id : t.to_account) : null;
  return (
    <li data-testid="txn-row" data-type={t.type} data-direction={t.direction} data-id={t.id}>
      <div className="txn-main">
        <div className="title" title={party ?? undefined}>
          {label}
        </div>
        <div className="meta">
          {detail && <span className="txn-note">{detail}</span>}
          {t.category && <span className="pill txn-cat-pill">{t.category}</span>}
          {accountName && (
            <span>
              {detail ? "· " : ""}
              {accountName}
            </span>
          )}
        </div>
        <time className="meta" dateTime={t.created_at}>
          {dateTime(t.created_at)}
        </time>
      </div>
      <div className="txn-money">
        <span className={`amount txn-amt ${t.direction === "in" ? "in" : ""}`} data-testid="txn-amount">
          {formatSigned(t.amount, t.currency, t.direction)}
        </span>
        <span className="meta" data-testid="txn-balance-after">
          Balance {formatMoney(t.balance_after, t.currency)}
        </span>
      </div>
    </li>
  );
}

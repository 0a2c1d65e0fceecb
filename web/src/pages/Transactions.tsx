// Transactions: the person's accounts with their live balances, the form that records a
// deposit, withdrawal or transfer (TxnForm), and the history with keyset paging (TxnList).
// Balances always come from the API (GET /api/accounts), never from summing the list; the
// live channel (LiveProvider) refreshes both on every posting.
import { useAuth } from "../lib/auth";
import { useAccounts } from "../lib/queries";
import { formatMoney } from "../lib/money";
import type { Account } from "../lib/types";
import { Empty, ErrorBox, Loading } from "../components/common";
import { TxnForm } from "../components/TxnForm";
import { TxnList } from "../components/TxnList";

export function Transactions() {
  const { user } = useAuth();
  const accounts = useAccounts();
  const list = accounts.data ?? [];
  // GET /api/accounts marks the default account (is_default); the user record names it too.
  const defaultId = list.find((a) => (a as Account & { is_default?: boolean }).is_default)?.id ?? user?.default_account_id ?? null;
  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Transactions</h1>
          <p className="muted" style={{ margin: 0 }}>
            Record money in and out, send money to another FinTwin user, and see your history.
          </p>
        </div>
      </div>

      <section aria-label="Your accounts" className="txn-accounts">
        {accounts.isPending ? (
          <div className="card">
            <Loading lines={2} label="Loading accounts…" />
          </div>
        ) : accounts.isError ? (
          <ErrorBox error={accounts.error} onRetry={() => void accounts.refetch()} />
        ) : list.length === 0 ? (
          <div className="card">
            <Empty>You have no account yet: your first deposit opens one.</Empty>
          </div>
        ) : (
          <div className="grid-stats" style={{ marginBottom: 0 }}>
            {list.map((a) => (
              <AccountCard key={a.id} a={a} isDefault={a.id === defaultId} />
            ))}
          </div>
        )}
      </section>

      <div className="txn-cols">
        <section className="card" aria-labelledby="txn-new-title">
          <h2 id="txn-new-title">New transaction</h2>
          {accounts.isPending ? (
            <Loading lines={4} />
          ) : (
            <TxnForm accounts={list} defaultAccountId={defaultId} fallbackCurrency={user?.currency_preference || "USD"} />
          )}
        </section>
        <section className="card" aria-label="Transaction history">
          <TxnList accounts={list} userId={user?.id ?? null} />
        </section>
      </div>
    </div>
  );
}

function AccountCard({ a, isDefault }: { a: Account; isDefault: boolean }) {
  return (
    <div className="card stat" data-testid="account-card" data-account-id={a.id}>
      <div className="label row between">
        <span>{a.name}</span>
        {isDefault && <span className="pill txn-default">Default</span>}
      </div>
      <div className="value" data-testid="account-balance">
        {formatMoney(a.balance, a.currency)}
      </div>
      <div className="sub">
        {a.kind.charAt(0).toUpperCase() + a.kind.slice(1)} · {a.currency}
      </div>
    </div>
  );
}

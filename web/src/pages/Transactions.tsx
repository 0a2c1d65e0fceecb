// Placeholder: the Transactions page is being written.
export function Transactions() {
  return <div className="card"><h1>Transactions</h1></div>;
}

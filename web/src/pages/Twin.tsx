// Placeholder: the Twin page is being written.
export function Twin() {
  return <div className="card"><h1>Twin</h1></div>;
}

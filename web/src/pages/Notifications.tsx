// Placeholder: the Notifications page is being written.
export function Notifications() {
  return <div className="card"><h1>Notifications</h1></div>;
}

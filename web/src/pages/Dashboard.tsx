export function Dashboard() { return <div>dashboard</div>; }

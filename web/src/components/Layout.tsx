// The signed-in shell: top bar (menu, logo, live dot, theme toggle, user pill), the sidebar
// (off canvas below 900 px) with the unread badge, and the page.
import { useEffect, useState, type ReactNode } from "react";
import { NavLink, Link, useLocation } from "react-router-dom";
import { useAuth } from "../lib/auth";
import { useNotifCount } from "../lib/queries";
import { useLiveState } from "../lib/LiveProvider";
import { badgeText, initials } from "../lib/format";
import { ThemeToggle } from "./ThemeToggle";

const NAV = [
  { to: "/", label: "Dashboard", icon: "▦" },
  { to: "/transactions", label: "Transactions", icon: "⇄" },
  { to: "/twin", label: "Digital Twin", icon: "◐" },
  { to: "/risk", label: "Risk", icon: "⚠" },
  { to: "/wealth", label: "Wealth", icon: "◆" },
  { to: "/budgets", label: "Budgets", icon: "▤" },
  { to: "/notifications", label: "Notifications", icon: "🔔" },
];

export function Layout({ children }: { children: ReactNode }) {
  const { user, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const loc = useLocation();
  const count = useNotifCount();
  const live = useLiveState();
  const badge = badgeText(count.data?.unread ?? 0);
  useEffect(() => setOpen(false), [loc.pathname]);
  const name = user?.account_name || user?.full_name || user?.email || "";
  const liveLabel = live === "ready" ? "Live updates on" : live === "waiting" || live === "connecting" || live === "authenticating" ? "Reconnecting…" : "Live updates off";
  return (
    <div className="shell">
      <header className="topbar">
        <button className="icon-btn menu-btn" aria-label="Menu" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
          ☰
        </button>
        <Link to="/" className="logo" aria-label="FinTwin dashboard">
          <span className="logo-mark">F</span> FinTwin
        </Link>
        <span className="spacer" />
        <span className={`live-dot ${live === "ready" ? "ready" : live === "stopped" || live === "idle" ? "" : "waiting"}`} title={liveLabel} aria-label={liveLabel} data-testid="live-dot" data-state={live} />
        <ThemeToggle />
        <div className="user-pill" data-testid="user-pill">
          <span className="avatar">{initials(name)}</span>
          <span className="name">{name}</span>
        </div>
      </header>
      <div className={`scrim ${open ? "open" : ""}`} onClick={() => setOpen(false)} />
      <nav className={`sidebar ${open ? "open" : ""}`} aria-label="Main">
        {NAV.map((n) => (
          <NavLink key={n.to} to={n.to} end={n.to === "/"} className={({ isActive }) => `nav${isActive ? " active" : ""}`}>
            <span aria-hidden="true">{n.icon}</span>
            {n.label}
            {n.to === "/notifications" && badge && (
              <span className="badge" data-testid="unread-badge" aria-label={`${badge} unread`}>
                {badge}
              </span>
            )}
          </NavLink>
        ))}
        <div className="foot">
          <div className="row">
            <span className="avatar">{initials(name)}</span>
            <div style={{ minWidth: 0 }}>
              <div style={{ fontWeight: 600, overflow: "hidden", textOverflow: "ellipsis" }}>{name}</div>
              <div className="faint" style={{ overflow: "hidden", textOverflow: "ellipsis" }}>{user?.email}</div>
            </div>
          </div>
          <button className="btn secondary small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="main">{children}</main>
    </div>
  );
}

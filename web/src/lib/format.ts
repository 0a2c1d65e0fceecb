// Dates and labels for people.

/** "just now", "5 min ago", "2 hours ago", "yesterday", else the local date. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return "just now";
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return h === 1 ? "1 hour ago" : `${h} hours ago`;
  const d0 = new Date(now);
  const y = new Date(d0.getFullYear(), d0.getMonth(), d0.getDate() - 1);
  const d = new Date(t);
  if (d.getFullYear() === y.getFullYear() && d.getMonth() === y.getMonth() && d.getDate() === y.getDate()) return "yesterday";
  return d.toLocaleDateString();
}

export function dateTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function shortDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function shortTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
}

/** The unread badge: "99+" above 99, nothing at 0. */
export function badgeText(n: number): string | null {
  if (!n || n < 0) return null;
  return n > 99 ? "99+" : String(n);
}

export function initials(name: string | null | undefined): string {
  const parts = (name ?? "").trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return "?";
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

export function levelForScore(score: number): "low" | "medium" | "high" {
  return score <= 30 ? "low" : score <= 60 ? "medium" : "high";
}

// The Notifications page's pure parts, unit-tested alone (NotifLogic.test.ts).
import type { Notification } from "../lib/types";

export type NotifTab = "all" | Notification["type"];
export const NOTIF_PAGE = 20;

export const NOTIF_TABS: { value: NotifTab; label: string }[] = [
  { value: "all", label: "All" },
  { value: "risk", label: "Risk" },
  { value: "alert", label: "Alert" },
  { value: "info", label: "Info" },
];

/** Icon and colour class per type: risk red ⚠, alert amber 🔔, info blue ℹ. The
 * text presentation selector (U+FE0E) keeps ⚠ and ℹ in the type's colour, not as emoji. */
export function notifIcon(type: string): { icon: string; cls: "risk" | "alert" | "info"; label: string } {
  if (type === "risk") return { icon: "⚠\uFE0E", cls: "risk", label: "Risk" };
  if (type === "alert") return { icon: "🔔", cls: "alert", label: "Alert" };
  return { icon: "ℹ\uFE0E", cls: "info", label: "Info" };
}

/** GET /api/notifications/ for a tab and an offset. */
export function notifPath(tab: NotifTab, offset: number): string {
  const type = tab === "all" ? "" : `type=${tab}&`;
  return `/api/notifications/?${type}limit=${NOTIF_PAGE}&offset=${offset}`;
}

/** The tab's unread notifications, newest first: as many as one request gives (100). */
export function unreadPath(tab: NotifTab): string {
  const type = tab === "all" ? "" : `type=${tab}&`;
  return `/api/notifications/?${type}unread_only=true&limit=100`;
}

/**
 * Unread first: the unread list as the server gave it, then the paged list without those
 * (an unread one beyond the first 100 stays in the paged list, still highlighted).
 */
export function splitUnreadFirst(unread: readonly Notification[], paged: readonly Notification[]): { unread: Notification[]; rest: Notification[] } {
  const ids = new Set(unread.map((n) => n.id));
  return { unread: [...unread], rest: paged.filter((n) => !ids.has(n.id)) };
}

/** The next page's offset: what is loaded so far, unless the last page was short. */
export function nextOffset(last: readonly Notification[], all: readonly (readonly Notification[])[]): number | undefined {
  if (last.length < NOTIF_PAGE) return undefined;
  return all.reduce((n, p) => n + p.length, 0);
}

/** Pages as one list, newest first, each id once: offsets shift when a notification arrives
 * between two pages, which repeats the boundary row. */
export function mergePages(pages: readonly (readonly Notification[])[]): Notification[] {
  const seen = new Set<string>();
  const out: Notification[] = [];
  for (const p of pages)
    for (const n of p)
      if (!seen.has(n.id)) {
        seen.add(n.id);
        out.push(n);
      }
  return out;
}

/** "Marked 3 notifications as read" (the answer's count; "1 notification" for one). */
export function markedText(count: number): string {
  return `Marked ${count} ${count === 1 ? "notification" : "notifications"} as read`;
}

/** The cached pages with one notification changed (mark read) or removed (delete). */
export function patchPages(
  pages: readonly (readonly Notification[])[],
  id: string,
  change: "read" | "delete",
): Notification[][] {
  return pages.map((p) =>
    change === "delete" ? p.filter((n) => n.id !== id) : p.map((n) => (n.id === id ? { ...n, is_read: true } : n)),
  );
}

import { describe, expect, it } from "vitest";
import type { Notification } from "../lib/types";
import { markedText, mergePages, nextOffset, notifIcon, notifPath, NOTIF_PAGE, patchPages, splitUnreadFirst, unreadPath } from "./NotifLogic";

function n(id: string, p: Partial<Notification> = {}): Notification {
  return { id, account_id: null, title: "T", message: "M", type: "info", is_read: false, created_at: "2025-01-01T00:00:00Z", ...p };
}

describe("notifications", () => {
  it("asks for a tab's page", () => {
    expect(notifPath("all", 0)).toBe(`/api/notifications/?limit=${NOTIF_PAGE}&offset=0`);
    expect(notifPath("risk", 40)).toBe(`/api/notifications/?type=risk&limit=${NOTIF_PAGE}&offset=40`);
  });
  it("pages by offset until a short page", () => {
    const full = Array.from({ length: NOTIF_PAGE }, (_, i) => n(`a${i}`));
    expect(nextOffset(full, [full, full])).toBe(2 * NOTIF_PAGE);
    expect(nextOffset([n("x")], [full, [n("x")]])).toBeUndefined();
  });
  it("lists a repeated boundary row once", () => {
    expect(mergePages([[n("a"), n("b")], [n("b"), n("c")]]).map((x) => x.id)).toEqual(["a", "b", "c"]);
  });
  it("marks read and deletes in the cached pages", () => {
    const pages = [[n("a"), n("b")], [n("c")]];
    expect(patchPages(pages, "b", "read")[0][1].is_read).toBe(true);
    expect(patchPages(pages, "b", "read")[0][0].is_read).toBe(false);
    expect(patchPages(pages, "c", "delete")).toEqual([[n("a"), n("b")], []]);
  });
  it("has an icon and colour per type", () => {
    expect(notifIcon("risk").cls).toBe("risk");
    expect(notifIcon("alert").icon).toBe("🔔");
    expect(notifIcon("info").cls).toBe("info");
  });
  it("says how many were marked", () => {
    expect(markedText(3)).toBe("Marked 3 notifications as read");
    expect(markedText(1)).toBe("Marked 1 notification as read");
    expect(markedText(0)).toBe("Marked 0 notifications as read");
  });
});

describe("unread first", () => {
  const u = (id: string, is_read: boolean) => n(id, { is_read });
  it("lists the unread ones, then the rest without them", () => {
    const r = splitUnreadFirst([u("u2", false), u("u1", false)], [u("u2", false), u("r1", true), u("u1", false), u("u0", false)]);
    expect(r.unread.map((x) => x.id)).toEqual(["u2", "u1"]);
    expect(r.rest.map((x) => x.id)).toEqual(["r1", "u0"]);
  });
  it("asks for up to 100 unread of the tab", () => {
    expect(unreadPath("all")).toBe("/api/notifications/?unread_only=true&limit=100");
    expect(unreadPath("risk")).toBe("/api/notifications/?type=risk&unread_only=true&limit=100");
  });
});

// Notifications: tabs All / Risk / Alert / Info, unread first (every unread one of the tab,
// newest first, up to 100), then the rest newest first, 20 at a time ("Load more" with
// offset); unread ones highlighted; mark one read, delete one, or
// mark all as read. New notifications arrive over the live channel, which invalidates
// keys.notifications (this list and the sidebar's unread count alike).
import { useEffect, useMemo, useState, type KeyboardEvent } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { api } from "../lib/api";
import { keys, useNotifCount } from "../lib/queries";
import { dateTime, relativeTime } from "../lib/format";
import type { Notification } from "../lib/types";
import { Empty, ErrorBox, Loading, errorText } from "../components/common";
import { useToast } from "../components/Toasts";
import { markedText, mergePages, nextOffset, notifIcon, notifPath, NOTIF_TABS, patchPages, splitUnreadFirst, unreadPath, type NotifTab } from "./NotifLogic";

const listKey = [...keys.notifications, "list"] as const;
const unreadKey = [...keys.notifications, "unread"] as const;

/** The current time, again every 30 s, so "5 min ago" moves on. */
function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(t);
  }, [ms]);
  return now;
}

export function Notifications() {
  const qc = useQueryClient();
  const toast = useToast();
  const [tab, setTab] = useState<NotifTab>("all");
  const count = useNotifCount();
  const now = useNow();

  const q = useInfiniteQuery({
    queryKey: [...listKey, tab],
    queryFn: ({ pageParam, signal }) => api.get<Notification[]>(notifPath(tab, pageParam), { signal }),
    initialPageParam: 0,
    getNextPageParam: (last, all) => nextOffset(last, all),
  });
  const unreadQ = useQuery({
    queryKey: [...unreadKey, tab],
    queryFn: ({ signal }) => api.get<Notification[]>(unreadPath(tab), { signal }),
  });
  const { unread: unreadItems, rest: items } = useMemo(
    () => splitUnreadFirst(unreadQ.data ?? [], mergePages(q.data?.pages ?? [])),
    [unreadQ.data, q.data],
  );

  // Mark read and delete change the cached lists at once, then re-read from the server.
  function patch(id: string, change: "read" | "delete") {
    qc.setQueriesData<InfiniteData<Notification[], number>>({ queryKey: listKey }, (old) =>
      old ? { ...old, pages: patchPages(old.pages, id, change) } : old,
    );
    qc.setQueriesData<Notification[]>({ queryKey: unreadKey }, (old) => (old ? patchPages([old], id, change)[0] : old));
  }
  const settle = () => void qc.invalidateQueries({ queryKey: keys.notifications });
  const onError = (e: unknown) => toast(errorText(e), { kind: "error" });

  const markRead = useMutation({
    mutationFn: (id: string) => api.put<Notification>(`/api/notifications/read/${encodeURIComponent(id)}`),
    onSuccess: (_d, id) => patch(id, "read"),
    onError,
    onSettled: settle,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.del<{ message: string }>(`/api/notifications/${encodeURIComponent(id)}`),
    onSuccess: (_d, id) => patch(id, "delete"),
    onError,
    onSettled: settle,
  });
  const readAll = useMutation({
    mutationFn: () => api.put<{ message: string; count: number }>("/api/notifications/read-all"),
    onSuccess: (r) => {
      qc.setQueriesData<InfiniteData<Notification[], number>>({ queryKey: listKey }, (old) =>
        old ? { ...old, pages: old.pages.map((p) => p.map((n) => ({ ...n, is_read: true }))) } : old,
      );
      qc.setQueriesData<Notification[]>({ queryKey: unreadKey }, (old) => (old ? old.map((n) => ({ ...n, is_read: true })) : old));
      toast(markedText(Number(r?.count ?? 0)), { kind: "ok" });
    },
    onError,
    onSettled: settle,
  });

  const unread = count.data?.unread;
  const busyId = (m: { isPending: boolean; variables?: string }) => (m.isPending ? m.variables : undefined);

  function onTabKey(e: KeyboardEvent<HTMLDivElement>) {
    const i = NOTIF_TABS.findIndex((t) => t.value === tab);
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % NOTIF_TABS.length;
    else if (e.key === "ArrowLeft") j = (i - 1 + NOTIF_TABS.length) % NOTIF_TABS.length;
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = NOTIF_TABS.length - 1;
    if (j < 0) return;
    e.preventDefault();
    setTab(NOTIF_TABS[j].value);
    document.getElementById(`notif-tab-${NOTIF_TABS[j].value}`)?.focus();
  }

  const tabLabel = NOTIF_TABS.find((t) => t.value === tab)?.label.toLowerCase() ?? "";
  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Notifications</h1>
          <p className="muted" style={{ margin: 0 }} data-testid="notif-summary">
            {unread === undefined ? "Deposits, transfers, risk alerts and simulations." : unread === 0 ? "You're all caught up." : `${unread} unread`}
          </p>
        </div>
        <button
          type="button"
          className="btn secondary"
          onClick={() => readAll.mutate()}
          disabled={readAll.isPending || unread === 0}
          data-testid="notif-read-all"
        >
          {readAll.isPending ? "Marking…" : "Mark all as read"}
        </button>
      </div>

      <div className="card stack" style={{ gap: 14 }}>
        <div className="seg notif-tabs" role="tablist" aria-label="Notification type" onKeyDown={onTabKey}>
          {NOTIF_TABS.map((t) => (
            <button
              key={t.value}
              id={`notif-tab-${t.value}`}
              type="button"
              role="tab"
              aria-selected={tab === t.value}
              aria-controls="notif-panel"
              tabIndex={tab === t.value ? 0 : -1}
              onClick={() => setTab(t.value)}
            >
              {t.label}
            </button>
          ))}
        </div>

        <div id="notif-panel" role="tabpanel" aria-labelledby={`notif-tab-${tab}`}>
          {q.isPending ? (
            <Loading lines={4} label="Loading notifications…" />
          ) : q.isError && !q.data ? (
            <ErrorBox error={q.error} onRetry={() => void q.refetch()} />
          ) : (
            <div className="stack" style={{ gap: 10 }}>
              {q.isError && <ErrorBox error={q.error} onRetry={() => void q.refetch()} />}
              {unreadItems.length + items.length === 0 ? (
                <Empty>{tab === "all" ? "No notifications yet. Deposits, transfers and risk alerts will show up here." : `No ${tabLabel} notifications.`}</Empty>
              ) : (
                <>
                  {[
                    { key: "unread", title: "Unread", list: unreadItems },
                    { key: "earlier", title: unreadItems.length ? "Earlier" : null, list: items },
                  ]
                    .filter((sec) => sec.list.length > 0)
                    .map((sec) => (
                      <section key={sec.key} className="stack" style={{ gap: 8 }}>
                        {sec.title && <h3 className="faint" style={{ margin: 0, fontSize: 13 }}>{sec.title}</h3>}
                        <ul className="notif-list" data-testid="notif-list" data-section={sec.key}>
                          {sec.list.map((n) => (
                            <NotifItem
                              key={n.id}
                              n={n}
                              now={now}
                              reading={busyId(markRead) === n.id}
                              deleting={busyId(remove) === n.id}
                              onRead={() => markRead.mutate(n.id)}
                              onDelete={() => remove.mutate(n.id)}
                            />
                          ))}
                        </ul>
                      </section>
                    ))}
                </>
              )}
              {q.hasNextPage && (
                <button type="button" className="btn secondary" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage} data-testid="notif-load-more">
                  {q.isFetchingNextPage ? "Loading…" : "Load more"}
                </button>
              )}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** 🔔 drawn, so it is amber like the type and shows where no emoji font is installed. */
function Bell() {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">
      <path d="M12 2a1.5 1.5 0 0 0-1.5 1.5v.7A6.5 6.5 0 0 0 5.5 10.5v4.2L3.8 17a1 1 0 0 0 .8 1.6h14.8a1 1 0 0 0 .8-1.6l-1.7-2.3v-4.2a6.5 6.5 0 0 0-5-6.3v-.7A1.5 1.5 0 0 0 12 2Zm-2.5 18a2.5 2.5 0 0 0 5 0h-5Z" />
    </svg>
  );
}

function NotifItem({ n, now, reading, deleting, onRead, onDelete }: { n: Notification; now: number; reading: boolean; deleting: boolean; onRead: () => void; onDelete: () => void }) {
  const ic = notifIcon(n.type);
  return (
    <li className={`notif${n.is_read ? "" : " unread"}`} data-testid="notif-item" data-type={n.type} data-read={n.is_read} data-id={n.id} aria-busy={deleting}>
      <span className={`ic notif-ic ${ic.cls}`} role="img" aria-label={ic.label} title={ic.label}>
        {ic.cls === "alert" ? <Bell /> : ic.icon}
      </span>
      <div className="body">
        <div className="notif-title">
          {!n.is_read && <span className="notif-dot" aria-hidden="true" />}
          <span>{n.title}</span>
          {!n.is_read && <span className="sr-only"> (unread)</span>}
        </div>
        <div className="notif-msg">{n.message}</div>
        <time className="faint notif-time" dateTime={n.created_at} title={dateTime(n.created_at)}>
          {relativeTime(n.created_at, now)}
        </time>
      </div>
      <div className="actions">
        {!n.is_read && (
          <button type="button" className="btn small secondary" onClick={onRead} disabled={reading || deleting} aria-label={`Mark read: ${n.title}`} data-testid="notif-mark-read">
            Mark read
          </button>
        )}
        <button type="button" className="btn small ghost" onClick={onDelete} disabled={deleting} aria-label={`Delete: ${n.title}`} data-testid="notif-delete">
          Delete
        </button>
      </div>
    </li>
  );
}

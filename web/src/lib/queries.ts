// Server state shared by several pages (TanStack Query). Query keys are listed here so the
// live channel (live.tsx) knows what a frame makes stale.
import { useQuery } from "@tanstack/react-query";
import { api } from "./api";
import type { Account, Notification, NotificationCount, RiskScore, Status, Txn } from "./types";

export const keys = {
  accounts: ["accounts"] as const,
  txns: ["transactions"] as const,
  notifications: ["notifications"] as const,
  notifCount: ["notifications", "count"] as const,
  simulations: ["simulations"] as const,
  status: ["status"] as const,
  /** Everything of the risk worker: a live risk frame makes all of it stale. */
  risk: ["risk"] as const,
};

export function useAccounts() {
  return useQuery({ queryKey: keys.accounts, queryFn: ({ signal }) => api.get<Account[]>("/api/accounts", { signal }) });
}

export function useNotifCount() {
  return useQuery({
    queryKey: keys.notifCount,
    queryFn: ({ signal }) => api.get<NotificationCount>("/api/notifications/count", { signal }),
  });
}

export function useRecentTxns(limit: number) {
  return useQuery({
    queryKey: [...keys.txns, "recent", limit],
    queryFn: ({ signal }) => api.get<Txn[]>(`/api/transactions/?limit=${limit}`, { signal }),
  });
}

export function useLatestNotifications(limit: number) {
  return useQuery({
    queryKey: [...keys.notifications, "latest", limit],
    queryFn: ({ signal }) => api.get<Notification[]>(`/api/notifications/?limit=${limit}`, { signal }),
  });
}

export function useStatus() {
  return useQuery({
    queryKey: keys.status,
    queryFn: ({ signal }) => api.get<Status>("/api/status", { signal, public: true }),
    staleTime: 15000,
  });
}

/**
 * The score the person should look at: GET /api/risk/score/{user id} answers the account with
 * the highest stored score. 404 account_not_found means there is nothing to score yet.
 */
export function useRiskScore(userId: string | null | undefined) {
  return useQuery({
    queryKey: [...keys.risk, "score", userId],
    enabled: !!userId,
    queryFn: ({ signal }) => api.get<RiskScore>(`/api/risk/score/${encodeURIComponent(userId!)}`, { signal }),
  });
}

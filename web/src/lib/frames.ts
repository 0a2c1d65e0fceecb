// What a live frame does to the page, as data (LiveProvider.tsx applies it): which cached
// queries it makes stale, which balance it sets in place, and which toast it shows. Pure, so
// the rules are unit-tested (frames.test.ts):
// - notification → the list and badge go stale; a toast, except for type "risk": the risk
//   frame of the same posting toasts instead, so a person sees one toast, not two;
// - balance → the balance in place, then accounts and transactions re-read;
// - risk → every risk query re-read (Risk page, dashboard card); a toast when `alert` is true.
import type { QueryKey } from "@tanstack/react-query";
import type { ToastKind } from "../components/Toasts";
import type { LiveFrame } from "./live";
import type { Money } from "./money";
import type { Notification } from "./types";
import { keys } from "./queries";

export interface FrameToast {
  text: string;
  kind: ToastKind;
  title?: string;
}

export interface FrameActions {
  invalidate: QueryKey[];
  toast: FrameToast | null;
  balance: { accountId: string; balance: Money } | null;
}

/** What the app re-reads after every ready: all a missed frame could have changed. */
export const CATCH_UP: QueryKey[] = [keys.notifications, keys.accounts, keys.txns, keys.risk];

const NONE: FrameActions = { invalidate: [], toast: null, balance: null };

/** The toast of a risk frame with alert=true: "Risk score 55 · medium", the first flag. */
export function riskToast(f: LiveFrame): FrameToast {
  const score = typeof f.score === "number" ? f.score : Number(f.score);
  const level = typeof f.alert_level === "string" ? f.alert_level : "";
  const flags = Array.isArray(f.flags) ? f.flags.filter((x): x is string => typeof x === "string" && x !== "") : [];
  const title = Number.isFinite(score) ? `Risk score ${score}${level ? ` · ${level}` : ""}` : "Risk alert";
  return { kind: "risk", title, text: flags[0] ?? "Your account's risk level changed. Open the health check to see why." };
}

export function frameActions(f: LiveFrame): FrameActions {
  switch (f.type) {
    case "notification": {
      const n = f.notification as Notification | undefined;
      const toast: FrameToast | null =
        n && n.type !== "risk" ? { text: n.message, kind: n.type === "alert" ? "alert" : "info", title: n.title } : null;
      return { ...NONE, invalidate: [keys.notifications], toast };
    }
    case "balance": {
      const id = f.account_id;
      const balance = f.balance;
      return {
        ...NONE,
        invalidate: [keys.txns, keys.accounts],
        balance: typeof id === "string" && balance !== undefined && balance !== null ? { accountId: id, balance: String(balance) } : null,
      };
    }
    case "risk":
      return { ...NONE, invalidate: [keys.risk], toast: f.alert === true ? riskToast(f) : null };
    default:
      return NONE;
  }
}

// The app's one live socket per tab (LiveClient in live.ts), started while signed in. Frames
// update the cached server state directly (what each frame does: frames.ts); after every ready
// the app re-reads what a frame could have changed (catch-up), because frames sent while
// disconnected are never replayed.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { LiveClient, liveUrl, type LiveFrame, type LiveState, type SocketLike } from "./live";
import { api } from "./api";
import { loadSession, saveSession } from "./session";
import { keys } from "./queries";
import { useToast } from "../components/Toasts";
import { CATCH_UP, frameActions } from "./frames";
import type { Account } from "./types";

const Ctx = createContext<LiveState>("idle");

export function useLiveState(): LiveState {
  return useContext(Ctx);
}

export function LiveProvider({ signedIn, children }: { signedIn: boolean; children: ReactNode }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [state, setState] = useState<LiveState>("idle");

  useEffect(() => {
    if (!signedIn) return;
    const onFrame = (f: LiveFrame) => {
      const a = frameActions(f);
      if (a.balance) {
        const { accountId, balance } = a.balance;
        qc.setQueryData<Account[]>(keys.accounts, (old) => old?.map((x) => (x.id === accountId ? { ...x, balance } : x)));
      }
      if (a.toast) toast(a.toast.text, { kind: a.toast.kind, title: a.toast.title });
      for (const queryKey of a.invalidate) qc.invalidateQueries({ queryKey });
    };
    const client = new LiveClient({
      url: liveUrl(),
      // A browser WebSocket is a SocketLike; its handler types are only narrower events.
      open: (u) => new WebSocket(u) as unknown as SocketLike,
      token: () => loadSession()?.ft_token ?? null,
      refresh: async (spent) => (await api.refreshFrom(spent))?.ft_token ?? null,
      setTimer: (fn, ms) => window.setTimeout(fn, ms),
      clearTimer: (t) => window.clearTimeout(t as number),
      random: Math.random,
      onFrame,
      onReady: () => {
        for (const queryKey of CATCH_UP) qc.invalidateQueries({ queryKey });
      },
      onSignedOut: () => saveSession(null),
      onState: (s) => setState(s),
    });
    client.start();
    return () => client.stop();
  }, [signedIn, qc, toast]);

  return <Ctx.Provider value={signedIn ? state : "idle"}>{children}</Ctx.Provider>;
}

// Session state for React: who is signed in, sign-in/up/out. Sign-out revokes on the server
// (POST /api/auth/logout) before forgetting the tokens locally.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api } from "./api";
import { loadSession, onSessionChange, saveSession, sessionFromAnswer, type AuthAnswer, type Session, type User } from "./session";

interface AuthCtx {
  session: Session | null;
  user: User | null;
  signIn: (email: string, password: string) => Promise<void>;
  signUp: (full_name: string, email: string, password: string) => Promise<void>;
  signInGoogle: (credential: string) => Promise<void>;
  signOut: () => Promise<void>;
  setUser: (u: User) => void;
}

const Ctx = createContext<AuthCtx | null>(null);

export function useAuth(): AuthCtx {
  const c = useContext(Ctx);
  if (!c) throw new Error("useAuth outside AuthProvider");
  return c;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const qc = useQueryClient();
  useEffect(
    () =>
      onSessionChange((s) => {
        setSession(s);
        if (!s) qc.clear();
      }),
    [qc],
  );
  const keep = useCallback((a: AuthAnswer) => saveSession(sessionFromAnswer(a)), []);
  const signIn = useCallback(
    async (email: string, password: string) => keep(await api.post<AuthAnswer>("/api/auth/login", { email, password }, { public: true })),
    [keep],
  );
  const signUp = useCallback(
    async (full_name: string, email: string, password: string) =>
      keep(await api.post<AuthAnswer>("/api/auth/register", { email, password, full_name }, { public: true })),
    [keep],
  );
  const signInGoogle = useCallback(
    async (credential: string) => keep(await api.post<AuthAnswer>("/api/auth/google", { credential }, { public: true })),
    [keep],
  );
  const signOut = useCallback(async () => {
    try {
      await api.post("/api/auth/logout");
    } catch {
      /* already signed out on the server, or unreachable: forget locally anyway */
    }
    saveSession(null);
  }, []);
  const setUser = useCallback((u: User) => {
    const s = loadSession();
    if (s) saveSession({ ...s, user: u });
  }, []);
  return (
    <Ctx.Provider value={{ session, user: session?.user ?? null, signIn, signUp, signInGoogle, signOut, setUser }}>
      {children}
    </Ctx.Provider>
  );
}

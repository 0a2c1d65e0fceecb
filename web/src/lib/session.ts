// The signed-in session: tokens and the user, kept in localStorage so a reload (or a second
// tab) stays signed in. Only this module reads or writes the stored tokens.
export interface User {
  id: string;
  email: string;
  full_name: string;
  picture?: string | null;
  account_name?: string | null;
  phone_number?: string | null;
  currency_preference?: string | null;
  monthly_income?: string | null;
  financial_goal?: string | null;
  risk_appetite?: string | null;
  is_profile_complete: boolean;
  default_account_id?: string | null;
}

export interface Session {
  ft_token: string;
  refresh_token: string;
  expires_at: number; // ms since epoch, from expires_in
  user: User;
}

export interface AuthAnswer {
  ft_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

const KEY = "fintwin.session";
type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export function loadSession(): Session | null {
  const raw = storage()?.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return s && typeof s.ft_token === "string" && typeof s.refresh_token === "string" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  const st = storage();
  if (s) st?.setItem(KEY, JSON.stringify(s));
  else st?.removeItem(KEY);
  for (const l of listeners) l(s);
}

export function sessionFromAnswer(a: AuthAnswer, now = Date.now()): Session {
  return { ft_token: a.ft_token, refresh_token: a.refresh_token, expires_at: now + a.expires_in * 1000, user: a.user };
}

/** Called with the new session (or null) whenever it changes, in this tab or another. */
export function onSessionChange(l: Listener): () => void {
  listeners.add(l);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) l(loadSession());
  };
  if (typeof window !== "undefined") window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(l);
    if (typeof window !== "undefined") window.removeEventListener("storage", onStorage);
  };
}

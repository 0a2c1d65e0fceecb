// The API client: every request the app makes goes through `api.request`. It adds the bearer
// token, parses answers with exact money (json.ts), turns error bodies into ApiError, and on a
// 401 `token_expired` refreshes the session once and retries the request — the person never
// notices. A refresh runs under a Web Lock so two tabs never spend the same refresh token
// (spending it twice revokes the whole chain, README "Signing in"); a tab that waited for the
// lock picks up the pair the other tab already stored.
import { parseJson } from "./json";
import { loadSession, saveSession, sessionFromAnswer, type AuthAnswer, type Session } from "./session";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
  /** The body field an error is about: `invalid_phone_number` → "phone_number". */
  get field(): string | null {
    return this.code.startsWith("invalid_") ? this.code.slice("invalid_".length) : null;
  }
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Public routes (sign-in, config) send no token and never refresh. */
  public?: boolean;
}

export interface ApiDeps {
  fetch: typeof fetch;
  load: () => Session | null;
  save: (s: Session | null) => void;
  /** Runs fn holding an exclusive lock shared by every tab (navigator.locks when present). */
  withLock: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  now: () => number;
}

/** 401 codes of a signed-in route that end the session: the person must sign in again.
 * (A refused refresh token ends it in refresh() below.) */
const ENDED = new Set(["token_revoked", "invalid_token", "unauthenticated"]);

async function defaultLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
  if (locks) return locks.request(name, fn) as Promise<T>;
  return fn();
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

export function createApi(deps: ApiDeps) {
  let refreshing: Promise<Session | null> | null = null;

  async function send(method: string, path: string, opts: RequestOptions, token: string | null) {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let res: Response;
    try {
      res = await deps.fetch(path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (e) {
      if ((e as Error)?.name === "AbortError") throw e;
      throw new ApiError(0, "network_error", "FinTwin could not be reached. Check your connection and try again.");
    }
    return res;
  }

  async function decode<T>(res: Response): Promise<T> {
    const text = await res.text();
    let body: unknown = null;
    if (text) {
      try {
        body = parseJson(text);
      } catch {
        body = null;
      }
    }
    if (res.ok) return body as T;
    const err = (body ?? {}) as { code?: string; detail?: string };
    throw new ApiError(
      res.status,
      typeof err.code === "string" ? err.code : `http_${res.status}`,
      typeof err.detail === "string" ? err.detail : `The server answered ${res.status}.`,
    );
  }

  /**
   * Exchanges the refresh token for a new pair, once for all callers at the same time, and
   * across tabs under a lock. Returns null when the session is over.
   */
  function refresh(spent: string): Promise<Session | null> {
    if (!refreshing) {
      refreshing = deps
        .withLock("fintwin-refresh", async () => {
          const current = deps.load();
          if (!current) return null;
          if (current.ft_token !== spent) return current; // another tab or request refreshed
          const res = await send("POST", "/api/auth/refresh", { body: { refresh_token: current.refresh_token } }, null);
          if (res.status === 401) {
            deps.save(null);
            return null;
          }
          const answer = await decode<AuthAnswer>(res);
          const next = sessionFromAnswer(answer, deps.now());
          deps.save(next);
          return next;
        })
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (opts.public) return decode<T>(await send(method, path, opts, null));
    const session = deps.load();
    if (!session) throw new ApiError(401, "unauthenticated", "Please sign in.");
    let res = await send(method, path, opts, session.ft_token);
    if (res.status === 401) {
      const code = await peekCode(res.clone());
      if (code === "token_expired") {
        const next = await refresh(session.ft_token);
        if (!next) throw new ApiError(401, "session_ended", "Your session has ended. Please sign in again.");
        res = await send(method, path, opts, next.ft_token);
      } else if (code && ENDED.has(code)) {
        deps.save(null);
      }
    }
    return decode<T>(res);
  }

  return {
    request,
    /** Refreshes unless `spent` (the access token a caller saw refused) was already replaced. */
    refreshFrom: (spent: string) => refresh(spent),
    get: <T>(path: string, opts?: RequestOptions) => request<T>("GET", path, opts),
    post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("POST", path, { ...opts, body: body ?? {} }),
    put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("PUT", path, { ...opts, body: body ?? {} }),
    del: <T>(path: string, opts?: RequestOptions) => request<T>("DELETE", path, opts),
  };
}

async function peekCode(res: Response): Promise<string | null> {
  try {
    const b = (await res.json()) as { code?: unknown };
    return typeof b.code === "string" ? b.code : null;
  } catch {
    return null;
  }
}

export type Api = ReturnType<typeof createApi>;

export const api: Api = createApi({
  fetch: (...a) => fetch(...a),
  load: loadSession,
  save: saveSession,
  withLock: defaultLock,
  now: () => Date.now(),
});

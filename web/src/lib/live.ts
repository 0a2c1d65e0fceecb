// The live channel (/api/ws, README "Live channel"): one socket per tab. The first message
// is {"type":"auth","token"}; after every {"type":"ready"} the app catches up over HTTP,
// because frames sent while no socket was open are never replayed. Reconnects use full-jitter
// exponential backoff (1 s doubling to 30 s, a random delay in [base/2, base]); what a close
// means comes from the gateway's close-code table. Timers, randomness and the socket are
// injected so the state machine is unit-tested without a network.
import { parseJson } from "./json";

export type LiveState = "idle" | "connecting" | "authenticating" | "ready" | "waiting" | "stopped";

export interface LiveFrame {
  type: string;
  [k: string]: unknown;
}

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LiveDeps {
  url: string;
  open: (url: string) => SocketLike;
  /** The current access token, or null when signed out. */
  token: () => string | null;
  /** Refreshes the session unless the token the socket was refused with is already replaced;
   * resolves to the current token, or null when the session has ended. */
  refresh: (spent: string) => Promise<string | null>;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (t: unknown) => void;
  random: () => number;
  onFrame: (f: LiveFrame) => void;
  /** After each ready: catch up over HTTP. */
  onReady: () => void;
  /** The server says this session is over (logged out, revoked). */
  onSignedOut: () => void;
  onState?: (s: LiveState, info?: string) => void;
}

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 30000;

/** What to do after a close: reconnect after backoff, refresh then reconnect, or stop. */
export type CloseAction = "backoff" | "refresh" | "signed_out" | "stop" | "now";

export function closeAction(code: number, reason: string): CloseAction {
  if (code === 1008) {
    if (reason === "token expired") return "refresh";
    if (reason === "token revoked" || reason === "logged out") return "signed_out";
    if (reason === "slow consumer") return "now";
    return "stop"; // origin not allowed, auth timeout, invalid token, expected an auth message
  }
  if (code === 1009 || code === 1003 || code === 1002) return "stop"; // our own bug: do not loop
  if (code === 1000) return "stop";
  return "backoff"; // 1001 going away, 1006 network, 1011 auth unavailable, others
}

export function backoffDelay(attempt: number, random: () => number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + random() * (base / 2));
}

export class LiveClient {
  private ws: SocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private sent = ""; // the token the current socket authenticated with
  private state: LiveState = "idle";
  private readonly d: LiveDeps;

  constructor(deps: LiveDeps) {
    this.d = deps;
  }

  get current(): LiveState {
    return this.state;
  }

  start(): void {
    if (this.state !== "idle" && this.state !== "stopped") return;
    this.attempt = 0;
    this.connect();
  }

  /** Closes for good (sign-out, page teardown). */
  stop(): void {
    this.clear();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close(1000, "bye");
    }
    this.set("stopped");
  }

  private set(s: LiveState, info?: string) {
    this.state = s;
    this.d.onState?.(s, info);
  }

  private clear() {
    if (this.timer !== null) this.d.clearTimer(this.timer);
    this.timer = null;
  }

  private connect(): void {
    this.clear();
    const token = this.d.token();
    if (!token) {
      this.set("stopped", "signed out");
      return;
    }
    this.set("connecting");
    const ws = this.d.open(this.d.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.set("authenticating");
      this.sent = this.d.token() ?? token;
      ws.send(JSON.stringify({ type: "auth", token: this.sent }));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      let f: LiveFrame;
      try {
        f = parseJson<LiveFrame>(ev.data);
      } catch {
        return;
      }
      if (!f || typeof f.type !== "string") return;
      if (f.type === "ready") {
        this.attempt = 0;
        this.set("ready");
        this.d.onReady();
        return;
      }
      this.d.onFrame(f);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.afterClose(ev.code, ev.reason);
    };
  }

  private afterClose(code: number, reason: string): void {
    switch (closeAction(code, reason)) {
      case "signed_out":
        this.set("stopped", reason);
        this.d.onSignedOut();
        return;
      case "stop":
        this.set("stopped", reason || String(code));
        return;
      case "refresh":
        this.set("waiting", "refreshing");
        this.d.refresh(this.sent).then(
          (t) => (t ? this.connect() : (this.set("stopped", "session ended"), this.d.onSignedOut())),
          () => this.schedule(),
        );
        return;
      case "now":
        this.schedule(0);
        return;
      default:
        this.schedule();
    }
  }

  private schedule(ms?: number): void {
    const delay = ms ?? backoffDelay(this.attempt, this.d.random);
    this.attempt++;
    this.set("waiting", `reconnecting in ${Math.ceil(delay / 1000)} s`);
    this.timer = this.d.setTimer(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}

/** The /api/ws URL on the page's own origin (ws: or wss:). */
export function liveUrl(loc: Location = window.location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/api/ws`;
}

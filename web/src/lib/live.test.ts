import { describe, expect, it } from "vitest";
import { backoffDelay, closeAction, LiveClient, type LiveFrame, type SocketLike } from "./live";

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closed: number | null = null;
  send(d: string) {
    this.sent.push(d);
  }
  close(code?: number) {
    this.closed = code ?? 1000;
  }
}

function harness(opts: { token?: () => string | null; refresh?: (spent: string) => Promise<string | null> } = {}) {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const frames: LiveFrame[] = [];
  const log: string[] = [];
  const c = new LiveClient({
    url: "ws://x/api/ws",
    open: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    token: opts.token ?? (() => "tok"),
    refresh: opts.refresh ?? (async () => "tok2"),
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => {},
    random: () => 1,
    onFrame: (f) => frames.push(f),
    onReady: () => log.push("ready"),
    onSignedOut: () => log.push("signed_out"),
  });
  return { c, sockets, timers, frames, log };
}

describe("close codes", () => {
  it("follow the gateway's table", () => {
    expect(closeAction(1008, "token expired")).toBe("refresh");
    expect(closeAction(1008, "logged out")).toBe("signed_out");
    expect(closeAction(1008, "token revoked")).toBe("signed_out");
    expect(closeAction(1008, "origin not allowed")).toBe("stop");
    expect(closeAction(1008, "slow consumer")).toBe("now");
    expect(closeAction(1011, "auth unavailable")).toBe("backoff");
    expect(closeAction(1001, "going away")).toBe("backoff");
    expect(closeAction(1006, "")).toBe("backoff");
    expect(closeAction(1009, "message too big")).toBe("stop");
  });
  it("back off with jitter from 1 s to 30 s", () => {
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(3, () => 1)).toBe(8000);
    expect(backoffDelay(20, () => 1)).toBe(30000);
    expect(backoffDelay(20, () => 0)).toBe(15000);
  });
});

describe("LiveClient", () => {
  it("authenticates first, catches up after ready, passes frames on", () => {
    const h = harness();
    h.c.start();
    const s = h.sockets[0];
    s.onopen?.({});
    expect(JSON.parse(s.sent[0])).toEqual({ type: "auth", token: "tok" });
    s.onmessage?.({ data: '{"type":"ready"}' });
    expect(h.c.current).toBe("ready");
    expect(h.log).toEqual(["ready"]);
    s.onmessage?.({ data: '{"type":"balance","balance":125.50}' });
    s.onmessage?.({ data: "not json" });
    expect(h.frames).toEqual([{ type: "balance", balance: "125.50" }]);
  });

  it("reconnects after a network loss with growing delays, and resets after ready", () => {
    const h = harness();
    h.c.start();
    h.sockets[0].onclose?.({ code: 1006, reason: "" });
    expect(h.c.current).toBe("waiting");
    expect(h.timers.map((t) => t.ms)).toEqual([1000]);
    h.timers[0].fn();
    h.sockets[1].onclose?.({ code: 1006, reason: "" });
    expect(h.timers.map((t) => t.ms)).toEqual([1000, 2000]);
    h.timers[1].fn();
    h.sockets[2].onopen?.({});
    h.sockets[2].onmessage?.({ data: '{"type":"ready"}' });
    h.sockets[2].onclose?.({ code: 1001, reason: "going away" });
    expect(h.timers[2].ms).toBe(1000);
    expect(h.log).toEqual(["ready"]);
  });

  it("refreshes and reconnects at once on token expired", async () => {
    const spent: string[] = [];
    const h = harness({ refresh: async (t) => (spent.push(t), "tok2") });
    h.c.start();
    h.sockets[0].onopen?.({});
    h.sockets[0].onclose?.({ code: 1008, reason: "token expired" });
    await Promise.resolve();
    await Promise.resolve();
    expect(h.sockets).toHaveLength(2);
    expect(h.timers).toHaveLength(0);
    expect(spent).toEqual(["tok"]); // the token the socket was refused with
  });

  it("signs out on logged out and stops for good", () => {
    const h = harness();
    h.c.start();
    h.sockets[0].onclose?.({ code: 1008, reason: "logged out" });
    expect(h.log).toEqual(["signed_out"]);
    expect(h.c.current).toBe("stopped");
    expect(h.timers).toHaveLength(0);
  });

  it("does not connect without a token, and stop() closes with 1000", () => {
    const h0 = harness({ token: () => null });
    h0.c.start();
    expect(h0.sockets).toHaveLength(0);
    const h = harness();
    h.c.start();
    h.c.stop();
    expect(h.sockets[0].closed).toBe(1000);
    expect(h.c.current).toBe("stopped");
  });
});

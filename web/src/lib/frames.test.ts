import { describe, expect, it } from "vitest";
import { CATCH_UP, frameActions, riskToast } from "./frames";
import { keys } from "./queries";

const note = (type: string) => ({
  type: "notification",
  notification: { id: "n1", account_id: null, title: `${type} title`, message: `${type} message`, type, is_read: false, created_at: "2026-12-08T10:00:00Z" },
});

describe("notification frames", () => {
  it("toast info and alert notifications and make the list stale", () => {
    expect(frameActions(note("info"))).toEqual({
      invalidate: [keys.notifications],
      toast: { text: "info message", kind: "info", title: "info title" },
      balance: null,
    });
    expect(frameActions(note("alert")).toast?.kind).toBe("alert");
  });
  it("do not toast a risk notification: the risk frame toasts it, once", () => {
    const a = frameActions(note("risk"));
    expect(a.toast).toBeNull();
    expect(a.invalidate).toEqual([keys.notifications]); // the badge and list still update
  });
  it("without a notification body only make the list stale", () => {
    expect(frameActions({ type: "notification" })).toEqual({ invalidate: [keys.notifications], toast: null, balance: null });
  });
});

describe("balance frames", () => {
  it("set the balance exactly and re-read accounts and transactions", () => {
    const a = frameActions({ type: "balance", account_id: "acc", balance: "90071992547409.91" });
    expect(a.balance).toEqual({ accountId: "acc", balance: "90071992547409.91" });
    expect(a.invalidate).toEqual([keys.txns, keys.accounts]);
    expect(a.toast).toBeNull();
  });
});

describe("risk frames", () => {
  const frame = { type: "risk", account_id: "acc", score: 55, alert_level: "medium", flags: ["Withdrawal of $600.00 is more than half of the balance before it ($1,000.00)", "Balance is below $1,000.00"], transfer_id: "t", alert: true };
  it("re-read every risk query and toast score, level and the first flag when alert is true", () => {
    expect(frameActions(frame)).toEqual({
      invalidate: [keys.risk],
      toast: { kind: "risk", title: "Risk score 55 · medium", text: "Withdrawal of $600.00 is more than half of the balance before it ($1,000.00)" },
      balance: null,
    });
  });
  it("only re-read when alert is false or missing", () => {
    expect(frameActions({ ...frame, alert: false })).toEqual({ invalidate: [keys.risk], toast: null, balance: null });
    const { alert: _alert, ...noAlert } = frame;
    expect(frameActions(noAlert).toast).toBeNull();
  });
  it("say something plain when the frame has no flags", () => {
    expect(riskToast({ type: "risk", score: 35, alert_level: "medium", flags: [] })).toEqual({
      kind: "risk",
      title: "Risk score 35 · medium",
      text: "Your account's risk level changed. Open the health check to see why.",
    });
    expect(riskToast({ type: "risk" }).title).toBe("Risk alert");
  });
  it("the risk queries are part of the catch-up after a reconnect", () => {
    expect(CATCH_UP).toContainEqual(keys.risk);
  });
});

describe("other frames", () => {
  it("do nothing", () => {
    expect(frameActions({ type: "pong" })).toEqual({ invalidate: [], toast: null, balance: null });
  });
});

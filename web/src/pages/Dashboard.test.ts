import { describe, expect, it } from "vitest";
import { balancePoints } from "./Dashboard";
import type { Txn } from "../lib/types";

const t = (p: Partial<Txn>): Txn => ({
  id: "x", account_id: "a", type: "deposit", amount: "10.00", currency: "USD", to_account: null, to_user_id: null,
  to_account_id: null, from_user_id: null, note: null, direction: "in", balance_after: "10.00",
  created_at: "2026-12-07T10:00:00Z", ...p,
});

describe("balancePoints", () => {
  it("starts from the balance before the oldest posting, oldest first, exactly", () => {
    const pts = balancePoints([
      t({ id: "2", type: "transfer", direction: "out", amount: "0.10", balance_after: "90071992547409.81", created_at: "2026-12-07T11:00:00Z" }),
      t({ id: "1", amount: "90071992547409.91", balance_after: "90071992547409.91" }),
    ]);
    expect(pts.map((p) => p.balance)).toEqual(["0.00", "90071992547409.91", "90071992547409.81"]);
    expect(pts[0].at).toBe("2026-12-07T09:59:59.000Z");
  });
  it("is empty without postings", () => {
    expect(balancePoints([])).toEqual([]);
  });
});

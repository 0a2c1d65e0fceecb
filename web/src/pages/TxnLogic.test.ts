import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import type { Txn } from "../lib/types";
import {
  counterparties,
  counterparty,
  errorField,
  flattenPages,
  IdempotencyKeys,
  matchesFilter,
  nextBefore,
  outcomeUnknown,
  parseRecipient,
  TXN_PAGE,
  transferSources,
  txnBody,
  txnDetail,
  txnLabel,
  type Names,
} from "./TxnLogic";

const ME = "11111111-1111-4111-8111-111111111111";
const FRIEND = "22222222-2222-4222-8222-222222222222";
const MY_ACCT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const MY_SAVINGS = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

function txn(p: Partial<Txn>): Txn {
  return {
    id: "t1", account_id: MY_ACCT, type: "deposit", amount: "10.00", currency: "USD", to_account: null,
    to_user_id: null, to_account_id: null, from_user_id: null, note: null, direction: "in",
    balance_after: "10.00", created_at: "2025-01-01T00:00:00.000Z", ...p,
  };
}

const names: Names = {
  me: ME,
  accounts: new Map([[MY_ACCT, "Main"], [MY_SAVINGS, "Savings"]]),
  people: new Map([[FRIEND, "Ada L"]]),
};

describe("parseRecipient", () => {
  it("takes a UUID as an id, lowercased", () => {
    expect(parseRecipient(` ${FRIEND.toUpperCase()} `)).toEqual({ kind: "id", id: FRIEND });
  });
  it("takes an email as an email", () => {
    expect(parseRecipient("ada@example.com")).toEqual({ kind: "email", email: "ada@example.com" });
  });
  it("waits while an email is being typed", () => {
    expect(parseRecipient("ada@exa").kind).toBe("partial");
    expect(parseRecipient("ada@example.c").kind).toBe("partial");
  });
  it("refuses anything else", () => {
    expect(parseRecipient("").kind).toBe("empty");
    expect(parseRecipient("12345").kind).toBe("invalid");
    expect(parseRecipient("2222-2222").kind).toBe("invalid");
  });
});

describe("txnLabel", () => {
  it("names deposits and withdrawals", () => {
    expect(txnLabel(txn({}), names)).toBe("Deposit");
    expect(txnLabel(txn({ type: "withdrawal", direction: "out" }), names)).toBe("Withdrawal");
  });
  it("says who sent and who received a transfer", () => {
    expect(txnLabel(txn({ type: "transfer", direction: "out", to_account: FRIEND, to_user_id: FRIEND }), names)).toBe("Sent · To Ada L");
    const stranger = "33333333-3333-4333-8333-333333333333";
    expect(txnLabel(txn({ type: "transfer", direction: "in", from_user_id: stranger, to_user_id: ME }), names)).toBe("Received · From 33333333…");
  });
  it("names the recipient by user id when an account of theirs was addressed", () => {
    const acct = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
    const t = txn({ type: "transfer", direction: "out", to_account: acct, to_account_id: acct, to_user_id: FRIEND.toUpperCase() });
    expect(txnLabel(t, names)).toBe("Sent · To Ada L");
    expect(txnLabel(t, { ...names, people: new Map() })).toBe("Sent · To cccccccc…"); // not known (yet): what was addressed
  });
  it("names one's own accounts", () => {
    const t = txn({ type: "transfer", direction: "out", to_account: MY_SAVINGS, to_account_id: MY_SAVINGS, from_user_id: ME, to_user_id: ME });
    expect(txnLabel(t, names)).toBe("Sent · To Savings");
    // one's own name in the people (looked oneself up by email) does not replace the account's
    expect(txnLabel(t, { ...names, people: new Map([[ME, "Me Myself"]]) })).toBe("Sent · To Savings");
    expect(txnLabel({ ...t, direction: "in", account_id: MY_SAVINGS }, names)).toBe("Received · From you");
    const withSources = { ...names, sources: transferSources([t]) };
    expect(txnLabel({ ...t, direction: "in", account_id: MY_SAVINGS }, withSources)).toBe("Received · From Main");
  });
});

describe("counterparty", () => {
  const BOB = "44444444-4444-4444-8444-444444444444";
  const BOBS_ACCT = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
  it("is the recipient of a sent transfer and the sender of a received one, lowercase", () => {
    expect(counterparty(txn({ type: "transfer", direction: "out", to_account: BOB.toUpperCase(), to_user_id: BOB.toUpperCase(), from_user_id: ME }), names)).toBe(BOB);
    expect(counterparty(txn({ type: "transfer", direction: "in", from_user_id: BOB, to_user_id: ME }), names)).toBe(BOB);
    // addressed to one of Bob's accounts: the person is still to_user_id
    expect(counterparty(txn({ type: "transfer", direction: "out", to_account: BOBS_ACCT, to_account_id: BOBS_ACCT, to_user_id: BOB }), names)).toBe(BOB);
  });
  it("is nobody for deposits, withdrawals, one's own accounts and missing ids", () => {
    expect(counterparty(txn({}), names)).toBeNull();
    expect(counterparty(txn({ type: "withdrawal", direction: "out" }), names)).toBeNull();
    const own = txn({ type: "transfer", direction: "out", to_account: MY_SAVINGS, to_account_id: MY_SAVINGS, from_user_id: ME, to_user_id: ME });
    expect(counterparty(own, names)).toBeNull();
    expect(counterparty({ ...own, direction: "in", account_id: MY_SAVINGS }, names)).toBeNull();
    // accounts not loaded yet: still not a lookup of oneself
    expect(counterparty(own, { me: ME.toUpperCase(), accounts: new Map() })).toBeNull();
    expect(counterparty(txn({ type: "transfer", direction: "in", from_user_id: null }), names)).toBeNull();
  });
  it("lists each person once, however many rows name them", () => {
    const rows = [
      ...Array.from({ length: 18 }, (_, i) => txn({ id: `s${i}`, type: "transfer", direction: "out", to_account: BOB, to_user_id: i % 2 ? BOB : BOB.toUpperCase() })),
      txn({ id: "r1", type: "transfer", direction: "in", from_user_id: FRIEND, to_user_id: ME }),
      txn({ id: "d1" }),
    ];
    expect(counterparties(rows, names)).toEqual([BOB, FRIEND]);
    expect(counterparties([], names)).toEqual([]);
  });
});

describe("txnDetail", () => {
  it("shows the note, else the type when the label does not say it", () => {
    expect(txnDetail(txn({ note: "Rent" }), "Deposit")).toBe("Rent");
    expect(txnDetail(txn({}), "Deposit")).toBe("");
    expect(txnDetail(txn({ type: "transfer" }), "Sent · To Ada L")).toBe("Transfer");
  });
});

describe("paging and filters", () => {
  it("lists each line once, an own transfer's two lines both", () => {
    const out = txn({ id: "x", type: "transfer", direction: "out" });
    const inn = txn({ id: "x", type: "transfer", direction: "in", account_id: MY_SAVINGS });
    expect(flattenPages([[out, inn], [inn, txn({ id: "y" })]]).map((t) => `${t.id}${t.direction}`)).toEqual(["xout", "xin", "yin"]);
  });
  it("continues before the last id of a full page only", () => {
    const full = Array.from({ length: TXN_PAGE }, (_, i) => txn({ id: `t${i}` }));
    expect(nextBefore(full)).toBe(`t${TXN_PAGE - 1}`);
    expect(nextBefore(full.slice(1))).toBeUndefined();
  });
  it("filters by type and category", () => {
    const t = txn({ type: "withdrawal", category: "Food" });
    expect(matchesFilter(t, "all", "")).toBe(true);
    expect(matchesFilter(t, "withdrawal", "Food")).toBe(true);
    expect(matchesFilter(t, "deposit", "")).toBe(false);
    expect(matchesFilter(t, "all", "Rent")).toBe(false);
  });
});

describe("txnBody", () => {
  it("drops empty parts and a non-transfer's recipient, trims the note", () => {
    expect(txnBody({ type: "deposit", amount: "5", account_id: MY_ACCT, to_account: FRIEND, note: "  " })).toEqual({ type: "deposit", amount: "5", account_id: MY_ACCT });
    expect(JSON.stringify(txnBody({ note: " rent ", to_account: FRIEND, amount: "5", type: "transfer" }))).toBe(
      `{"type":"transfer","amount":"5","to_account":"${FRIEND}","note":"rent"}`,
    );
  });
});

describe("IdempotencyKeys", () => {
  let n = 0;
  const make = () => `k${++n}`;
  const body = { type: "deposit" as const, amount: "10" };

  it("reuses the key for the same body until the server has decided", () => {
    const k = new IdempotencyKeys(make);
    const a = k.keyFor(body);
    expect(k.keyFor({ ...body })).toBe(a); // a double click
    k.settle(new ApiError(0, "network_error", "offline"));
    expect(k.keyFor(body)).toBe(a); // a retry after a network error
    k.settle(new ApiError(503, "worker_unavailable", "down"));
    expect(k.keyFor(body)).toBe(a);
    k.settle(new ApiError(409, "idempotency_key_in_flight", "wait"));
    expect(k.keyFor(body)).toBe(a);
  });
  it("makes a new key when the body changes", () => {
    const k = new IdempotencyKeys(make);
    const a = k.keyFor(body);
    expect(k.keyFor({ ...body, amount: "11" })).not.toBe(a);
  });
  it("makes a new key after a success or a refusal", () => {
    const k = new IdempotencyKeys(make);
    const a = k.keyFor(body);
    k.settle(null);
    const b = k.keyFor(body);
    expect(b).not.toBe(a);
    k.settle(new ApiError(422, "insufficient_funds", "too low"));
    expect(k.keyFor(body)).not.toBe(b);
  });
  it("treats a thrown non-API error as an unknown outcome", () => {
    expect(outcomeUnknown(new Error("boom"))).toBe(true);
    expect(outcomeUnknown(new ApiError(422, "invalid_amount", "x"))).toBe(false);
  });
});

describe("errorField", () => {
  it("puts each API error next to its field", () => {
    expect(errorField(new ApiError(422, "insufficient_funds", ""))).toBe("amount");
    expect(errorField(new ApiError(404, "recipient_not_found", ""))).toBe("to");
    expect(errorField(new ApiError(422, "invalid_note", ""))).toBe("note");
    expect(errorField(new ApiError(503, "worker_unavailable", ""))).toBeNull();
  });
});

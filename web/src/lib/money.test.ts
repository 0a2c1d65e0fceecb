import { describe, expect, it } from "vitest";
import { checkAmount, chartValue, formatDecimal, formatMoney, formatSigned, fromMinor, toMinor } from "./money";
import { parseJson } from "./json";

describe("formatMoney", () => {
  it("matches the server's display (proto_money_display)", () => {
    expect(formatMoney("1234.50", "USD")).toBe("$1,234.50");
    expect(formatMoney("1234.5", "EUR")).toBe("€1,234.50");
    expect(formatMoney("1234.50", "GBP")).toBe("£1,234.50");
    expect(formatMoney("1234", "JPY")).toBe("¥1,234");
    expect(formatMoney("123456.78", "INR")).toBe("₹1,23,456.78");
    expect(formatMoney("1234567890.12", "INR")).toBe("₹1,23,45,67,890.12");
    expect(formatMoney("1234.50", "CHF")).toBe("CHF 1,234.50");
    expect(formatMoney("1.234", "KWD")).toBe("KWD 1.234");
    expect(formatMoney("0", "USD")).toBe("$0.00");
    expect(formatMoney("-3", "EUR")).toBe("-€3.00");
    expect(formatMoney("-0.00", "USD")).toBe("$0.00");
    expect(formatMoney(null, "USD")).toBe("—");
  });
  it("never rounds: digits beyond the currency's are kept as written", () => {
    expect(formatDecimal("92233720368547758.07", "USD")).toBe("92,233,720,368,547,758.07");
    expect(formatMoney("92233720368547758.07", "USD")).toBe("$92,233,720,368,547,758.07");
  });
  it("signs by direction with a real minus", () => {
    expect(formatSigned("12.5", "USD", "in")).toBe("+$12.50");
    expect(formatSigned("12.50", "USD", "out")).toBe("−$12.50");
  });
});

describe("minor units", () => {
  it("are exact both ways", () => {
    expect(toMinor("125.50", "USD")).toBe(12550n);
    expect(toMinor("92233720368547758.07", "USD")).toBe(9223372036854775807n);
    expect(toMinor("1.005", "USD")).toBeNull();
    expect(toMinor("1.000", "USD")).toBe(100n);
    expect(toMinor("5", "JPY")).toBe(5n);
    expect(fromMinor(12550n, "USD")).toBe("125.50");
    expect(fromMinor(5n, "USD")).toBe("0.05");
    expect(fromMinor(-5n, "JPY")).toBe("-5");
    expect(fromMinor(1234n, "KWD")).toBe("1.234");
    expect(chartValue("125.50", "USD")).toBe(125.5);
  });
});

describe("checkAmount", () => {
  it("accepts what the ledger accepts", () => {
    expect(checkAmount("125.50", "USD")).toEqual({ ok: true, value: "125.50" });
    expect(checkAmount(" 1,250.5 ", "USD")).toEqual({ ok: true, value: "1250.5" });
    expect(checkAmount("10.", "USD")).toEqual({ ok: true, value: "10" });
    expect(checkAmount("0", "USD", { allowZero: true })).toEqual({ ok: true, value: "0" });
  });
  it("refuses with a sentence", () => {
    expect(checkAmount("", "USD")).toMatchObject({ ok: false, error: "Enter an amount." });
    expect(checkAmount("0", "USD")).toMatchObject({ ok: false, error: "The amount must be greater than zero." });
    expect(checkAmount("-5", "USD").ok).toBe(false);
    expect(checkAmount("1e3", "USD").ok).toBe(false);
    expect(checkAmount("12.345", "USD")).toMatchObject({ ok: false, error: "USD allows at most 2 decimals." });
    expect(checkAmount("1.5", "JPY")).toMatchObject({ ok: false, error: "JPY has no decimals." });
    expect(checkAmount("1234567890123456", "USD")).toMatchObject({ ok: false, error: "That amount is too large." });
  });
});

describe("parseJson", () => {
  it("keeps money numbers as the server printed them", () => {
    const v = parseJson<{ amount: string; balance_after: string; id: string; risk_score: number; count: { unread: number } }>(
      '{"id":"x","amount":92233720368547758.07,"balance_after":125.50,"risk_score":40,"count":{"unread":3}}',
    );
    expect(v.amount).toBe("92233720368547758.07");
    expect(v.balance_after).toBe("125.50");
    expect(v.risk_score).toBe(40);
    expect(v.count.unread).toBe(3);
  });
});

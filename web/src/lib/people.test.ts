import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import { peopleFound, personKey, rememberPerson } from "./people";

const BOB = "44444444-4444-4444-8444-444444444444";
const ADA = "22222222-2222-4222-8222-222222222222";

describe("peopleFound", () => {
  it("maps the ids that have a name, leaving out those still loading or failed", () => {
    const m = peopleFound([BOB, ADA, "33333333-3333-4333-8333-333333333333"], ["Bob Babbage", undefined]);
    expect([...m]).toEqual([[BOB, "Bob Babbage"]]);
    expect(peopleFound([], []).size).toBe(0);
  });
});

describe("personKey and rememberPerson", () => {
  it("keys a person by the lowercase id, so a name found by email serves the list", () => {
    expect(personKey(BOB.toUpperCase())).toEqual(["user-name", BOB]);
    const qc = new QueryClient();
    rememberPerson(qc, BOB.toUpperCase(), "Bob Babbage");
    expect(qc.getQueryData(personKey(BOB))).toBe("Bob Babbage");
    qc.clear();
  });
});

import { describe, expect, it } from "vitest";
import { ApiError, createApi } from "./api";
import type { Session } from "./session";

const user = { id: "u1", email: "a@b.c", full_name: "A", is_profile_complete: true };

function harness(initial: Session | null, answers: Array<(req: { url: string; init: RequestInit }) => Response>) {
  let session = initial;
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const api = createApi({
    fetch: async (url, init) => {
      const req = { url: String(url), init: init ?? {} };
      calls.push(req);
      const next = answers.shift();
      if (!next) throw new Error(`unexpected request ${req.url}`);
      return next(req);
    },
    load: () => session,
    save: (s) => {
      session = s;
    },
    withLock: (_n, fn) => fn(),
    now: () => 1000,
  });
  return { api, calls, session: () => session };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const s0: Session = { ft_token: "t0", refresh_token: "r0", expires_at: 0, user };

describe("api client", () => {
  it("sends the bearer token and parses money exactly", async () => {
    const h = harness(s0, [() => new Response('{"balance":12345678901234567.89}', { status: 200 })]);
    const v = await h.api.get<{ balance: string }>("/api/accounts");
    expect(v.balance).toBe("12345678901234567.89");
    expect((h.calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer t0");
  });

  it("refreshes once on token_expired and retries with the new token", async () => {
    const h = harness(s0, [
      () => json(401, { code: "token_expired", detail: "expired" }),
      (r) => {
        expect(r.url).toBe("/api/auth/refresh");
        expect(JSON.parse(String(r.init.body))).toEqual({ refresh_token: "r0" });
        return json(200, { ft_token: "t1", refresh_token: "r1", expires_in: 900, user });
      },
      (r) => {
        expect((r.init.headers as Record<string, string>).Authorization).toBe("Bearer t1");
        return json(200, { ok: true });
      },
    ]);
    await expect(h.api.get("/api/auth/me")).resolves.toEqual({ ok: true });
    expect(h.session()).toMatchObject({ ft_token: "t1", refresh_token: "r1", expires_at: 1000 + 900_000 });
  });

  it("shares one refresh between concurrent requests", async () => {
    const h = harness(s0, [
      () => json(401, { code: "token_expired", detail: "expired" }),
      () => json(401, { code: "token_expired", detail: "expired" }),
      () => json(200, { ft_token: "t1", refresh_token: "r1", expires_in: 900, user }),
      () => json(200, { n: 1 }),
      () => json(200, { n: 2 }),
    ]);
    const [a, b] = await Promise.all([h.api.get("/a"), h.api.get("/b")]);
    expect([a, b]).toEqual([{ n: 1 }, { n: 2 }]);
    expect(h.calls.filter((c) => c.url === "/api/auth/refresh")).toHaveLength(1);
  });

  it("ends the session when the refresh token is refused, without a second retry", async () => {
    const h = harness(s0, [
      () => json(401, { code: "token_expired", detail: "expired" }),
      () => json(401, { code: "refresh_token_reused", detail: "reused" }),
    ]);
    await expect(h.api.get("/x")).rejects.toMatchObject({ status: 401, code: "session_ended" });
    expect(h.session()).toBeNull();
    expect(h.calls).toHaveLength(2);
  });

  it("forgets a revoked session", async () => {
    const h = harness(s0, [() => json(401, { code: "token_revoked", detail: "revoked" })]);
    await expect(h.api.get("/x")).rejects.toBeInstanceOf(ApiError);
    expect(h.session()).toBeNull();
  });

  it("turns error bodies into ApiError with the field they concern", async () => {
    const h = harness(s0, [() => json(422, { code: "invalid_phone_number", detail: "phone_number must be 7 to 15 digits." })]);
    const e = (await h.api.put("/api/auth/profile", {}).catch((x) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.detail, e.field]).toEqual([422, "invalid_phone_number", "phone_number must be 7 to 15 digits.", "phone_number"]);
  });

  it("sends the Idempotency-Key and no token on public routes", async () => {
    const h = harness(null, [() => json(200, {}), () => json(201, {})]);
    await h.api.post("/api/auth/login", { email: "e" }, { public: true });
    expect((h.calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined();
    const h2 = harness(s0, [() => json(201, {})]);
    await h2.api.post("/api/transactions/", { type: "deposit" }, { idempotencyKey: "k-1" });
    expect((h2.calls[0].init.headers as Record<string, string>)["Idempotency-Key"]).toBe("k-1");
  });

  it("reports an unreachable server as network_error", async () => {
    const api = createApi({ fetch: async () => { throw new TypeError("Failed to fetch"); }, load: () => s0, save: () => {}, withLock: (_n, f) => f(), now: () => 0 });
    await expect(api.get("/x")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("refreshFrom", () => {
  it("does not refresh again when the refused token was already replaced", async () => {
    const h = harness({ ...s0, ft_token: "t1", refresh_token: "r1" }, []);
    await expect(h.api.refreshFrom("t0")).resolves.toMatchObject({ ft_token: "t1" });
    expect(h.calls).toHaveLength(0);
  });
  it("refreshes when the refused token is the current one", async () => {
    const h = harness(s0, [() => json(200, { ft_token: "t1", refresh_token: "r1", expires_in: 900, user })]);
    await expect(h.api.refreshFrom("t0")).resolves.toMatchObject({ ft_token: "t1" });
    expect(h.calls.map((c) => c.url)).toEqual(["/api/auth/refresh"]);
  });
});

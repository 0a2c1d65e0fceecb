// A real browser's WebSocket on /api/ws, left idle (issue 17 point 1).
//
// Debian's Chromium (never a downloaded browser), driven by playwright-core, opens a page the
// gateway serves (so the page's origin is the gateway's, as for web/), opens /api/ws from it,
// sends the auth message, waits for {"type":"ready"}, then sends nothing for FT_IDLE_S
// seconds: the gateway pings the idle socket and only the browser's own pongs keep it open.
// After the idle time the page deposits money over HTTP and waits for the notification frame
// on the same socket, then closes it with 1000.
//
// It reports what the page saw as one JSON object on stdout and, when FT_RESULT names a file,
// in that file; it judges nothing (tests/e2e/test_e2e_browser_ws.c asserts). Exit 0 when the
// run completed, 2 when the harness itself failed (no browser, no page, a timeout).
//
// Environment: FT_GATEWAY_URL (http://127.0.0.1:<port>), FT_TOKEN (an ft_token),
// FT_IDLE_S (default 125), FT_FRAME_S (how long to wait for the notification, default 45),
// FT_CHROMIUM (default /usr/bin/chromium), FT_RESULT (optional file).
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const gateway = process.env.FT_GATEWAY_URL;
const token = process.env.FT_TOKEN;
const idleMs = Number(process.env.FT_IDLE_S || 125) * 1000;
const frameMs = Number(process.env.FT_FRAME_S || 45) * 1000;
const executablePath = process.env.FT_CHROMIUM || "/usr/bin/chromium";
if (!gateway || !token) {
  console.error("ws_idle.mjs: set FT_GATEWAY_URL and FT_TOKEN");
  process.exit(2);
}

const result = { node: process.version, chromium: null, origin: null, error: null };
function report(code) {
  const text = JSON.stringify(result);
  console.log(text);
  if (process.env.FT_RESULT) writeFileSync(process.env.FT_RESULT, text + "\n");
  process.exit(code);
}

// Everything is bounded: launch and page steps by Playwright's timeouts, the page's waits by
// their own, and the whole run by this.
const watchdog = setTimeout(() => {
  result.error = "watchdog: the run took too long";
  report(2);
}, idleMs + frameMs + 60000);

// The page's side, injected once: one socket, every event recorded with its time since open.
// wait(cond, ms) resolves true as soon as cond() holds after an event, or false after ms.
function install({ token: tok }) {
  const ft = { t0: performance.now(), frames: [], ready_ms: null, close: null, waiters: new Set() };
  window.ft = ft;
  ft.at = () => Math.round(performance.now() - ft.t0);
  ft.wake = () => [...ft.waiters].forEach((w) => w());
  ft.wait = (cond, ms) =>
    new Promise((resolve) => {
      if (cond()) return resolve(true);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        ft.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        ft.waiters.delete(check);
        resolve(false);
      }, ms);
      ft.waiters.add(check);
    });
  const ws = new WebSocket(`ws://${location.host}/api/ws`);
  ft.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: tok }));
  ws.onmessage = (e) => {
    let type = null;
    try {
      type = JSON.parse(e.data).type;
    } catch {}
    if (type === "ready" && ft.ready_ms === null) ft.ready_ms = ft.at();
    ft.frames.push({ at_ms: ft.at(), type, data: String(e.data).slice(0, 400) });
    ft.wake();
  };
  ws.onclose = (e) => {
    ft.close = { code: e.code, reason: e.reason, wasClean: e.wasClean, at_ms: ft.at() };
    ft.wake();
  };
}

let browser;
try {
  browser = await chromium.launch({ executablePath, timeout: 30000 });
  result.chromium = browser.version();
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  const resp = await page.goto(`${gateway}/healthz`);
  if (!resp || resp.status() !== 200) throw new Error(`GET /healthz answered ${resp?.status()}`);
  result.origin = await page.evaluate(() => location.origin);
  await page.evaluate(install, { token });

  result.ready = await page.evaluate(() => ft.wait(() => ft.ready_ms !== null || ft.close, 10000));
  result.ready = result.ready && (await page.evaluate(() => ft.ready_ms !== null));
  if (result.ready) {
    // The idle time itself: nothing is sent; it ends early only if the socket closes.
    const t0 = Date.now();
    await page.evaluate((ms) => ft.wait(() => ft.close !== null, ms), idleMs);
    result.idled_ms = Date.now() - t0;
    result.close_during_idle = await page.evaluate(() => ft.close);
    result.open_after_idle = await page.evaluate(() => ft.ws.readyState === WebSocket.OPEN);

    if (result.open_after_idle) {
      // Something a user would do next: move money, and see it arrive on the idle socket.
      const dep = await page.evaluate(
        async ({ tok, ms }) => {
          const sent = ft.at();
          const r = await fetch("/api/transactions/", {
            method: "POST",
            headers: {
              Authorization: `Bearer ${tok}`,
              "Content-Type": "application/json",
              "Idempotency-Key": crypto.randomUUID(),
            },
            body: JSON.stringify({ type: "deposit", amount: "12.50" }),
          });
          const seen = () =>
            ft.frames.some((f) => f.type === "notification" && f.data.includes("Deposit received"));
          const ok = await ft.wait(seen, ms);
          return { status: r.status, frame_ms: ok ? ft.at() - sent : null };
        },
        { tok: token, ms: frameMs },
      );
      result.deposit_status = dep.status;
      result.notification_ms = dep.frame_ms;
    }
    result.final_close = await page.evaluate(async () => {
      if (!ft.close) {
        ft.ws.close(1000, "done");
        await ft.wait(() => ft.close !== null, 5000);
      }
      return ft.close;
    });
  }
  result.ready_ms = await page.evaluate(() => ft.ready_ms);
  result.frames = await page.evaluate(() => ft.frames);
} catch (e) {
  result.error = String(e && e.stack ? e.stack : e);
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
}
report(result.error ? 2 : 0);

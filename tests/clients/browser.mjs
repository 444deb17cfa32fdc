// Drives Inzage's GraphiQL in headless Chromium as a person would: opens the page, pastes a
// token under Headers, runs a query, then a subscription, and reports what the result pane
// shows. Every request to a host other than the server is blocked and reported.
//
// Usage: node browser.mjs <server url> <token> <another token> <screenshot dir> <chromium>
// Prints one JSON object a line:
//   {"step":"editor", ...}        the editor rendered
//   {"step":"query", ...}         the query's answer, as the result pane shows it
//   {"step":"listening", ...}     the subscription was sent over the WebSocket
//   {"step":"notification", ...}  the result pane shows a notification
//   {"step":"headers", ...}       other headers: the next subscription's connection carries them
//   {"step":"done", ...}          timings, requests made, requests blocked, page errors
// and {"error": "..."} on failure (exit code 1).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [serverUrl, token, otherToken, screenshots, executablePath] = process.argv.slice(2);
const server = new URL(serverUrl);
const print = (value) => console.log(JSON.stringify(value));
const TIMEOUT = 30_000;
mkdirSync(screenshots, { recursive: true });

const blocked = [];
const requests = [];
const pageErrors = [];
const framesSent = [];

let page = null;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
  });
  page.on("request", (request) => requests.push(request.url()));
  page.on("response", (response) => {
    if (response.status() >= 400) pageErrors.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
  });

  // Only the server: anything else is refused before it leaves the browser.
  const local = (url) => ["data:", "blob:"].includes(url.protocol) || url.host === server.host;
  await page.route(
    (url) => !local(url),
    (route) => {
      blocked.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  await page.routeWebSocket(
    (url) => url.host !== server.host,
    (socket) => {
      blocked.push(socket.url());
      socket.close();
    },
  );
  // What GraphiQL sends over its sockets, each frame with the number of its socket.
  let sockets = 0;
  page.on("websocket", (socket) => {
    const number = ++sockets;
    socket.on("framesent", (frame) => {
      try {
        framesSent.push({ socket: number, ...JSON.parse(frame.payload) });
      } catch {
        framesSent.push({ socket: number, unparsed: String(frame.payload) });
      }
    });
  });
  // Waits until a frame satisfying `test` was sent; returns it.
  const sent = async (what, test) => {
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const frame = framesSent.find(test);
      if (frame) return frame;
      if (Date.now() > deadline) throw new Error(`no ${what} was sent: ${JSON.stringify(framesSent)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const headers = (token) => JSON.stringify({ Authorization: `Bearer ${token}` });
  // The connection_init of `socket`: its payload's keys, and the token it carries.
  const init = (socket) => {
    const frame = framesSent.find((frame) => frame.socket === socket && frame.type === "connection_init");
    const payload = frame?.payload ?? {};
    return { keys: Object.keys(payload), authorization: payload.Authorization };
  };

  // The CodeMirror 5 editor inside `selector`.
  const editor = (selector) => page.locator(`${selector} .CodeMirror`).first();
  const valueOf = (selector) =>
    page.evaluate((selector) => document.querySelector(`${selector} .CodeMirror`).CodeMirror.getValue(), selector);
  // Replaces an editor's text as a paste does (typing would trip GraphiQL's auto-closing).
  const paste = async (selector, text) => {
    await editor(selector).click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(text);
    const value = await valueOf(selector);
    if (value !== text) throw new Error(`${selector} holds ${JSON.stringify(value)}, not ${JSON.stringify(text)}`);
  };
  // Waits until the result pane's text holds one of `needles`; returns it.
  const result = async (needles) => {
    const handle = await page.waitForFunction(
      (needles) => {
        const pane = document.querySelector(".result-window .CodeMirror");
        const text = pane && pane.CodeMirror.getValue();
        return text && needles.some((needle) => text.includes(needle)) ? text : false;
      },
      needles,
      { timeout: TIMEOUT, polling: 20 },
    );
    return handle.jsonValue();
  };

  // 1. The page, until the editor is there.
  const opened = Date.now();
  await page.goto(new URL("/graphql", server).href, { waitUntil: "load" });
  await editor(".graphiql-query-editor").waitFor({ state: "visible" });
  await page.locator(".graphiql-execute-button").waitFor({ state: "visible" });
  const editorReady = Date.now() - opened;
  const navigation = await page.evaluate(() => {
    const [entry] = performance.getEntriesByType("navigation");
    return { domContentLoaded: Math.round(entry.domContentLoadedEventEnd), load: Math.round(entry.loadEventEnd) };
  });
  print({ step: "editor", ms: editorReady, navigation, title: await page.title() });

  // 2. The token under Headers, and a query.
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const headersEditor = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
  await paste(headersEditor, headers(token));
  await paste(".graphiql-query-editor", "{ viewer { roles } }");
  const queried = Date.now();
  await page.locator(".graphiql-execute-button").click();
  const answer = await result(['"roles"', '"errors"']);
  const queryRoundTrip = Date.now() - queried;
  await page.screenshot({ path: join(screenshots, "graphiql-query.png") });
  print({ step: "query", ms: queryRoundTrip, result: JSON.parse(answer) });

  // 3. A subscription: listening once its `subscribe` message is on the socket.
  await paste(".graphiql-query-editor", "subscription { notifications { id kind title } }");
  await page.locator(".graphiql-execute-button").click();
  const subscribed = await sent("subscribe message", (frame) => frame.type === "subscribe");
  const listening = Date.now();
  const first = init(subscribed.socket);
  print({
    step: "listening",
    // What GraphiQL's Headers became: the payload's keys, and whether it carries this token.
    connectionInit: { keys: first.keys, carriesToken: first.authorization === `Bearer ${token}` },
  });

  // 4. The Rust side sends a message now; the notification shows in the result pane.
  const shown = await result(['"notifications"', '"errors"']);
  const notificationWait = Date.now() - listening;
  await page.screenshot({ path: join(screenshots, "graphiql-subscription.png") });
  print({ step: "notification", result: JSON.parse(shown) });

  // 5. Stop the subscription (the execute button stops a running one): the socket says complete.
  await page.locator(".graphiql-execute-button").click();
  await sent("complete message", (frame) => frame.type === "complete" && frame.id === subscribed.id);

  // 6. Other headers, the same subscription: a connection that carries the new ones.
  await paste(headersEditor, headers(otherToken));
  await paste(".graphiql-query-editor", "subscription { notifications { id kind title } }");
  await page.locator(".graphiql-execute-button").click();
  const again = await sent("second subscribe message", (frame) => frame.type === "subscribe" && frame !== subscribed);
  const second = init(again.socket);
  await page.locator(".graphiql-execute-button").click();
  await sent("second complete message", (frame) => frame.type === "complete" && frame.id === again.id);

  // 7. A token the server refuses: the result pane says so, at once (no retries).
  await paste(headersEditor, headers("not-a-token"));
  const refusedAt = Date.now();
  await page.locator(".graphiql-execute-button").click();
  const refused = JSON.parse(await result(['"errors"']));
  const refusalMs = Date.now() - refusedAt;
  print({
    step: "headers",
    sockets,
    secondSocket: again.socket !== subscribed.socket,
    secondConnectionInit: { keys: second.keys, carriesOtherToken: second.authorization === `Bearer ${otherToken}` },
    refused,
    refusalMs,
  });

  print({
    step: "done",
    timings: { editorReadyMs: editorReady, queryRoundTripMs: queryRoundTrip, notificationWaitMs: notificationWait, navigation },
    requests: requests.length,
    foreignRequests: requests.filter((url) => !local(new URL(url))),
    blocked,
    pageErrors,
    framesSent: framesSent.map((frame) => frame.type ?? "?"),
  });
  await browser.close();
  process.exit(0);
} catch (error) {
  // What the page showed: a screenshot, and the result pane's text.
  const pane = await page
    ?.evaluate(() => document.querySelector(".result-window .CodeMirror")?.CodeMirror.getValue())
    .catch(() => undefined);
  await page?.screenshot({ path: join(screenshots, "graphiql-failure.png") }).catch(() => {});
  print({ error: String(error?.stack ?? error), resultPane: pane, requests, blocked, pageErrors });
  await browser.close().catch(() => {});
  process.exit(1);
}

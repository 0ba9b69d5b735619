// The official Vipps MobilePay Node SDK (@vippsmobilepay/sdk, pinned in
// package.json) walked against the simulator: every call the SDK offers for
// the Access Token, ePayment and Webhooks APIs, every user flow, and the
// signed webhooks, verified here with the algorithm Vipps documents.
//
// sdk_test.go runs it with SIM_URL set to a running simulator; it prints
// one JSON line per checked step and a summary line, and exits non-zero on
// the first difference.
//
//   SIM_URL=http://127.0.0.1:9190 node walk.mjs

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { Client } from "@vippsmobilepay/sdk";

const simURL = process.env.SIM_URL;
if (!simURL) {
  fail("SIM_URL is not set");
}
const msn = process.env.VIPPS_MSN || "123456";
const run = Date.now().toString(36);

function fail(msg) {
  console.error(`walk failed: ${msg}`);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) {
    fail(msg);
  }
}

function step(what, detail = {}) {
  console.log(JSON.stringify({ step: what, ...detail }));
}

// The SDK talks to Vipps' test environment (useTestMode) through the global
// fetch. The walk sends those requests to the simulator instead, unchanged
// but for the host, and notes each request's Idempotency-Key: the SDK makes
// a new one per call and does not return it.
const realFetch = globalThis.fetch;
const sent = [];
globalThis.fetch = async (input, init) => {
  const req = new Request(input, init);
  const url = new URL(req.url);
  check(url.origin === "https://apitest.vipps.no", `the SDK called ${url.origin}, not the test environment`);
  const target = new URL(url.pathname + url.search, simURL);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.text();
  sent.push({ method: req.method, path: url.pathname, key: req.headers.get("idempotency-key") });
  return realFetch(target, { method: req.method, headers: req.headers, body: body || undefined });
};
const lastKey = () => sent[sent.length - 1].key;

// Every call the SDK offers for the APIs the simulator serves; the walk
// fails if one of them is never made.
const client = Client({ merchantSerialNumber: msn, subscriptionKey: "sdk-walk-subscription-key", useTestMode: true, retryRequests: false });
const offered = new Set();
for (const [api, factory] of Object.entries({ auth: client.auth, payment: client.payment, webhook: client.webhook })) {
  for (const name of Object.keys(factory)) {
    offered.add(`${api}.${name}`);
  }
}
const called = new Set();

async function call(name, ...args) {
  const [api, fn] = name.split(".");
  called.add(name);
  const res = await client[api][fn](...args);
  return res;
}

async function ok(name, ...args) {
  const res = await call(name, ...args);
  check(res.ok, `${name}: ${JSON.stringify(res.error)}`);
  return res.data;
}

// refused expects an error answer with Vipps' ErrorCode.
async function refused(name, code, ...args) {
  const res = await call(name, ...args);
  check(!res.ok, `${name} should have been refused with ${code}: ${JSON.stringify(res.data)}`);
  const got = (res.error?.extraDetails || []).find((d) => d.name === "ErrorCode")?.reason;
  check(got === code, `${name}: error code ${got}, want ${code}: ${JSON.stringify(res.error)}`);
  step(`${name} refused`, { code });
}

// The webhook receiver: every delivery is checked as Vipps documents:
// x-ms-content-sha256 is the body's SHA-256, and Authorization is the
// HMAC-SHA256, keyed with the registration's secret, of
// "POST\n<path and query>\n<x-ms-date>;<host>;<content hash>".
let secret = "";
const deliveries = [];
const badDeliveries = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const problem = verify(req, body);
    if (problem) {
      badDeliveries.push(problem);
      res.writeHead(401).end();
      return;
    }
    deliveries.push(JSON.parse(body.toString("utf8")));
    res.writeHead(200).end();
  });
});

function verify(req, body) {
  if (req.method !== "POST") {
    return `a ${req.method} delivery`;
  }
  const hash = createHash("sha256").update(body).digest("base64");
  if (req.headers["x-ms-content-sha256"] !== hash) {
    return `x-ms-content-sha256 ${req.headers["x-ms-content-sha256"]}, body hashes to ${hash}`;
  }
  const date = req.headers["x-ms-date"];
  if (!date || Number.isNaN(Date.parse(date)) || !date.endsWith(" GMT")) {
    return `x-ms-date ${date} is not an RFC 1123 date`;
  }
  const toSign = `POST\n${req.url}\n${date};${req.headers.host};${hash}`;
  const sig = createHmac("sha256", secret).update(toSign, "utf8").digest("base64");
  const want = Buffer.from(`HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${sig}`);
  const got = Buffer.from(req.headers.authorization || "");
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    return `Authorization ${got} does not sign ${JSON.stringify(toSign)}`;
  }
  return "";
}

await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hookURL = `http://127.0.0.1:${receiver.address().port}/vipps/webhook?walk=${run}`;

async function fetchImage(url) {
  const res = await realFetch(url);
  return { status: res.status, type: res.headers.get("content-type"), bytes: Buffer.from(await res.arrayBuffer()) };
}

// What each payment's webhooks must say, in order, with the keys the SDK
// sent.
const expected = new Map();
function expect(ref, name, amount, key) {
  if (!expected.has(ref)) {
    expected.set(ref, []);
  }
  expected.get(ref).push({ name, amount, key });
}

function body(reference, userFlow, extra = {}) {
  const b = {
    amount: { currency: "NOK", value: 49900 },
    paymentMethod: { type: "WALLET" },
    userFlow,
    paymentDescription: "One pair of socks",
    ...extra,
  };
  if (reference) {
    b.reference = reference;
  }
  if (userFlow === "WEB_REDIRECT" || userFlow === "NATIVE_REDIRECT") {
    b.returnUrl = `https://shop.example/return?reference=${reference || "generated"}`;
  }
  return b;
}

async function create(reference, userFlow, extra) {
  const data = await ok("payment.create", token, body(reference, userFlow, extra));
  const key = lastKey();
  const ref = data.reference;
  check(typeof ref === "string" && ref.length >= 8, `create answered reference ${ref}`);
  expect(ref, "CREATED", 49900, key);
  step("payment.create", { userFlow, reference: ref, qrFormat: extra?.qrFormat?.format, redirectUrl: data.redirectUrl || "" });
  return { ref, createKey: key, redirectUrl: data.redirectUrl };
}

async function info(ref, state) {
  const p = await ok("payment.info", token, ref);
  check(p.reference === ref && p.state === state, `info ${ref}: ${p.state}, want ${state}`);
  for (const a of ["authorizedAmount", "cancelledAmount", "capturedAmount", "refundedAmount"]) {
    check(Number.isInteger(p.aggregate?.[a]?.value), `info ${ref}: aggregate.${a} is ${JSON.stringify(p.aggregate?.[a])}`);
  }
  check(typeof p.pspReference === "string" && p.pspReference !== "", `info ${ref}: no pspReference`);
  return p;
}

async function approve(pay, by) {
  await ok("payment.forceApprove", token, pay.ref, by);
  expect(pay.ref, "AUTHORIZED", 49900, pay.createKey);
  step("payment.forceApprove", { reference: pay.ref, by: Object.keys(by)[0] });
}

async function modify(fn, pay, value, event) {
  const args = fn === "cancel" ? [token, pay.ref] : [token, pay.ref, { modificationAmount: { currency: "NOK", value } }];
  const m = await ok(`payment.${fn}`, ...args);
  expect(pay.ref, event, value, lastKey());
  step(`payment.${fn}`, { reference: pay.ref, event, amount: value });
  return m;
}

// 1. Access token.
const tok = await ok("auth.getToken", "sdk-walk-client-id", "sdk-walk-client-secret");
check(tok.token_type === "Bearer" && typeof tok.access_token === "string" && tok.access_token.length > 20, `token ${JSON.stringify(tok)}`);
check(typeof tok.expires_in === "string" && Number(tok.expires_in) > 0, `expires_in ${tok.expires_in}: Vipps sends numbers as strings`);
const token = tok.access_token;
step("auth.getToken", { expires_in: tok.expires_in });

// 2. Webhooks: register for every ePayment event, list.
const events = ["created", "authorized", "aborted", "expired", "cancelled", "captured", "refunded", "terminated"].map((e) => `epayments.payment.${e}.v1`);
const reg = await ok("webhook.register", token, { url: hookURL, events });
check(typeof reg.id === "string" && typeof reg.secret === "string" && reg.secret !== "", `register answered ${JSON.stringify(reg)}`);
secret = reg.secret;
step("webhook.register", { id: reg.id });
const listed = await ok("webhook.list", token);
const mine = (listed.webhooks || []).find((w) => w.id === reg.id);
check(mine && mine.url === hookURL && mine.events.length === events.length && !("secret" in mine), `list: ${JSON.stringify(listed)}`);
step("webhook.list", { registrations: listed.webhooks.length });

// 3. Web redirect with profile sharing: approve, info with the profile,
// capture part, refund part, release the rest, the history.
const web = await create(`sdk-${run}-web`, "WEB_REDIRECT", {
  customer: { phoneNumber: "4791234567" },
  profile: { scope: "name email phoneNumber" },
  metadata: { orderId: "1001" },
});
check(/\/landing\?token=/.test(web.redirectUrl), `web redirectUrl ${web.redirectUrl}`);
const landing = await realFetch(web.redirectUrl);
check(landing.status === 200 && (await landing.text()).includes("499.00"), `the landing page answered ${landing.status}`);
let p = await info(web.ref, "CREATED");
check(p.metadata?.orderId === "1001", `metadata ${JSON.stringify(p.metadata)}`);
await approve(web, { customer: { phoneNumber: "4791234567" } });
p = await info(web.ref, "AUTHORIZED");
check(p.aggregate.authorizedAmount.value === 49900 && p.profile?.sub && p.userDetails?.mobileNumber === "4791234567", `after approval: ${JSON.stringify(p)}`);
step("payment.info", { reference: web.ref, state: p.state, sub: p.profile.sub });
let m = await modify("capture", web, 20000, "CAPTURED");
check(m.aggregate.capturedAmount.value === 20000 && m.state === "AUTHORIZED", `capture: ${JSON.stringify(m)}`);
m = await modify("refund", web, 5000, "REFUNDED");
check(m.aggregate.refundedAmount.value === 5000, `refund: ${JSON.stringify(m)}`);
m = await modify("cancel", web, 29900, "CANCELLED");
check(m.aggregate.cancelledAmount.value === 29900 && m.state === "AUTHORIZED", `cancel after approval: ${JSON.stringify(m)}`);
const history = await ok("payment.history", token, web.ref);
const want = expected.get(web.ref);
check(history.length === want.length, `history has ${history.length} events, want ${want.length}: ${JSON.stringify(history)}`);
history.forEach((ev, i) => {
  const w = want[i];
  check(ev.name === w.name && ev.amount.value === w.amount && ev.idempotencyKey === w.key && ev.success === true && ev.reference === web.ref,
    `history event ${i}: ${JSON.stringify(ev)}, want ${w.name} of ${w.amount} with the key ${w.key}`);
});
step("payment.history", { reference: web.ref, events: history.map((e) => e.name) });

// Refusals come back as Vipps' problem details.
await refused("payment.capture", "6070", token, web.ref, { modificationAmount: { currency: "NOK", value: 100 } });
await refused("payment.refund", "6150", token, web.ref, { modificationAmount: { currency: "NOK", value: 15001 } });
await refused("payment.info", "5090", token, `sdk-${run}-nowhere`);

// 4. Native redirect: approve, capture all, refund all.
const native = await create(`sdk-${run}-native`, "NATIVE_REDIRECT", { customer: { phoneNumber: "4791234567" } });
check(native.redirectUrl, "a NATIVE_REDIRECT payment has a redirectUrl");
await approve(native, { customer: { phoneNumber: "4791234567" } });
await modify("capture", native, 49900, "CAPTURED");
m = await modify("refund", native, 49900, "REFUNDED");
check(m.aggregate.refundedAmount.value === 49900, `refund all: ${JSON.stringify(m)}`);

// 5. QR in every format: the code as SVG by default, SVG with a size (taken
// and ignored, as Vipps' own published request sends it), PNG of a size,
// and the target address itself. The default one is approved with the
// token of its redirectUrl and released; the others are cancelled before
// approval.
const qr = await create(`sdk-${run}-qr`, "QR", { customerInteraction: "CUSTOMER_PRESENT" });
let img = await fetchImage(qr.redirectUrl);
check(img.status === 200 && img.type === "image/svg+xml" && img.bytes.toString().includes("<svg"), `the default QR: ${img.status} ${img.type}`);
const qrToken = new URL(qr.redirectUrl).searchParams.get("token");
check(qrToken, `no token in ${qr.redirectUrl}`);
await approve(qr, { token: qrToken });
await modify("cancel", qr, 49900, "CANCELLED");

const svg = await create(`sdk-${run}-qr-svg`, "QR", { qrFormat: { format: "IMAGE/SVG+XML", size: 1024 } });
img = await fetchImage(svg.redirectUrl);
check(img.status === 200 && img.type === "image/svg+xml", `the SVG QR with a size: ${img.status} ${img.type}`);
await info(svg.ref, "CREATED");
m = await modify("cancel", svg, 49900, "TERMINATED");
check(m.state === "TERMINATED", `cancel before approval: ${JSON.stringify(m)}`);
await refused("payment.capture", "6080", token, svg.ref, { modificationAmount: { currency: "NOK", value: 100 } });

const png = await create(`sdk-${run}-qr-png`, "QR", { qrFormat: { format: "IMAGE/PNG", size: 300 } });
img = await fetchImage(png.redirectUrl);
check(img.status === 200 && img.type === "image/png" && img.bytes.subarray(1, 4).toString() === "PNG", `the PNG QR: ${img.status} ${img.type}`);
check(img.bytes.readUInt32BE(16) === 300 && img.bytes.readUInt32BE(20) === 300, `the PNG is ${img.bytes.readUInt32BE(16)}×${img.bytes.readUInt32BE(20)}, want 300×300`);
await modify("cancel", png, 49900, "TERMINATED");

const target = await create(`sdk-${run}-qr-url`, "QR", { qrFormat: { format: "TEXT/TARGETURL" } });
check(/\/landing\?token=/.test(target.redirectUrl), `TEXT/TARGETURL answered ${target.redirectUrl}`);
await modify("cancel", target, 49900, "TERMINATED");

// 6. Push message to a test buyer: no redirectUrl; the buyer approves.
const push = await create(`sdk-${run}-push`, "PUSH_MESSAGE", { customer: { phoneNumber: "4791234567" } });
check(!push.redirectUrl, `a push has no redirectUrl, got ${push.redirectUrl}`);
await approve(push, { customer: { phoneNumber: "4791234567" } });
await modify("capture", push, 49900, "CAPTURED");

// 7. No reference: the SDK makes one (a UUID), and Vipps takes it.
const generated = await create(undefined, "WEB_REDIRECT");
check(/^[0-9a-f-]{36}$/.test(generated.ref), `the SDK's reference ${generated.ref}`);
await modify("cancel", generated, 49900, "TERMINATED");

// 8. Every webhook arrives, signed, in order per payment, with the amounts
// and the idempotency keys of the requests that caused them.
const total = [...expected.values()].reduce((n, evs) => n + evs.length, 0);
const deadline = Date.now() + 30000;
while (deliveries.length < total && badDeliveries.length === 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 50));
}
check(badDeliveries.length === 0, `deliveries that do not verify: ${badDeliveries.join("; ")}`);
check(deliveries.length === total, `${deliveries.length} webhooks arrived, want ${total}`);
for (const [ref, evs] of expected) {
  const got = deliveries.filter((d) => d.reference === ref);
  check(got.length === evs.length, `${ref}: webhooks ${got.map((d) => d.name)}, want ${evs.map((e) => e.name)}`);
  got.forEach((d, i) => {
    const w = evs[i];
    check(d.name === w.name && d.amount.value === w.amount && d.amount.currency === "NOK" && d.idempotencyKey === w.key &&
      d.msn === msn && d.success === true && typeof d.pspReference === "string" && !Number.isNaN(Date.parse(d.timestamp)),
      `${ref} webhook ${i}: ${JSON.stringify(d)}, want ${w.name} of ${w.amount} with the key ${w.key}`);
  });
}
step("webhooks", { delivered: deliveries.length, verified: deliveries.length });

// 9. Delete the registration.
await ok("webhook.delete", token, reg.id);
const after = await ok("webhook.list", token);
check(!(after.webhooks || []).some((w) => w.id === reg.id), `still registered after delete: ${JSON.stringify(after)}`);
step("webhook.delete", { id: reg.id });

receiver.close();
const missing = [...offered].filter((c) => !called.has(c));
check(missing.length === 0, `SDK calls never made: ${missing.join(", ")}`);
console.log(JSON.stringify({
  done: true,
  sdk: "@vippsmobilepay/sdk",
  offered: [...offered].sort(),
  called: [...called].sort(),
  references: [...expected.keys()],
  webhooks: deliveries.length,
  requests: sent.length,
}));

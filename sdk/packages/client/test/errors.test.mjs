// Every failure is a TwofoldError carrying the problem's stable `code`, its `status`, and
// where the server gives them `retryAfter`, `clockSkewSeconds` and `scope`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { TwofoldError, createTwofoldClient } from "../dist/index.js";
import { PASSWORD, startServer, totp } from "../../../scripts/server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

/** The TwofoldError `promise` fails with. */
async function failure(promise) {
  const e = await promise.then(
    (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
    (e) => e,
  );
  assert.ok(e instanceof TwofoldError, String(e));
  return e;
}

/** A client signed in with the password alone (no factor yet). */
async function passwordOnly() {
  const username = server.user();
  const client = createTwofoldClient({ baseUrl: server.url });
  await client.signIn({ org: "acme", username, password: PASSWORD });
  return { client, username };
}

/** A registered, not yet active app of a password-only client. */
async function registered() {
  const { client, username } = await passwordOnly();
  await client.registerTotpMfaDevice();
  const code = await server.mailedCode(username, "Your code to add an authenticator app");
  const reg = await client.registerTotpMfaDevice({ confirmationCode: code });
  return { client, username, reg };
}

test("sign-in failures", async () => {
  const username = server.user();
  const client = createTwofoldClient({ baseUrl: server.url });
  const e = await failure(client.signIn({ org: "acme", username, password: "wrong password" }));
  assert.deepEqual([e.code, e.status], ["invalid_credentials", 401]);
  const e2 = await failure(client.completeMfa({ method: "totp", code: "123456" }));
  assert.equal(e2.code, "flow_expired", "nothing waits: said before any request");
  assert.equal((await failure(client.getUser())).code, "unauthenticated");
  const down = createTwofoldClient({ baseUrl: "http://127.0.0.1:1" });
  const e3 = await failure(down.getUser());
  assert.deepEqual([e3.code, e3.status], ["network", 0]);
});

test("code failures: wrong, drifted, reused, malformed, locked", async () => {
  const { client, username, reg } = await registered();
  // A phone two minutes slow: refused, with how far its clock looks off.
  const drift = await failure(client.authenticateTotpMfaDevice({ code: totp(reg.secret, -4) }));
  assert.equal(drift.code, "invalid_code");
  assert.ok([-120, -150].includes(drift.clockSkewSeconds), String(drift.clockSkewSeconds));
  await client.authenticateTotpMfaDevice({ code: totp(reg.secret, -1) });
  const conflict = await failure(
    client.authenticateTotpMfaDevice({ deviceId: reg.id, code: totp(reg.secret, 0) }),
  );
  assert.equal(conflict.code, "conflict");

  await client.signOut();
  await client.signIn({ org: "acme", username, password: PASSWORD });
  const reused = await failure(client.authenticateTotpMfaDevice({ code: totp(reg.secret, -1) }));
  assert.equal(reused.code, "code_reused");
  const malformed = await failure(client.completeMfa({ method: "totp", code: "12" }));
  assert.deepEqual([malformed.code, malformed.status], ["invalid_request", 400]);
  const email = await failure(client.sendSignInEmailCode());
  assert.equal(email.code, "method_not_available");
  let locked;
  for (let i = 0; i < 6 && !locked; i++) {
    const e = await failure(client.completeMfa({ method: "totp", code: "000000" }));
    if (e.code === "too_many_attempts") locked = e;
    else assert.equal(e.code, "invalid_code");
  }
  assert.ok(locked, "never locked");
  assert.equal(locked.status, 429);
  assert.ok(locked.retryAfter > 0);
});

test("guarded changes: a fresh second factor, the right scope, a device that exists", async () => {
  const { client, reg } = await registered();
  await client.authenticateTotpMfaDevice({ code: totp(reg.secret, -1) });
  // This session never passed a second factor: a guarded change is refused until it does.
  const stale = await failure(client.createRecoveryCodes());
  assert.deepEqual([stale.code, stale.status], ["step_up_required", 403]);
  await client.authenticateTotpMfaDevice({ code: totp(reg.secret, 0) });
  assert.equal((await client.createRecoveryCodes()).length, 10);
  const missing = await failure(client.deleteMfaDevice({ deviceId: "no-such-device", code: "123456" }));
  assert.deepEqual([missing.code, missing.status], ["not_found", 404]);
});

test("a user without a factor cannot step up", async () => {
  const { client } = await passwordOnly();
  const e = await failure(
    client.authenticateMfa({ method: "totp", code: "123456", requestedScopes: ["wallet:export"] }),
  );
  assert.deepEqual([e.code, e.status], ["conflict", 409]);
});

test("a mailed code asked for again too soon: rate_limited, with the wait", async () => {
  const { client, username } = await passwordOnly();
  const { id } = await client.registerEmailMfaDevice({ name: "Mail" });
  const code = await server.mailedCode(username, "Your code to set up sign-in codes by email");
  const device = await client.authenticateEmailMfaDevice({ deviceId: id, code });
  assert.equal(device.status, "active");
  await client.sendEmailCode();
  const e = await failure(client.sendEmailCode());
  assert.deepEqual([e.code, e.status], ["rate_limited", 429]);
  assert.ok(e.retryAfter > 0 && e.retryAfter <= 30, String(e.retryAfter));
});

test("an answer that is not a problem document is unexpected_response", async () => {
  const html = async () => new Response("<h1>Bad gateway</h1>", { status: 502 });
  const client = createTwofoldClient({ baseUrl: server.url, fetch: html });
  const e = await failure(client.getUser());
  assert.deepEqual([e.code, e.status], ["unexpected_response", 502]);
});

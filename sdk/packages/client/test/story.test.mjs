// Seed 004's story with @twofold/client against a real `twofold serve`: sign in, register an
// authenticator app, its first code, sign in again with a code, step up with
// requestedScopes and the token attached to a guarded call by itself, a single-use token
// refused the second time, delete a device with an MFA token, recovery codes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MANAGE_SCOPE, TwofoldError, createTwofoldClient, introspect } from "../dist/index.js";
import { PASSWORD, startServer, totp } from "../../../scripts/server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

/** A signed-in client of a new admin with an active app; answers it and the app's secret. */
async function withApp() {
  const username = server.user("admin");
  const client = createTwofoldClient({ baseUrl: server.url });
  const first = await client.signIn({ org: "acme", username, password: PASSWORD });
  assert.equal(first.status, "authenticated");
  const asked = await client.registerTotpMfaDevice({ name: "Phone" });
  assert.equal(asked.status, "confirmation_required");
  const code = await server.mailedCode(username, "Your code to add an authenticator app");
  const reg = await client.registerTotpMfaDevice({ name: "Phone", confirmationCode: code });
  assert.equal(reg.status, "registered");
  assert.match(reg.uri, /^otpauth:\/\/totp\//);
  const done = await client.authenticateTotpMfaDevice({ code: totp(reg.secret, -1) });
  assert.equal(done.kind, "device_activated");
  assert.equal(done.device.status, "active");
  return { client, username, secret: reg.secret, deviceId: reg.id };
}

test("seed 004's story, end to end", async () => {
  const { client, username, secret, deviceId } = await withApp();
  const devices = await client.getMfaDevices();
  assert.deepEqual(
    devices.map((d) => [d.id, d.type, d.status]),
    [[deviceId, "totp", "active"]],
  );

  // Signing in again takes a code.
  await client.signOut();
  const signIn = await client.signIn({ org: "acme", username, password: PASSWORD });
  assert.equal(signIn.status, "mfa_required");
  assert.deepEqual(client.pendingSignIn.methods, ["totp"]);
  const signedIn = await client.authenticateTotpMfaDevice({ code: totp(secret, 0) });
  assert.equal(signedIn.kind, "signed_in");
  assert.equal((await client.getUser()).session.aal, 2);

  // Step-up: an elevated token for mfa:manage, kept and attached to the next guarded call
  // by itself, then dropped; single-use, so that call spent it.
  const stepped = await client.authenticateTotpMfaDevice({
    code: totp(secret, 1),
    requestedScopes: [MANAGE_SCOPE],
    singleUse: true,
  });
  assert.equal(stepped.kind, "elevated");
  const spent = stepped.elevatedToken.token;
  assert.ok(client.elevatedToken);
  const codes = await client.createRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(client.elevatedToken, null, "dropped once used");

  // An application's server checks tokens with the organisation's API key.
  const key = await client_api_key(client);
  assert.equal((await introspect({ baseUrl: server.url, apiKey: key, token: spent })).active, false,
    "the guarded call spent the single-use token");

  // A single-use token for the application's own scope: good once, refused the second time.
  const wallet = await client.authenticateRecoveryCode({
    code: codes[0],
    requestedScopes: ["wallet:export"],
    singleUse: true,
  });
  const first = await introspect({ baseUrl: server.url, apiKey: key, token: wallet.elevatedToken.token });
  assert.equal(first.active, true);
  assert.equal(first.scope, "wallet:export");
  const again = await introspect({ baseUrl: server.url, apiKey: key, token: wallet.elevatedToken.token });
  assert.equal(again.active, false);

  // A token for another scope does not delete a device: the problem names the scope.
  const other = await client.authenticateRecoveryCode({
    code: codes[1],
    requestedScopes: ["wallet:export"],
  });
  const err = await client
    .deleteMfaDevice({ deviceId, mfaAuthToken: other.elevatedToken.token })
    .catch((e) => e);
  assert.ok(err instanceof TwofoldError);
  assert.equal(err.code, "insufficient_scope");
  assert.equal(err.scope, MANAGE_SCOPE);

  // Delete the device with an MFA token (seed 004: authenticate, then delete with it).
  const mfa = await client.authenticateRecoveryCode({
    code: codes[2],
    requestedScopes: [MANAGE_SCOPE],
    singleUse: true,
  });
  await client.deleteMfaDevice({ deviceId, mfaAuthToken: mfa.elevatedToken.token });
  assert.deepEqual(await client.getMfaDevices(), []);
  // The same token again: spent.
  const reused = await client
    .deleteMfaDevice({ deviceId, mfaAuthToken: mfa.elevatedToken.token })
    .catch((e) => e);
  assert.ok(reused instanceof TwofoldError);

  // Recovery codes: three used.
  assert.equal((await client.getRecoveryCodesStatus()).remaining, 7);
  const sessions = await client.getSessions();
  assert.ok(sessions.some((s) => s.current));
  assert.deepEqual(await client.getRememberedDevices(), []);
});

/** Creates an API key of acme with the client's fresh session. */
async function client_api_key(client) {
  const res = await fetch(`${server.url}/api/v1/orgs/acme/api-keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${client.sessionToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "app" }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).key;
}

test("email codes, the preferred device, remembered devices and sessions", async () => {
  const { client, username, secret, deviceId } = await withApp();
  await client.authenticateTotpMfaDevice({ code: totp(secret, 0) });
  const { id: emailId, sent_to } = await client.registerEmailMfaDevice({ name: "Mail" });
  assert.match(sent_to, /@example\.com$/);
  const code = await server.mailedCode(username, "Your code to set up sign-in codes by email");
  await client.authenticateEmailMfaDevice({ deviceId: emailId, code });
  const preferred = await client.setPreferredMfaDevice({ deviceId: emailId });
  assert.equal(preferred.preferred, true);
  assert.equal((await client.getMfaDevices()).find((d) => d.id === deviceId).preferred, false);

  // Email is preferred now: the next sign-in mails a code at once and says where.
  const other = createTwofoldClient({ baseUrl: server.url });
  const mailed = server.mailCount();
  const answer = await other.signIn({ org: "acme", username, password: PASSWORD });
  assert.equal(answer.status, "mfa_required");
  assert.equal(answer.preferred, "email");
  assert.equal(other.pendingSignIn.codeSentTo, sent_to);
  const signInCode = await server.mailedCode(username, "Your sign-in code", mailed);
  const done = await other.completeMfa({ method: "email", code: signInCode, rememberDevice: true });
  assert.ok(done.device_token, "remembered");

  // The remembered device skips the second step, until it is forgotten.
  const third = createTwofoldClient({ baseUrl: server.url });
  const skipped = await third.signIn({ org: "acme", username, password: PASSWORD, deviceToken: done.device_token });
  assert.equal(skipped.status, "authenticated");
  // That session passed no second factor: a guarded change needs one. An mfa:manage token
  // covers adding a device, registration and first code both, and is dropped after.
  const stale = await third.createRecoveryCodes().catch((e) => e);
  assert.equal(stale.code, "step_up_required");
  await third.authenticateTotpMfaDevice({ code: totp(secret, 1), requestedScopes: [MANAGE_SCOPE] });
  const second = await third.registerTotpMfaDevice({ name: "Tablet" });
  assert.equal(second.status, "registered");
  assert.ok(third.elevatedToken, "kept for the activation");
  const activated = await third.authenticateTotpMfaDevice({ code: totp(second.secret, 0) });
  assert.equal(activated.kind, "device_activated");
  assert.equal(third.elevatedToken, null, "dropped once the device is active");
  const remembered = await client.getRememberedDevices();
  assert.equal(remembered.length, 1);
  await client.forgetRememberedDevice({ deviceId: remembered[0].id });
  assert.deepEqual(await client.getRememberedDevices(), []);
  const again = await createTwofoldClient({ baseUrl: server.url }).signIn({
    org: "acme", username, password: PASSWORD, deviceToken: done.device_token,
  });
  assert.equal(again.status, "mfa_required");

  // Sessions: end one, then every other.
  const sessions = await client.getSessions();
  assert.ok(sessions.length >= 3, JSON.stringify(sessions));
  await client.endSession({ sessionId: sessions.find((s) => !s.current).id });
  await client.endOtherSessions();
  const left = await client.getSessions();
  assert.deepEqual(left.map((s) => s.current), [true]);
  const ended = await other.getUser().catch((e) => e);
  assert.equal(ended.code, "unauthenticated");
});

// Last: it makes acme require MFA, which the tests above do not expect.
test("a sign-in that requires enrolment enrols an app within it", async () => {
  // An admin requires MFA in acme, with a second factor passed just now.
  const { client: admin, secret } = await withApp();
  await admin.authenticateTotpMfaDevice({ code: totp(secret, 0) });
  const res = await fetch(`${server.url}/api/v1/orgs/acme/mfa-policy`, {
    method: "PUT",
    headers: { authorization: `Bearer ${admin.sessionToken}`, "content-type": "application/json" },
    body: JSON.stringify({ required: true, invalidate_sessions: false }),
  });
  assert.equal(res.status, 200, await res.clone().text());

  const username = server.user();
  const client = createTwofoldClient({ baseUrl: server.url });
  const answer = await client.signIn({ org: "acme", username, password: PASSWORD });
  assert.equal(answer.status, "enrollment_required");
  assert.equal(client.sessionToken, null);
  const asked = await client.registerTotpMfaDevice();
  assert.equal(asked.status, "confirmation_required");
  const code = await server.mailedCode(username, "Your code to add an authenticator app");
  const reg = await client.registerTotpMfaDevice({ confirmationCode: code });
  assert.equal(reg.status, "registered");
  const done = await client.authenticateTotpMfaDevice({ code: totp(reg.secret, 0) });
  assert.equal(done.kind, "signed_in");
  assert.equal(done.response.status, "authenticated");
  assert.equal((await client.getUser()).session.aal, 2);
});

// Passkeys with @twofold/client's browser helpers against a real `twofold serve`, the
// browser's `navigator.credentials` played by a software authenticator written here (an
// ES256 key from node:crypto, WebAuthn's authenticator data and a `none` attestation in
// CBOR): register, sign in, step up, rename and delete; an answer for another origin, a
// replayed answer and a counter that goes backwards refused.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { after, before, test } from "node:test";
import {
  MANAGE_SCOPE,
  TwofoldError,
  confirmWithPasskey,
  createTwofoldClient,
  credentialToJSON,
  fromBase64url,
  registerPasskey,
  signInWithPasskey,
  stepUpWithPasskey,
  toBase64url,
} from "../dist/index.js";
import { PASSWORD, startServer } from "../../../scripts/server.mjs";

// The relying party is the public URL's host; the tests reach the server at 127.0.0.1 and
// answer for the public URL's origin, as a browser on that page would.
const ORIGIN = "http://localhost:8080";

let server;
before(async () => {
  server = await startServer({ publicUrl: ORIGIN });
});
after(async () => {
  delete globalThis.navigator;
  await server.stop();
});

// ---- A software authenticator --------------------------------------------------------------

/** CBOR (RFC 8949) of what WebAuthn needs: integers, byte and text strings, arrays, maps. */
function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const b = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, b.length), b]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  if (value instanceof Map) {
    const parts = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error(`no CBOR for ${value}`);
}

const sha256 = (data) => createHash("sha256").update(data).digest();
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const buffer = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

const UP = 0x01; // user present
const UV = 0x04; // user verified
const AT = 0x40; // attested credential data included

/**
 * One security key: creates passkeys (one ES256 key each) and signs assertions for
 * `origin`, its counter going up by one each time; `navigator.credentials`' `create` and
 * `get` as a browser gives them.
 */
class SoftAuthenticator {
  constructor() {
    this.origin = ORIGIN;
    /** credential id (base64url) → { id, key, userHandle, rpId, counter } */
    this.passkeys = new Map();
    /** The last answers given, as the browser gave them. */
    this.created = [];
    this.asserted = [];
  }

  clientData(type, challenge) {
    return Buffer.from(
      JSON.stringify({
        type,
        challenge: toBase64url(challenge),
        origin: this.origin,
        crossOrigin: false,
      }),
    );
  }

  async create({ publicKey }) {
    assert.ok(publicKey.challenge instanceof ArrayBuffer, "the challenge is decoded");
    assert.ok(publicKey.user.id instanceof ArrayBuffer, "the user's id is decoded");
    assert.ok(publicKey.pubKeyCredParams.some((p) => p.alg === -7), "ES256 is offered");
    for (const d of publicKey.excludeCredentials ?? []) {
      assert.ok(d.id instanceof ArrayBuffer);
      if (this.passkeys.has(toBase64url(d.id))) throw new DOMException("excluded", "InvalidStateError");
    }
    const rpId = publicKey.rp.id;
    const { privateKey, publicKey: pub } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = pub.export({ format: "jwk" });
    const cose = cbor(
      new Map([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, "base64url")],
        [-3, Buffer.from(jwk.y, "base64url")],
      ]),
    );
    const id = randomBytes(16);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([UP | UV | AT]),
      u32(0),
      Buffer.alloc(16), // AAGUID: none
      Buffer.from([id.length >> 8, id.length & 0xff]),
      id,
      cose,
    ]);
    const attestationObject = cbor(
      new Map([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    this.passkeys.set(toBase64url(id), {
      id,
      key: privateKey,
      userHandle: Buffer.from(publicKey.user.id),
      rpId,
      counter: 0,
    });
    const credential = {
      id: toBase64url(id),
      rawId: buffer(id),
      type: "public-key",
      authenticatorAttachment: "cross-platform",
      response: {
        clientDataJSON: buffer(this.clientData("webauthn.create", publicKey.challenge)),
        attestationObject: buffer(attestationObject),
        getTransports: () => ["usb"],
      },
      getClientExtensionResults: () => ({}),
    };
    this.created.push(credential);
    return credential;
  }

  async get({ publicKey }) {
    assert.ok(publicKey.challenge instanceof ArrayBuffer, "the challenge is decoded");
    const allowed = (publicKey.allowCredentials ?? []).map((d) => toBase64url(d.id));
    const passkey = [...this.passkeys.values()].find(
      (p) => p.rpId === publicKey.rpId && allowed.includes(toBase64url(p.id)),
    );
    if (!passkey) throw new DOMException("no passkey for this site", "NotAllowedError");
    passkey.counter += 1;
    const authData = Buffer.concat([
      sha256(passkey.rpId),
      Buffer.from([UP | UV]),
      u32(passkey.counter),
    ]);
    const clientDataJSON = this.clientData("webauthn.get", publicKey.challenge);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), passkey.key);
    const credential = {
      id: toBase64url(passkey.id),
      rawId: buffer(passkey.id),
      type: "public-key",
      authenticatorAttachment: "cross-platform",
      response: {
        clientDataJSON: buffer(clientDataJSON),
        authenticatorData: buffer(authData),
        signature: buffer(signature),
        userHandle: buffer(passkey.userHandle),
      },
      getClientExtensionResults: () => ({}),
    };
    this.asserted.push(credential);
    return credential;
  }
}

/** A fresh authenticator as the browser's `navigator.credentials`. */
function authenticator() {
  const a = new SoftAuthenticator();
  Object.defineProperty(globalThis, "navigator", {
    value: { credentials: a },
    configurable: true,
    writable: true,
  });
  return a;
}

/** A signed-in new user (no factor yet) with a passkey "YubiKey", through the helpers. */
async function withPasskey() {
  const key = authenticator();
  const username = server.user();
  const client = createTwofoldClient({ baseUrl: server.url });
  assert.equal((await client.signIn({ org: "acme", username, password: PASSWORD })).status, "authenticated");
  // The user's first factor: a code mailed to them first, as for an authenticator app.
  const asked = await registerPasskey(client, "YubiKey");
  assert.equal(asked.status, "confirmation_required");
  assert.equal(key.created.length, 0, "no prompt before the code");
  const confirmationCode = await server.mailedCode(username, "Your code to add a passkey");
  const done = await registerPasskey(client, "YubiKey", { confirmationCode });
  assert.equal(done.status, "registered");
  return { key, client, username, device: done.device };
}

// ---- The tests -------------------------------------------------------------------------------

test("base64url goes both ways, padded or not", () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  const text = toBase64url(bytes);
  assert.equal(text, Buffer.from(bytes).toString("base64url"));
  assert.deepEqual(new Uint8Array(fromBase64url(text)), bytes);
  assert.deepEqual(new Uint8Array(fromBase64url(`${Buffer.from(bytes).toString("base64")}`)), bytes);
  assert.deepEqual(new Uint8Array(fromBase64url("")), new Uint8Array());
});

test("a passkey is registered, signs in and steps up", async () => {
  const { key, client, username, device } = await withPasskey();
  assert.equal(device.type, "webauthn");
  assert.equal(device.name, "YubiKey");
  assert.equal(device.status, "active");
  assert.deepEqual(device.passkey, {
    authenticator: "security_key",
    backup_eligible: false,
    possibly_cloned: false,
  });
  assert.deepEqual((await client.getMfaDevices()).map((d) => [d.id, d.type]), [[device.id, "webauthn"]]);

  // A second passkey on the same authenticator is excluded (the browser says so), after a
  // fresh second factor (the user has one now).
  await stepUpWithPasskey(client, [MANAGE_SCOPE]);
  const excluded = await registerPasskey(client, "Again").catch((e) => e);
  assert.equal(excluded.name, "InvalidStateError");

  // Signing in again: the second step is the passkey.
  await client.signOut();
  const answer = await client.signIn({ org: "acme", username, password: PASSWORD });
  assert.equal(answer.status, "mfa_required");
  assert.deepEqual(client.pendingSignIn.methods, ["webauthn"]);
  const signedIn = await signInWithPasskey(client);
  assert.equal(signedIn.status, "authenticated");
  assert.equal(client.pendingSignIn, null);
  const me = await client.getUser();
  assert.equal(me.session.aal, 2);

  // A sign-in finished with the flow token named (another tab's flow, say).
  const other = createTwofoldClient({ baseUrl: server.url });
  const started = await other.signIn({ org: "acme", username, password: PASSWORD });
  const elsewhere = createTwofoldClient({ baseUrl: server.url });
  const byToken = await signInWithPasskey(elsewhere, started.flow_token, { rememberDevice: true });
  assert.equal(byToken.status, "authenticated");
  assert.ok(byToken.device_token);
  assert.ok(elsewhere.sessionToken);

  // Step-up: an elevated token for an application's scope, single-use.
  const token = await stepUpWithPasskey(client, ["wallet:export"], { singleUse: true });
  assert.deepEqual(token.scopes, ["wallet:export"]);
  assert.equal(token.singleUse, true);
  assert.equal(client.elevatedToken, token);

  // The session passes a second factor now.
  const raised = await confirmWithPasskey(client);
  assert.equal(raised.aal, 2);

  // One passkey answered every request, its counter up by one each time.
  assert.equal([...key.passkeys.values()][0].counter, key.asserted.length);

  // That session passed a second factor just now: it removes the passkey without a token
  // (the one held is for another scope, and is not sent).
  await client.deleteMfaDevice({ deviceId: device.id });
  assert.deepEqual(await client.getMfaDevices(), []);
});

test("an answer for another origin is refused", async () => {
  // At registration: the passkey is not added.
  const stranger = authenticator();
  stranger.origin = "http://evil.example";
  const username = server.user();
  const newcomer = createTwofoldClient({ baseUrl: server.url });
  await newcomer.signIn({ org: "acme", username, password: PASSWORD });
  await registerPasskey(newcomer, "Key");
  const confirmationCode = await server.mailedCode(username, "Your code to add a passkey");
  const refused = await registerPasskey(newcomer, "Key", { confirmationCode }).catch((e) => e);
  assert.ok(refused instanceof TwofoldError, String(refused));
  assert.deepEqual([refused.code, refused.status], ["passkey_refused", 401]);
  assert.deepEqual(await newcomer.getMfaDevices(), []);

  // At sign-in.
  const { key, client, username: signer } = await withPasskey();
  await client.signOut();
  await client.signIn({ org: "acme", username: signer, password: PASSWORD });
  key.origin = "http://evil.example";
  const e = await signInWithPasskey(client).catch((e) => e);
  assert.ok(e instanceof TwofoldError, String(e));
  assert.deepEqual([e.code, e.status], ["passkey_refused", 401]);
  assert.equal(client.sessionToken, null);
  // The right origin, with new options, signs in.
  key.origin = ORIGIN;
  assert.equal((await signInWithPasskey(client)).status, "authenticated");
});

test("a replayed answer is refused", async () => {
  const { key, client } = await withPasskey();
  const first = await stepUpWithPasskey(client);
  assert.ok(first.token);
  const replayed = credentialToJSON(key.asserted.at(-1));
  // Its ceremony was taken by the first answer: none waits.
  const none = await client
    .stepUp({ method: "webauthn", credential: replayed, scopes: [MANAGE_SCOPE] })
    .catch((e) => e);
  assert.ok(none instanceof TwofoldError, String(none));
  assert.equal(none.code, "challenge_expired");
  // A new request waits: the old answer is not for its challenge.
  await client.passkeyStepUpOptions();
  const stale = await client
    .stepUp({ method: "webauthn", credential: replayed, scopes: [MANAGE_SCOPE] })
    .catch((e) => e);
  assert.ok(stale instanceof TwofoldError, String(stale));
  assert.equal(stale.code, "passkey_refused");
});

test("a passkey is renamed and deleted", async () => {
  const { client, device } = await withPasskey();
  const renamed = await client.renameFactor(device.id, "  Blue key ");
  assert.equal(renamed.name, "Blue key");
  assert.equal((await client.getMfaDevices())[0].name, "Blue key");
  const bad = await client.renameFactor(device.id, "").catch((e) => e);
  assert.equal(bad.code, "invalid_request");
  const missing = await client.renameFactor("f_nope", "x").catch((e) => e);
  assert.equal(missing.code, "not_found");

  // A passkey answers no code: deleting it takes a fresh second factor. A session that
  // signed in with a password only has none.
  const stale = await client.deleteMfaDevice({ deviceId: device.id }).catch((e) => e);
  assert.equal(stale.code, "step_up_required");
  await stepUpWithPasskey(client, [MANAGE_SCOPE], { singleUse: true });
  await client.deleteMfaDevice({ deviceId: device.id });
  assert.equal(client.elevatedToken, null, "spent");
  assert.deepEqual(await client.getMfaDevices(), []);
});

test("a counter that goes backwards marks the passkey as cloned", async () => {
  const { key, client, device } = await withPasskey();
  await stepUpWithPasskey(client);
  await stepUpWithPasskey(client);
  // A copy of the key, behind the original.
  [...key.passkeys.values()][0].counter = 0;
  const e = await stepUpWithPasskey(client).catch((e) => e);
  assert.ok(e instanceof TwofoldError, String(e));
  assert.equal(e.code, "passkey_cloned");
  const listed = (await client.getMfaDevices()).find((d) => d.id === device.id);
  assert.equal(listed.passkey.possibly_cloned, true);
  // Refused from then on: no request names it any more (it was the user's only passkey).
  const again = await client.passkeyStepUpOptions().catch((e) => e);
  assert.ok(again instanceof TwofoldError, String(again));
  assert.equal(again.code, "method_not_available");
});

// Federated sign-in from an application: the PKCE pair, the address to open in the
// browser, the exchange of the one-time code, and a password sign-in of a federated user
// sent to the organisation's provider. (The whole trip through a real provider is tested
// on the server's side, crates/server/tests/api/federation.rs, and the CLI's.)
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { TwofoldError, createTwofoldClient, pkcePair } from "../dist/index.js";
import { PASSWORD, startServer } from "../../../scripts/server.mjs";

let server;
before(async () => {
  server = await startServer();
  server.offline(
    ["user", "create", "--org", "acme", "--username", "fiona", "--email",
      "fiona@example.com", "--role", "member", "--federated"],
  );
  // Saving a provider does not reach it: an address nobody answers at will do.
  server.offline(
    ["oidc", "set", "acme", "okta", "--issuer", "http://127.0.0.1:9", "--client-id",
      "twofold", "--client-secret-stdin"],
    "client-secret\n",
  );
});
after(() => server.stop());

test("a PKCE pair is a verifier and its S256 challenge", async () => {
  const { verifier, challenge } = await pkcePair();
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(challenge, createHash("sha256").update(verifier).digest("base64url"));
  assert.notEqual((await pkcePair()).verifier, verifier);
});

test("the sign-in address leads the browser to the server's start page", async () => {
  const client = createTwofoldClient({ baseUrl: `${server.url}/` });
  const { challenge } = await pkcePair();
  const url = client.federatedSignInUrl({
    org: "acme",
    provider: "okta",
    redirectUri: "http://127.0.0.1:53682/callback",
    state: "s 1",
    codeChallenge: challenge,
  });
  const u = new URL(url);
  assert.equal(`${u.origin}${u.pathname}`, `${server.url}/auth/oidc/acme/okta/start`);
  assert.equal(u.searchParams.get("redirect_uri"), "http://127.0.0.1:53682/callback");
  assert.equal(u.searchParams.get("state"), "s 1");
  assert.equal(u.searchParams.get("code_challenge"), challenge);
  // An unknown provider: a page saying so, not a redirect.
  const missing = url.replace("/okta/", "/nope/");
  const r = await fetch(missing, { redirect: "manual" });
  assert.equal(r.status, 404);
});

test("a made-up or spent code is refused", async () => {
  const client = createTwofoldClient({ baseUrl: server.url });
  const { verifier } = await pkcePair();
  const e = await client
    .completeFederatedSignIn({ code: "tfh_made_up", codeVerifier: verifier })
    .then(() => assert.fail("accepted"), (e) => e);
  assert.ok(e instanceof TwofoldError);
  assert.deepEqual([e.code, e.status], ["flow_expired", 401]);
  assert.equal(client.sessionToken, null);
});

test("a federated user's password sign-in names the organisation's provider", async () => {
  const client = createTwofoldClient({ baseUrl: server.url });
  for (const username of ["fiona", "nobody-here"]) {
    const e = await client
      .signIn({ org: "acme", username, password: PASSWORD })
      .then(() => assert.fail("accepted"), (e) => e);
    assert.equal(e.code, "use_identity_provider", username);
    assert.deepEqual(e.providers, ["okta"]);
  }
});

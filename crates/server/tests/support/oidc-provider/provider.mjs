// A real OpenID Connect provider for the server's integration tests: panva's certified
// oidc-provider on plain HTTP on loopback, with a minimal automatable sign-in page and
// /__test/ control endpoints (clients, accounts, key rotation, tampered ID tokens).
//
//   node provider.mjs [--port N]
//
// Prints exactly one line to stdout, {"issuer":"http://127.0.0.1:PORT"}, then serves until
// killed or until its stdin ends (so a test that dies leaves no orphan). Diagnostics go to
// stderr only.
//
// Control endpoints (JSON in, JSON out):
//   POST /__test/clients   {"client_id","client_secret","redirect_uris":[...]}
//   POST /__test/accounts  {"sub","claims":{...},"amr"?:[...]} (amr: what its sign-ins report)
//   POST /__test/rotate    -> {"kid"}: a new signing key; the JWKS then holds only it
//   POST /__test/tamper    {"mode": nonce|expired|audience|issuer|foreign_key|none}:
//                          the next token response carrying an id_token gets a modified one
//   GET  /__test/last-auth-request -> the query of the latest GET /auth

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import { Provider } from 'oidc-provider';
// The package's own in-memory adapter, given one store that outlives each Provider instance:
// a key rotation rebuilds the Provider and keeps clients, sessions, grants and codes.
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import {
  SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK,
} from 'jose';

function log(...args) {
  console.error('[oidc-provider]', ...args);
}

// ---- state that survives a rebuild of the Provider -------------------------------------------

const adapter = createMemoryAdapter(0);
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
const accounts = new Map(); // sub -> claims (without sub)
const loginAmr = new Map(); // sub -> the `amr` its sign-ins report (default pwd, otp)
let signingJwk; // private JWK with kid, alg, use
let tamperMode = null;
let lastAuthRequest = null;
let provider;
let providerCallback;
let issuer;

const STANDARD_CLAIMS = {
  // acr, amr and auth_time ride with `openid` so that every ID token carries them.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
    'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};
const KNOWN_CLAIMS = new Set([...Object.values(STANDARD_CLAIMS).flat(), 'sid', 'iss']);
// Claims of accounts that no standard scope covers (e.g. "groups"): released with `openid`.
const customClaims = new Set();

async function newSigningJwk() {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    ...jwk, kid: crypto.randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig',
  };
}

// ---- tampering with the ID token of the next token response ----------------------------------

const TAMPER_MODES = new Set(['nonce', 'expired', 'audience', 'issuer', 'foreign_key']);

async function tamperIdToken(mode, idToken) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = await importJWK(signingJwk, 'RS256');
  switch (mode) {
    case 'nonce':
      claims.nonce = crypto.randomBytes(16).toString('base64url');
      break;
    case 'expired':
      claims.exp = now - 600;
      claims.iat = now - 1200;
      break;
    case 'audience':
      claims.aud = 'someone-else';
      break;
    case 'issuer':
      claims.iss = 'http://evil.example';
      break;
    case 'foreign_key': {
      // Same kid as the published key, but a signature only this throwaway key can verify.
      ({ privateKey: key } = await generateKeyPair('RS256', { modulusLength: 2048 }));
      break;
    }
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

// ---- the Provider -----------------------------------------------------------------------------

function buildProvider() {
  const claims = {
    ...STANDARD_CLAIMS,
    openid: [...STANDARD_CLAIMS.openid, ...customClaims],
  };
  const p = new Provider(issuer, {
    adapter,
    async findAccount(_ctx, sub) {
      const stored = accounts.get(sub);
      if (!stored) return undefined;
      return {
        accountId: sub,
        claims: () => ({ ...stored, sub }),
      };
    },
    jwks: { keys: [signingJwk] },
    cookies: {
      keys: cookieKeys,
      // Cookies ignore ports: the provider and the server under test share 127.0.0.1, so
      // the provider's cookies get names of their own.
      names: {
        session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_interaction_resume',
      },
    },
    claims,
    acrValues: ['urn:test:mfa'],
    // Profile and email claims in the ID token itself, not only at the userinfo endpoint.
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    // PKCE (S256 is the only method oidc-provider offers) is optional for confidential
    // clients, as at most real providers; when a challenge is sent it is enforced.
    pkce: { required: () => false },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.body = `oidc-provider error: ${JSON.stringify(out)}\n`;
    },
  });

  p.on('server_error', (_ctx, err) => log('server_error', err));

  p.use(async (ctx, next) => {
    await next();
    if (
      ctx.oidc?.route === 'token'
      && ctx.status === 200
      && tamperMode
      && ctx.body
      && typeof ctx.body.id_token === 'string'
    ) {
      const mode = tamperMode;
      tamperMode = null;
      ctx.body = { ...ctx.body, id_token: await tamperIdToken(mode, ctx.body.id_token) };
      log(`tampered with the ID token of a token response (${mode})`);
    }
  });

  return p;
}

function installProvider() {
  provider = buildProvider();
  providerCallback = provider.callback();
}

// ---- the sign-in page -------------------------------------------------------------------------

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function loginPage(uid) {
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<form method="post" action="${escapeHtml(action)}"><label for="sub">Username</label><input id="sub" name="sub"><button type="submit">Sign in</button></form>
</body>
</html>
`;
}

// A Grant for everything the authorization request asks for, so that no consent prompt follows.
async function grantFor(details, accountId) {
  const { params } = details;
  let grant;
  if (details.grantId) {
    grant = await provider.Grant.find(details.grantId);
    if (grant && (grant.accountId !== accountId || grant.clientId !== params.client_id)) {
      grant = undefined;
    }
  }
  grant ??= new provider.Grant({ accountId, clientId: params.client_id });
  if (typeof params.scope === 'string' && params.scope) {
    grant.addOIDCScope(params.scope);
  }
  if (typeof params.claims === 'string') {
    try {
      const requested = JSON.parse(params.claims);
      const names = new Set([
        ...Object.keys(requested.id_token ?? {}), ...Object.keys(requested.userinfo ?? {}),
      ]);
      if (names.size) grant.addOIDCClaims([...names]);
    } catch {
      // oidc-provider validates the claims parameter itself.
    }
  }
  return grant.save();
}

// Sign-in and consent in one step.
async function finishLogin(req, res, details, sub) {
  const grantId = await grantFor(details, sub);
  await provider.interactionFinished(req, res, {
    login: { accountId: sub, amr: loginAmr.get(sub) ?? ['pwd', 'otp'], acr: 'urn:test:mfa' },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

// Only consent is missing (a signed-in session whose grant is gone or too narrow, e.g. after
// a replayed code revoked it): given at once, without a page, so no form appears.
async function finishConsent(req, res, details) {
  const grantId = await grantFor(details, details.session.accountId);
  await provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

// ---- HTTP -------------------------------------------------------------------------------------

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`);
}

function sendText(res, status, text) {
  send(res, status, 'text/plain; charset=utf-8', `${text}\n`);
}

async function readJson(req) {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}');
  } catch (err) {
    const e = new Error(`body is not JSON: ${err.message}`);
    e.status = 400;
    throw e;
  }
}

function badRequest(message) {
  const e = new Error(message);
  e.status = 400;
  return e;
}

async function handleTest(req, res, path) {
  if (req.method === 'POST' && path === '/__test/clients') {
    const body = await readJson(req);
    const { client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris } = body;
    if (typeof clientId !== 'string' || !clientId) throw badRequest('client_id is required');
    if (typeof clientSecret !== 'string' || !clientSecret) throw badRequest('client_secret is required');
    if (!Array.isArray(redirectUris) || !redirectUris.length) throw badRequest('redirect_uris is required');
    const metadata = {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // client_secret_post is accepted too: oidc-provider treats both secret methods alike.
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      require_auth_time: true,
    };
    // Validate the metadata now rather than at the first authorization request.
    await provider.Client.validate(metadata);
    await provider.Client.adapter.upsert(clientId, metadata);
    sendJson(res, 200, { ok: true });
    return;
  }

  if (req.method === 'POST' && path === '/__test/accounts') {
    const { sub, claims = {}, amr } = await readJson(req);
    if (typeof sub !== 'string' || !sub) throw badRequest('sub is required');
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
      throw badRequest('claims must be an object');
    }
    const stored = { ...claims };
    delete stored.sub;
    accounts.set(sub, stored);
    if (Array.isArray(amr)) loginAmr.set(sub, amr);
    else loginAmr.delete(sub);
    const unknown = Object.keys(stored).filter((c) => !KNOWN_CLAIMS.has(c) && !customClaims.has(c));
    if (unknown.length) {
      unknown.forEach((c) => customClaims.add(c));
      installProvider();
    }
    sendJson(res, 200, { ok: true });
    return;
  }

  if (req.method === 'POST' && path === '/__test/rotate') {
    await readBody(req);
    signingJwk = await newSigningJwk();
    installProvider();
    log(`rotated the signing key, kid ${signingJwk.kid}`);
    sendJson(res, 200, { kid: signingJwk.kid });
    return;
  }

  if (req.method === 'POST' && path === '/__test/tamper') {
    const { mode } = await readJson(req);
    if (mode === 'none') {
      tamperMode = null;
    } else if (TAMPER_MODES.has(mode)) {
      tamperMode = mode;
    } else {
      throw badRequest(`unknown tamper mode ${JSON.stringify(mode)}`);
    }
    sendJson(res, 200, { ok: true });
    return;
  }

  if (req.method === 'GET' && path === '/__test/last-auth-request') {
    sendJson(res, 200, lastAuthRequest);
    return;
  }

  sendText(res, 404, `no test endpoint ${req.method} ${path}`);
}

async function handleInteraction(req, res, path) {
  const login = path.match(/^\/interaction\/([^/]+)\/login$/);
  if (login && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const sub = form.get('sub') ?? '';
    if (!accounts.has(sub)) {
      sendText(res, 400, `unknown account ${JSON.stringify(sub)}`);
      return;
    }
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== decodeURIComponent(login[1])) {
      sendText(res, 400, 'interaction id does not match the interaction cookie');
      return;
    }
    await finishLogin(req, res, details, sub);
    return;
  }

  const page = path.match(/^\/interaction\/([^/]+)$/);
  if (page && req.method === 'GET') {
    const details = await provider.interactionDetails(req, res);
    const uid = decodeURIComponent(page[1]);
    if (details.uid !== uid) {
      sendText(res, 400, 'interaction id does not match the interaction cookie');
      return;
    }
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      await finishConsent(req, res, details);
      return;
    }
    send(res, 200, 'text/html; charset=utf-8', loginPage(uid));
    return;
  }

  sendText(res, 404, `no interaction route ${req.method} ${path}`);
}

async function handle(req, res) {
  const url = new URL(req.url, issuer);
  const path = url.pathname;
  try {
    if (path.startsWith('/__test/')) {
      await handleTest(req, res, path);
      return;
    }
    if (path.startsWith('/interaction/')) {
      await handleInteraction(req, res, path);
      return;
    }
    if (req.method === 'GET' && path === '/auth') {
      lastAuthRequest = Object.fromEntries(url.searchParams);
    }
    providerCallback(req, res);
  } catch (err) {
    if (!err.status) log('error handling', req.method, path, err);
    if (!res.headersSent) {
      const detail = err.error_description ? ` (${err.error_description})` : '';
      sendText(res, err.status ?? err.statusCode ?? 500, `${err.name}: ${err.message}${detail}`);
    } else {
      res.end();
    }
  }
}

// ---- start ------------------------------------------------------------------------------------

function parsePort(argv) {
  const i = argv.indexOf('--port');
  if (i === -1) return 0;
  const port = Number(argv[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port needs a port number, got ${argv[i + 1]}`);
  }
  return port;
}

const port = parsePort(process.argv.slice(2));
signingJwk = await newSigningJwk();
const server = http.createServer((req, res) => {
  if (!provider) {
    sendText(res, 503, 'starting');
    return;
  }
  handle(req, res);
});
server.listen(port, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  installProvider();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

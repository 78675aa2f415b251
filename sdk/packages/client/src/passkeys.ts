// Passkeys in the browser: the whole WebAuthn ceremony of a registration, a sign-in's second
// step and a step-up — the server's options decoded for `navigator.credentials`, the
// authenticator's answer encoded back to JSON. Written out here (base64url ⇄ ArrayBuffer,
// credential → JSON) because `PublicKeyCredential.parseCreationOptionsFromJSON()` and
// `credential.toJSON()` are missing from browsers still in use.
import type {
  ElevatedToken,
  MfaDevice,
  PasskeyCredentialJSON,
  PasskeyOptions,
  SessionInfo,
  SignInResponse,
  TwofoldClient,
} from "./client.js";
import { MANAGE_SCOPE } from "./client.js";

/** Where the ceremony goes: the browser's `navigator.credentials` unless given. */
export interface PasskeyCeremonyOptions {
  credentials?: Pick<CredentialsContainer, "create" | "get">;
  /** Cancels the ceremony (the browser's prompt closes). */
  signal?: AbortSignal;
}

/** The answer to `registerPasskey`. */
export type PasskeyRegistration =
  | { status: "registered"; device: MfaDevice }
  | {
      /** The user's first factor: a code was mailed to them; register again with it. */
      status: "confirmation_required";
      expiresAt: string;
    };

/**
 * Registers a passkey named `name` for the signed-in user: the server's options, the
 * browser's prompt (`navigator.credentials.create()`), the answer sent back. The passkey is
 * active at once. Guarded like any new factor: the held `mfa:manage` token, a session that
 * passed a second factor just now, or (the user's first factor) `confirmationCode`.
 */
export async function registerPasskey(
  client: TwofoldClient,
  name?: string,
  opts: PasskeyCeremonyOptions & { confirmationCode?: string } = {},
): Promise<PasskeyRegistration> {
  const start = await client.beginPasskeyRegistration(name, {
    confirmationCode: opts.confirmationCode,
  });
  if (start.status === "confirmation_required") return start;
  const credential = await credentialsOf(opts).create({
    publicKey: creationOptionsFromJSON(start.options),
    signal: opts.signal,
  });
  const device = await client.finishPasskeyRegistration(credentialToJSON(answer(credential)));
  return { status: "registered", device };
}

/**
 * Finishes the waiting sign-in (`mfa_required`, or the flow `flowToken`) with a passkey:
 * the server's request, the browser's prompt (`navigator.credentials.get()`), the answer
 * sent to `completeMfa`.
 */
export async function signInWithPasskey(
  client: TwofoldClient,
  flowToken?: string,
  opts: PasskeyCeremonyOptions & { rememberDevice?: boolean } = {},
): Promise<SignInResponse> {
  const options = await client.passkeySignInOptions(flowToken);
  const credential = await getAssertion(options, opts);
  return client.completeMfa({
    method: "webauthn",
    credential,
    flowToken,
    rememberDevice: opts.rememberDevice,
  });
}

/**
 * An elevated token for `scopes` (`mfa:manage` by default) with a passkey; the client keeps
 * it in `elevatedToken` (one for `mfa:manage` is attached to the next guarded change).
 */
export async function stepUpWithPasskey(
  client: TwofoldClient,
  scopes: string[] = [MANAGE_SCOPE],
  opts: PasskeyCeremonyOptions & { singleUse?: boolean } = {},
): Promise<ElevatedToken> {
  const credential = await getAssertion(await client.passkeyStepUpOptions(), opts);
  return client.stepUp({ method: "webauthn", credential, scopes, singleUse: opts.singleUse });
}

/**
 * The session passes a second factor now with a passkey (session-based MFA: aal 2, and the
 * fresh factor a guarded change such as removing a passkey takes for 10 minutes).
 */
export async function confirmWithPasskey(
  client: TwofoldClient,
  opts: PasskeyCeremonyOptions = {},
): Promise<SessionInfo> {
  const credential = await getAssertion(await client.passkeyStepUpOptions(), opts);
  return client.passSecondFactor({ method: "webauthn", credential });
}

async function getAssertion(
  options: PasskeyOptions,
  opts: PasskeyCeremonyOptions,
): Promise<PasskeyCredentialJSON> {
  const credential = await credentialsOf(opts).get({
    publicKey: requestOptionsFromJSON(options),
    signal: opts.signal,
  });
  return credentialToJSON(answer(credential));
}

function credentialsOf(opts: PasskeyCeremonyOptions): Pick<CredentialsContainer, "create" | "get"> {
  const c = opts.credentials ?? globalThis.navigator?.credentials;
  if (!c) throw new Error("passkeys need a browser (navigator.credentials is missing)");
  return c;
}

function answer(credential: Credential | null): PublicKeyCredential {
  if (!credential || credential.type !== "public-key") {
    throw new Error("the authenticator gave no passkey");
  }
  return credential as PublicKeyCredential;
}

// ---- The JSON forms ----------------------------------------------------------------------

type Json = Record<string, unknown>;

/**
 * The server's registration options (`{publicKey}`, binary members base64url) as
 * `navigator.credentials.create()` takes them: `challenge`, `user.id` and
 * `excludeCredentials[].id` decoded (WebAuthn Level 3, `PublicKeyCredentialCreationOptionsJSON`).
 */
export function creationOptionsFromJSON(options: PasskeyOptions): PublicKeyCredentialCreationOptions {
  const o = options.publicKey as Json;
  const user = o.user as Json;
  return {
    ...o,
    challenge: fromBase64url(o.challenge as string),
    user: { ...user, id: fromBase64url(user.id as string) },
    excludeCredentials: descriptors(o.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/**
 * The server's request options as `navigator.credentials.get()` takes them: `challenge`
 * and `allowCredentials[].id` decoded.
 */
export function requestOptionsFromJSON(options: PasskeyOptions): PublicKeyCredentialRequestOptions {
  const o = options.publicKey as Json;
  return {
    ...o,
    challenge: fromBase64url(o.challenge as string),
    allowCredentials: descriptors(o.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((d: Json) => ({ ...d, id: fromBase64url(d.id as string) })) as PublicKeyCredentialDescriptor[];
}

/**
 * An authenticator's answer (a registration's or an assertion's) in the JSON form the
 * server reads, binary members base64url: what `credential.toJSON()` gives where it exists.
 */
export function credentialToJSON(credential: PublicKeyCredential): PasskeyCredentialJSON {
  const r = credential.response as AuthenticatorResponse & Partial<
    AuthenticatorAttestationResponse & AuthenticatorAssertionResponse
  >;
  const response: Json = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
  }
  if (r.authenticatorData) {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature as ArrayBuffer);
    response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults:
      typeof credential.getClientExtensionResults === "function"
        ? credential.getClientExtensionResults()
        : {},
  };
}

/** Base64url (RFC 4648 §5, unpadded) of bytes. */
export function toBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const b =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = "";
  for (const c of b) text += String.fromCharCode(c);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of base64url text (padded or not; plain base64 too). */
export function fromBase64url(text: string): ArrayBuffer {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out.buffer;
}

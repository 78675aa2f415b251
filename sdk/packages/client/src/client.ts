// A client for one Twofold server and one user's session: the verbs of seed 004
// (`registerTotpMfaDevice`, `authenticateTotpMfaDevice`, `getMfaDevices`,
// `deleteMfaDevice`, …) over Twofold's API. Each verb is one API call (or two, where the
// API asks for a step first); the rules stay on the server.
import type { components } from "./generated/openapi.js";
import { TwofoldError } from "./errors.js";
import { type Fetch, type Request, send } from "./http.js";

type S = components["schemas"];
export type Method = S["Method"];
export type MfaDevice = S["Factor"];
export type User = S["Me"];
export type Session = S["SessionSummary"];
export type RememberedDevice = S["Device"];
export type SignInResponse = S["LoginResponse"];
export type EmailCodeSent = S["EmailCodeSent"];
export type RecoveryCodesStatus = S["RecoveryCodesStatus"];
export type SessionInfo = S["SessionInfo"];
export type FederatedToken = S["OidcTokenResponse"];
/** WebAuthn options in their JSON form: `{publicKey: {…}}`, binary members as base64url. */
export type PasskeyOptions = S["WebauthnOptions"];

export interface TwofoldClientOptions {
  /** The server's root, e.g. `https://mfa.example.com`. */
  baseUrl: string;
  /** A session token kept from an earlier sign-in. */
  sessionToken?: string | null;
  /** Another `fetch` (tests, a custom agent); the platform's by default. */
  fetch?: Fetch;
}

/** Proof of a fresh second factor for named scopes (seed 004's elevated access token). */
export interface ElevatedToken {
  token: string;
  scopes: string[];
  /** RFC 3339, UTC. */
  expiresAt: string;
  singleUse: boolean;
}

/** A sign-in waiting for its second step, or for a first factor to be enrolled. */
export interface PendingSignIn {
  kind: "mfa_required" | "enrollment_required";
  flowToken: string;
  /** For `mfa_required`: the methods that may finish it, and the preferred one. */
  methods: Method[];
  preferred?: Method;
  /** Where the preferred email code was mailed, partly hidden. */
  codeSentTo?: string;
  expiresAt: string;
}

/** The answer to registering an authenticator app. */
export type TotpRegistration =
  | {
      status: "registered";
      /** The device's id: authenticate it with a first code. */
      id: string;
      /** The `otpauth://` URI to show as a QR code. */
      uri: string;
      /** Base32, for typing into an app that cannot scan. */
      secret: string;
      qrSvg: string;
    }
  | {
      /** The user's first app: a code was mailed to them; register again with it. */
      status: "confirmation_required";
      expiresAt: string;
    };

/**
 * A `PublicKeyCredential` in its JSON form (binary members as base64url), as
 * `credentialToJSON` (or the browser's `credential.toJSON()`) makes it.
 */
export interface PasskeyCredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: Record<string, unknown>;
  [member: string]: unknown;
}

/** The answer to starting a passkey's registration. */
export type PasskeyRegistrationStart =
  | {
      /** Pass `options` to `navigator.credentials.create()`, within 5 minutes. */
      status: "options";
      options: PasskeyOptions;
    }
  | {
      /** The user's first factor: a code was mailed to them; begin again with it. */
      status: "confirmation_required";
      expiresAt: string;
    };

export interface AuthenticateOptions {
  code: string;
  /** Scopes for an elevated token (`["wallet:export"]`); Twofold's own changes take `mfa:manage`. */
  requestedScopes?: string[];
  /** The elevated token is good for one use only. */
  singleUse?: boolean;
}

/** A passkey's answer in place of a code (`authenticatePasskey`). */
export type PasskeyAuthenticateOptions = Omit<AuthenticateOptions, "code"> & {
  credential: PasskeyCredentialJSON;
};

/** A code, or a passkey's answer (method `webauthn`). */
type Proof = { code: string; credential?: undefined } | { code?: undefined; credential: PasskeyCredentialJSON };

function proof(p: { code?: string; credential?: PasskeyCredentialJSON }) {
  return p.credential ? { credential: p.credential } : { code: p.code };
}

/** What an authentication gave: a finished sign-in, a raised session, or an elevated token. */
export type AuthenticateResult =
  | { kind: "signed_in"; response: SignInResponse }
  | { kind: "session"; session: SessionInfo }
  | { kind: "elevated"; elevatedToken: ElevatedToken }
  | { kind: "device_activated"; device: MfaDevice };

/** Twofold's scope for its own guarded changes. */
export const MANAGE_SCOPE = "mfa:manage";

export class TwofoldClient {
  readonly baseUrl: string;
  /** The session's bearer token, once signed in. */
  sessionToken: string | null;
  /** A sign-in that waits for its second step (`completeMfa`) or an enrolment. */
  pendingSignIn: PendingSignIn | null = null;
  /**
   * The elevated token of the last authentication with `requestedScopes`. One for
   * `mfa:manage` is attached to the next guarded change by itself, and dropped once used
   * (registering a device keeps it for the device's activation, unless single-use), refused
   * or expired; one for the application's own scopes is for the application to send.
   */
  elevatedToken: ElevatedToken | null = null;
  /** The authenticator app registered last and not yet authenticated. */
  pendingTotpDeviceId: string | null = null;
  readonly #fetch: Fetch;

  constructor(options: TwofoldClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.sessionToken = options.sessionToken ?? null;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async #call<T>(req: Request): Promise<T> {
    return (await send<T>(this.#fetch, this.baseUrl, { token: this.sessionToken, ...req })).body;
  }

  /**
   * A guarded change: sent with the held elevated token when it is for Twofold's own
   * changes (`mfa:manage`) and the request names none itself; the held token is dropped
   * once sent (unless `keep`: registering a device, whose activation is guarded too), and
   * when the server refuses it.
   */
  async #guarded<T>(req: Request, keep = false): Promise<{ status: number; body: T }> {
    const held = this.#liveElevated();
    const usable = held?.scopes.includes(MANAGE_SCOPE) ? held : null;
    const elevatedToken = "elevatedToken" in req ? req.elevatedToken : (usable?.token ?? null);
    const sentHeld = usable !== null && elevatedToken === usable.token;
    try {
      const answer = await send<T>(this.#fetch, this.baseUrl, {
        token: this.sessionToken,
        ...req,
        elevatedToken,
      });
      if (sentHeld && (!keep || usable.singleUse)) this.elevatedToken = null;
      return answer;
    } catch (e) {
      const refused =
        e instanceof TwofoldError &&
        (e.code === "step_up_required" || e.code === "insufficient_scope");
      if (sentHeld && refused) this.elevatedToken = null;
      throw e;
    }
  }

  #liveElevated(): ElevatedToken | null {
    const e = this.elevatedToken;
    if (e && Date.parse(e.expiresAt) <= Date.now()) this.elevatedToken = null;
    return this.elevatedToken;
  }

  #signedIn(r: SignInResponse): SignInResponse {
    if (r.status === "authenticated") {
      this.sessionToken = r.session_token;
      this.pendingSignIn = null;
      // What belonged to the previous session does not carry over.
      this.elevatedToken = null;
      this.pendingTotpDeviceId = null;
    } else if (r.status === "mfa_required") {
      this.pendingSignIn = {
        kind: r.status,
        flowToken: r.flow_token,
        methods: r.methods,
        preferred: r.preferred,
        codeSentTo: r.code_sent_to ?? undefined,
        expiresAt: r.expires_at,
      };
    } else {
      this.pendingSignIn = {
        kind: r.status,
        flowToken: r.flow_token,
        methods: [],
        expiresAt: r.expires_at,
      };
    }
    return r;
  }

  #flow(kind: PendingSignIn["kind"]): string {
    const p = this.pendingSignIn;
    if (!p || p.kind !== kind) {
      throw new TwofoldError("flow_expired", 0, `no sign-in is waiting (${kind})`);
    }
    return p.flowToken;
  }

  // ---- Signing in ---------------------------------------------------------------------

  /** `POST /auth/login`: signed in, or a second step (`completeMfa`) or an enrolment waits. */
  async signIn(input: {
    org: string;
    username: string;
    password: string;
    deviceToken?: string;
  }): Promise<SignInResponse> {
    this.pendingTotpDeviceId = null;
    const r = await this.#call<SignInResponse>({
      method: "POST",
      path: "/auth/login",
      token: null,
      body: {
        org: input.org,
        username: input.username,
        password: input.password,
        ...(input.deviceToken ? { device_token: input.deviceToken } : {}),
      },
    });
    return this.#signedIn(r);
  }

  /**
   * `POST /auth/mfa`: finishes the waiting sign-in (or the flow `flowToken`) with a code
   * of `method`, or with a passkey's `credential` (method `webauthn`, after
   * `passkeySignInOptions`).
   */
  async completeMfa(
    input: { method: Method; rememberDevice?: boolean; flowToken?: string } & Proof,
  ): Promise<SignInResponse> {
    const r = await this.#call<SignInResponse>({
      method: "POST",
      path: "/auth/mfa",
      token: null,
      body: {
        flow_token: input.flowToken ?? this.#flow("mfa_required"),
        method: input.method,
        ...proof(input),
        ...(input.rememberDevice ? { remember_device: true } : {}),
      },
    });
    return this.#signedIn(r);
  }

  /**
   * `POST /auth/mfa/webauthn/options`: a passkey request for the waiting sign-in (or the
   * flow `flowToken`), for `navigator.credentials.get()`; its answer goes to `completeMfa`
   * with method `webauthn` within 5 minutes. A new request replaces the last.
   */
  async passkeySignInOptions(flowToken?: string): Promise<PasskeyOptions> {
    return this.#call({
      method: "POST",
      path: "/auth/mfa/webauthn/options",
      token: null,
      body: { flow_token: flowToken ?? this.#flow("mfa_required") },
    });
  }

  // ---- Federated sign-in (the organisation's identity provider) -------------------------

  /**
   * The address to open in the person's browser to sign in through provider `provider` of
   * organisation `org`. The browser comes back to `redirectUri` (a loopback address the
   * application listens on: `http://127.0.0.1:<port>/…`) with `code` and `state` (or
   * `error` and `error_description`); finish with `completeFederatedSignIn`.
   */
  federatedSignInUrl(input: {
    org: string;
    provider: string;
    redirectUri: string;
    state: string;
    codeChallenge: string;
  }): string {
    const q = new URLSearchParams({
      redirect_uri: input.redirectUri,
      state: input.state,
      code_challenge: input.codeChallenge,
    });
    const org = encodeURIComponent(input.org);
    const provider = encodeURIComponent(input.provider);
    return `${this.baseUrl}/auth/oidc/${org}/${provider}/start?${q}`;
  }

  /**
   * `POST /auth/oidc/token`: the one-time code from the loopback redirect and the PKCE
   * verifier. A sign-in's session is kept (as `signIn` keeps one); a step-up's elevated
   * token (scope `mfa:manage`) is kept and attached to the next sensitive call.
   */
  async completeFederatedSignIn(input: {
    code: string;
    codeVerifier: string;
  }): Promise<FederatedToken> {
    const r = await this.#call<FederatedToken>({
      method: "POST",
      path: "/auth/oidc/token",
      token: null,
      body: { code: input.code, code_verifier: input.codeVerifier },
    });
    if (r.status === "authenticated") {
      this.sessionToken = r.session_token;
      this.pendingSignIn = null;
      this.elevatedToken = null;
      this.pendingTotpDeviceId = null;
    } else {
      this.elevatedToken = {
        token: r.elevated_token,
        scopes: r.scopes,
        expiresAt: r.expires_at,
        singleUse: false,
      };
    }
    return r;
  }

  /**
   * `POST /auth/step-up/oidc`: a federated user's fresh second factor is a new sign-in at
   * their provider. Open `authorize_url` in their browser; it comes back to `redirectUri`
   * with a code for `completeFederatedSignIn`, which keeps the elevated token.
   */
  async startFederatedStepUp(input: {
    redirectUri: string;
    state: string;
    codeChallenge: string;
  }): Promise<S["OidcRedirect"]> {
    return this.#call({
      method: "POST",
      path: "/auth/step-up/oidc",
      body: {
        redirect_uri: input.redirectUri,
        state: input.state,
        code_challenge: input.codeChallenge,
      },
    });
  }

  /** Mails a code for the waiting sign-in (to choose email, or for a new code). */
  async sendSignInEmailCode(): Promise<EmailCodeSent> {
    return this.#call({
      method: "POST",
      path: "/auth/mfa/email/send",
      token: null,
      body: { flow_token: this.#flow("mfa_required") },
    });
  }

  /** `POST /auth/logout`, and forgets the session and what came with it (an expired
   * session is as good as ended). */
  async signOut(): Promise<void> {
    try {
      if (this.sessionToken) await this.#call({ method: "POST", path: "/auth/logout" });
    } catch (e) {
      if (!(e instanceof TwofoldError && e.code === "unauthenticated")) throw e;
    } finally {
      this.sessionToken = null;
      this.elevatedToken = null;
      this.pendingSignIn = null;
      this.pendingTotpDeviceId = null;
    }
  }

  /** `GET /me`. */
  async getUser(): Promise<User> {
    return this.#call({ method: "GET", path: "/me" });
  }

  // ---- Authenticator apps (seed 004) ----------------------------------------------------

  /**
   * Registers an authenticator app: `{uri, secret}` to show as a QR code. Like the seed's,
   * a registered app is not yet authenticated: `authenticateTotpMfaDevice` with its first
   * code does that. During a sign-in that requires enrolment, this enrols within it.
   */
  async registerTotpMfaDevice(
    input: { name?: string; confirmationCode?: string } = {},
  ): Promise<TotpRegistration> {
    const enrolling = this.pendingSignIn?.kind === "enrollment_required";
    const body = {
      ...(enrolling ? { flow_token: this.#flow("enrollment_required") } : {}),
      ...(input.name ? { name: input.name } : {}),
      ...(input.confirmationCode ? { confirmation_code: input.confirmationCode } : {}),
    };
    const req: Request = enrolling
      ? { method: "POST", path: "/auth/enroll/totp", body, token: null }
      : { method: "POST", path: "/me/factors/totp", body };
    const answer = enrolling
      ? await send<unknown>(this.#fetch, this.baseUrl, req)
      : await this.#guarded<unknown>(req, true);
    if (answer.status === 202) {
      const c = answer.body as S["ConfirmationRequired"];
      return { status: "confirmation_required", expiresAt: c.expires_at };
    }
    const e = answer.body as S["TotpEnrollment"];
    this.pendingTotpDeviceId = e.id;
    return { status: "registered", id: e.id, uri: e.uri, secret: e.secret, qrSvg: e.qr_svg };
  }

  /**
   * Checks a code from an authenticator app, and does what is waiting:
   * - a registered app not yet authenticated (`deviceId`, or the last registered): it
   *   becomes active (and, in a sign-in that required enrolment, signs in);
   * - a sign-in waiting for its second step: it is finished;
   * - with `requestedScopes`: an elevated token, kept in `elevatedToken` and attached to the
   *   next sensitive call by itself;
   * - else: the session passes a second factor now (session-based MFA).
   */
  async authenticateTotpMfaDevice(
    input: AuthenticateOptions & { deviceId?: string; preferred?: boolean },
  ): Promise<AuthenticateResult> {
    // A sign-in waiting for its second step comes first (unless a device is named).
    if (this.pendingSignIn?.kind === "mfa_required" && !input.deviceId && !input.requestedScopes) {
      return { kind: "signed_in", response: await this.completeMfa({ ...input, method: "totp" }) };
    }
    const deviceId = input.deviceId ?? this.pendingTotpDeviceId;
    if (deviceId && !input.requestedScopes) {
      if (this.pendingSignIn?.kind === "enrollment_required") {
        const r = await this.#call<SignInResponse>({
          method: "POST",
          path: "/auth/enroll/activate",
          token: null,
          body: { flow_token: this.pendingSignIn.flowToken, id: deviceId, code: input.code },
        });
        this.pendingTotpDeviceId = null;
        return { kind: "signed_in", response: this.#signedIn(r) };
      }
      const { body: device } = await this.#guarded<MfaDevice>({
        method: "POST",
        path: `/me/factors/${encodeURIComponent(deviceId)}/activate`,
        body: { code: input.code, ...(input.preferred ? { preferred: true } : {}) },
      });
      this.pendingTotpDeviceId = null;
      return { kind: "device_activated", device };
    }
    return this.authenticateMfa({ ...input, method: "totp" });
  }

  /**
   * A code of any method (`totp`, `email`, `recovery_code`): finishes a waiting sign-in,
   * or gives an elevated token for `requestedScopes`, or raises the session.
   */
  async authenticateMfa(input: AuthenticateOptions & { method: Method }): Promise<AuthenticateResult> {
    return this.#authenticate(input);
  }

  /**
   * A passkey's answer (to `passkeySignInOptions` in a sign-in, else to
   * `passkeyStepUpOptions`), as `authenticateMfa` takes a code: finishes a waiting
   * sign-in, or gives an elevated token for `requestedScopes`, or raises the session.
   */
  async authenticatePasskey(input: PasskeyAuthenticateOptions): Promise<AuthenticateResult> {
    return this.#authenticate({ ...input, method: "webauthn" });
  }

  async #authenticate(
    input: Omit<AuthenticateOptions, "code"> & { method: Method } & Proof,
  ): Promise<AuthenticateResult> {
    if (this.pendingSignIn?.kind === "mfa_required" && !input.requestedScopes) {
      return { kind: "signed_in", response: await this.completeMfa(input) };
    }
    if (input.requestedScopes) {
      const elevatedToken = await this.stepUp({ ...input, scopes: input.requestedScopes });
      return { kind: "elevated", elevatedToken };
    }
    return { kind: "session", session: await this.passSecondFactor(input) };
  }

  /**
   * `POST /auth/step-up`: an elevated token for `scopes`, with a code of `method` or a
   * passkey's `credential` (method `webauthn`, after `passkeyStepUpOptions`). Kept in
   * `elevatedToken`.
   */
  async stepUp(
    input: { method: Method; scopes: string[]; singleUse?: boolean } & Proof,
  ): Promise<ElevatedToken> {
    const e = await this.#call<S["ElevatedToken"]>({
      method: "POST",
      path: "/auth/step-up",
      body: {
        method: input.method,
        ...proof(input),
        scopes: input.scopes,
        ...(input.singleUse ? { single_use: true } : {}),
      },
    });
    this.elevatedToken = {
      token: e.elevated_token,
      scopes: e.scopes,
      expiresAt: e.expires_at,
      singleUse: input.singleUse ?? false,
    };
    return this.elevatedToken;
  }

  /**
   * `POST /me/session/mfa`: the session passes a second factor now (aal 2), with a code of
   * `method` or a passkey's `credential` (method `webauthn`, after `passkeyStepUpOptions`).
   */
  async passSecondFactor(input: { method: Method } & Proof): Promise<SessionInfo> {
    return this.#call({
      method: "POST",
      path: "/me/session/mfa",
      body: { method: input.method, ...proof(input) },
    });
  }

  /** The user's devices (factors): apps and email, pending and active. Never a secret. */
  async getMfaDevices(): Promise<MfaDevice[]> {
    return this.#call({ method: "GET", path: "/me/factors" });
  }

  /**
   * Deletes a device: with `mfaAuthToken` (an elevated token, the seed's MFA token) or the
   * one held, or with a current `code` from the device itself. A passkey answers no code:
   * a token, or a session that passed a second factor in the last 10 minutes.
   */
  async deleteMfaDevice(input: {
    deviceId: string;
    mfaAuthToken?: string;
    code?: string;
  }): Promise<void> {
    await this.#guarded({
      method: "DELETE",
      path: `/me/factors/${encodeURIComponent(input.deviceId)}`,
      body: input.code ? { code: input.code } : {},
      // A code from the device is the proof itself: no token is sent (or spent).
      ...(input.code ? { elevatedToken: null } : input.mfaAuthToken ? { elevatedToken: input.mfaAuthToken } : {}),
    });
  }

  /** `PATCH /me/factors/{id}`: renames a device of any kind (1-64 printable characters). */
  async renameFactor(deviceId: string, name: string): Promise<MfaDevice> {
    return this.#call({
      method: "PATCH",
      path: `/me/factors/${encodeURIComponent(deviceId)}`,
      body: { name },
    });
  }

  /** Makes a device the one asked for first at sign-in. */
  async setPreferredMfaDevice(input: { deviceId: string }): Promise<MfaDevice> {
    const a = await this.#guarded<MfaDevice>({
      method: "PUT",
      path: `/me/factors/${encodeURIComponent(input.deviceId)}/preferred`,
    });
    return a.body;
  }

  // ---- Passkeys (WebAuthn) ----------------------------------------------------------------
  // The ceremony with the browser's authenticator is passkeys.ts's (`registerPasskey`,
  // `signInWithPasskey`, `stepUpWithPasskey`); these are its API calls.

  /**
   * `POST /me/factors/webauthn/begin`: the options for `navigator.credentials.create()`.
   * Guarded like any new factor: the held `mfa:manage` token is sent and kept for
   * `finishPasskeyRegistration`; the user's first factor asks for a code mailed to them
   * first (`confirmation_required`: begin again with `confirmationCode`).
   */
  async beginPasskeyRegistration(
    name?: string,
    opts: { confirmationCode?: string } = {},
  ): Promise<PasskeyRegistrationStart> {
    const answer = await this.#guarded<unknown>(
      {
        method: "POST",
        path: "/me/factors/webauthn/begin",
        body: {
          ...(name ? { name } : {}),
          ...(opts.confirmationCode ? { confirmation_code: opts.confirmationCode } : {}),
        },
      },
      true,
    );
    if (answer.status === 202) {
      const c = answer.body as S["ConfirmationRequired"];
      return { status: "confirmation_required", expiresAt: c.expires_at };
    }
    return { status: "options", options: answer.body as PasskeyOptions };
  }

  /**
   * `POST /me/factors/webauthn/finish` with the authenticator's answer: the passkey, active
   * at once (its registration authenticated it).
   */
  async finishPasskeyRegistration(credential: PasskeyCredentialJSON): Promise<MfaDevice> {
    const a = await this.#guarded<MfaDevice>({
      method: "POST",
      path: "/me/factors/webauthn/finish",
      body: { credential },
    });
    return a.body;
  }

  /**
   * `POST /auth/step-up/webauthn/options`: a passkey request for this session, for
   * `navigator.credentials.get()`; its answer goes to `authenticatePasskey` within 5
   * minutes (an elevated token with `requestedScopes`, else the session raised).
   */
  async passkeyStepUpOptions(): Promise<PasskeyOptions> {
    return this.#call({ method: "POST", path: "/auth/step-up/webauthn/options" });
  }

  // ---- Email codes ----------------------------------------------------------------------

  /** Adds email as a factor: a code is mailed; `authenticateEmailMfaDevice` activates it. */
  async registerEmailMfaDevice(input: { name?: string } = {}): Promise<S["EmailEnrollment"]> {
    const a = await this.#guarded<S["EmailEnrollment"]>(
      { method: "POST", path: "/me/factors/email", body: input.name ? { name: input.name } : {} },
      true,
    );
    return a.body;
  }

  /** Activates a registered email device with the code mailed to it. */
  async authenticateEmailMfaDevice(input: {
    deviceId: string;
    code: string;
    preferred?: boolean;
  }): Promise<MfaDevice> {
    const a = await this.#guarded<MfaDevice>({
      method: "POST",
      path: `/me/factors/${encodeURIComponent(input.deviceId)}/activate`,
      body: { code: input.code, ...(input.preferred ? { preferred: true } : {}) },
    });
    return a.body;
  }

  /** Mails a code for a step-up or a guarded change (`authenticateMfa` with `email`). */
  async sendEmailCode(): Promise<EmailCodeSent> {
    if (this.pendingSignIn?.kind === "mfa_required") return this.sendSignInEmailCode();
    return this.#call({ method: "POST", path: "/auth/step-up/email/send" });
  }

  // ---- Recovery codes -------------------------------------------------------------------

  /** Ten new recovery codes, shown once; the old ones stop working. */
  async createRecoveryCodes(): Promise<string[]> {
    const a = await this.#guarded<S["RecoveryCodes"]>({ method: "POST", path: "/me/recovery-codes" });
    return a.body.codes;
  }

  async getRecoveryCodesStatus(): Promise<RecoveryCodesStatus> {
    return this.#call({ method: "GET", path: "/me/recovery-codes" });
  }

  /** A recovery code in place of an app's code (sign-in, step-up, session). */
  async authenticateRecoveryCode(input: AuthenticateOptions): Promise<AuthenticateResult> {
    return this.authenticateMfa({ ...input, method: "recovery_code" });
  }

  // ---- Sessions and remembered devices ---------------------------------------------------

  async getSessions(): Promise<Session[]> {
    return this.#call({ method: "GET", path: "/me/sessions" });
  }

  async endSession(input: { sessionId: string }): Promise<void> {
    await this.#call({ method: "DELETE", path: `/me/sessions/${encodeURIComponent(input.sessionId)}` });
  }

  /** Ends every session of the user but this one. */
  async endOtherSessions(): Promise<void> {
    await this.#call({ method: "DELETE", path: "/me/sessions" });
  }

  async getRememberedDevices(): Promise<RememberedDevice[]> {
    return this.#call({ method: "GET", path: "/me/devices" });
  }

  async forgetRememberedDevice(input: { deviceId: string }): Promise<void> {
    await this.#call({ method: "DELETE", path: `/me/devices/${encodeURIComponent(input.deviceId)}` });
  }
}

/** A client for one server and one user's session. */
export function createTwofoldClient(options: TwofoldClientOptions): TwofoldClient {
  return new TwofoldClient(options);
}

/**
 * A PKCE pair (RFC 7636, S256) for a federated sign-in: keep `verifier`, send
 * `challenge`. Uses the platform's Web Crypto (browsers, Node 20+).
 */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  const verifier = base64url(bytes);
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

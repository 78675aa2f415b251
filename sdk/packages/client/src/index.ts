// @twofold/client: multi-factor authentication with a Twofold server, for browsers and
// Node 20+, with no dependency beyond `fetch`.
export {
  TwofoldClient,
  createTwofoldClient,
  pkcePair,
  MANAGE_SCOPE,
  type TwofoldClientOptions,
  type AuthenticateOptions,
  type AuthenticateResult,
  type ElevatedToken,
  type EmailCodeSent,
  type FederatedToken,
  type Method,
  type MfaDevice,
  type PasskeyAuthenticateOptions,
  type PasskeyCredentialJSON,
  type PasskeyOptions,
  type PasskeyRegistrationStart,
  type PendingSignIn,
  type RecoveryCodesStatus,
  type RememberedDevice,
  type Session,
  type SessionInfo,
  type SignInResponse,
  type TotpRegistration,
  type User,
} from "./client.js";
export {
  registerPasskey,
  signInWithPasskey,
  stepUpWithPasskey,
  confirmWithPasskey,
  creationOptionsFromJSON,
  requestOptionsFromJSON,
  credentialToJSON,
  toBase64url,
  fromBase64url,
  type PasskeyCeremonyOptions,
  type PasskeyRegistration,
} from "./passkeys.js";
export { TwofoldError, type ErrorCode } from "./errors.js";
export { introspect, type Introspection } from "./server.js";
export type { components, paths } from "./generated/openapi.js";

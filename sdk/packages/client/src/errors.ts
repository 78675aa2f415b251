// The one error the SDK throws: the server's problem document (RFC 9457) with its stable
// `code`, or a failure to reach the server at all.
import type { components } from "./generated/openapi.js";

/** The server's stable error codes, and the SDK's own for what never reached it. */
export type ErrorCode = components["schemas"]["ErrorCode"] | "network" | "unexpected_response";

export class TwofoldError extends Error {
  override readonly name = "TwofoldError";
  /** Match on this, never on `message`. */
  readonly code: ErrorCode;
  /** The HTTP status; 0 when the server was not reached. */
  readonly status: number;
  /** Seconds to wait before trying again (a lock, a rate limit). */
  readonly retryAfter?: number;
  /** On `invalid_code`: the device's clock looks off by about this many seconds. */
  readonly clockSkewSeconds?: number;
  /** On `insufficient_scope`: the scope the elevated token lacks. */
  readonly scope?: string;
  /** On `use_identity_provider`: the organisation's identity providers, by name. */
  readonly providers?: string[];

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    extra: {
      retryAfter?: number;
      clockSkewSeconds?: number;
      scope?: string;
      providers?: string[];
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: extra.cause });
    this.code = code;
    this.status = status;
    this.retryAfter = extra.retryAfter;
    this.clockSkewSeconds = extra.clockSkewSeconds;
    this.scope = extra.scope;
    this.providers = extra.providers;
  }

  /** From a problem document, or the body of an answer that is not one. */
  static fromResponse(status: number, body: unknown): TwofoldError {
    const p = body as Partial<components["schemas"]["Problem"]> | null;
    if (p && typeof p === "object" && typeof p.code === "string") {
      return new TwofoldError(p.code, status, p.detail ?? p.title ?? p.code, {
        retryAfter: p.retry_after ?? undefined,
        clockSkewSeconds: p.clock_skew_seconds ?? undefined,
        scope: p.scope ?? undefined,
        providers: p.providers ?? undefined,
      });
    }
    return new TwofoldError("unexpected_response", status, `unexpected answer ${status}`);
  }
}

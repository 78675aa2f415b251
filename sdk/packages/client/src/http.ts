// Requests to the API: JSON in and out, the session as a bearer token, an elevated token
// as `X-Elevated-Token`, and every failure as a TwofoldError.
import { TwofoldError } from "./errors.js";

export type Fetch = typeof globalThis.fetch;

export interface Request {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  /** A bearer token: the session's, a sign-in flow's, or an API key. */
  token?: string | null;
  elevatedToken?: string | null;
}

/** The answer's status and JSON body (`undefined` for 204). */
export interface Answer<T> {
  status: number;
  body: T;
}

export async function send<T>(fetchFn: Fetch, base: string, req: Request): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  if (req.token) headers.authorization = `Bearer ${req.token}`;
  if (req.elevatedToken) headers["x-elevated-token"] = req.elevatedToken;
  let res: Response;
  try {
    res = await fetchFn(`${base}/api/v1${req.path}`, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
    });
  } catch (cause) {
    throw new TwofoldError("network", 0, `cannot reach ${base}: ${String(cause)}`, { cause });
  }
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new TwofoldError("unexpected_response", res.status, `not JSON: ${text.slice(0, 200)}`);
    }
  }
  if (!res.ok) throw TwofoldError.fromResponse(res.status, body);
  return { status: res.status, body: body as T };
}

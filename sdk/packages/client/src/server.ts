// For application servers: checking a token a user's browser sent (RFC 7662 introspection)
// with the organisation's API key.
import type { components } from "./generated/openapi.js";
import { type Fetch, send } from "./http.js";

export type Introspection = components["schemas"]["Introspection"];

/**
 * `POST /tokens/introspect` with an organisation API key: whether `token` (a session or an
 * elevated token) is live, whose, with which scopes. A single-use elevated token is spent
 * by its first introspection.
 */
export async function introspect(options: {
  baseUrl: string;
  apiKey: string;
  token: string;
  fetch?: Fetch;
}): Promise<Introspection> {
  const f = options.fetch ?? globalThis.fetch.bind(globalThis);
  const a = await send<Introspection>(f, options.baseUrl.replace(/\/+$/, ""), {
    method: "POST",
    path: "/tokens/introspect",
    token: options.apiKey,
    body: { token: options.token },
  });
  return a.body;
}

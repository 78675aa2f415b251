// The committed API types are what the running server's OpenAPI document makes: the SDK
// cannot drift from the API. On failure: `npm run types -- <server url>`.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { TYPES, generate } from "./types.mjs";
import { startServer } from "./server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

test("the committed types match the server's OpenAPI document", async () => {
  const committed = await readFile(TYPES, "utf8");
  const fresh = await generate(server.url);
  assert.ok(
    committed === fresh,
    `${TYPES} differs from what the server serves: run \`npm run types -- ${server.url}\` in sdk/`,
  );
});

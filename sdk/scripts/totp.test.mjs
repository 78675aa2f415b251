// The tests' own TOTP generator against RFC 6238 appendix B (SHA-1, T = 59 s: 94287082,
// of which 6 digits are 287082), so a failing sign-in cannot be blamed on it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { totp } from "./server.mjs";

test("the test generator matches RFC 6238 at T = 59 s", () => {
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // base32 of "12345678901234567890"
  assert.equal(totp(secret, 0, 59), "287082");
});

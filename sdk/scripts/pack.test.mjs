// What a user installs: `npm pack` of each package, installed into a fresh project, and a
// sample using both type-checked there with `tsc --noEmit`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const SDK = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(SDK, "node_modules", "typescript", "bin", "tsc");

const SAMPLE = `
import { createTwofoldClient, introspect, TwofoldError, type MfaDevice } from "@twofold/client";
import { TwofoldProvider, useMfaDevices, useRegisterTotpMfaDevice } from "@twofold/react";
import { createElement } from "react";

const client = createTwofoldClient({ baseUrl: "http://127.0.0.1:8080" });

export async function signIn(password: string): Promise<string | undefined> {
  const answer = await client.signIn({ org: "acme", username: "alice", password });
  if (answer.status === "mfa_required") {
    const done = await client.completeMfa({ method: answer.preferred, code: "123456" });
    return done.status === "authenticated" ? done.session_token : undefined;
  }
  return answer.status === "authenticated" ? answer.session_token : undefined;
}

export async function check(token: string): Promise<boolean> {
  try {
    return (await introspect({ baseUrl: client.baseUrl, apiKey: "tfk_…", token })).active;
  } catch (e) {
    if (e instanceof TwofoldError && e.code === "rate_limited") return e.retryAfter! > 0;
    throw e;
  }
}

export function Devices() {
  const devices = useMfaDevices();
  const register = useRegisterTotpMfaDevice();
  const names: string[] = (devices.data ?? []).map((d: MfaDevice) => d.name);
  const uri = register.data?.status === "registered" ? register.data.uri : null;
  return createElement("p", null, names.join(", "), uri);
}

export const app = createElement(TwofoldProvider, { client }, createElement(Devices));
`;

test("each package, packed and installed into a fresh project, type-checks a sample", () => {
  const dir = mkdtempSync(join(tmpdir(), "twofold-pack-"));
  try {
    const tarballs = {};
    for (const pkg of ["client", "react"]) {
      const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], {
        cwd: join(SDK, "packages", pkg),
        encoding: "utf8",
      });
      tarballs[pkg] = join(dir, out.trim().split("\n").pop());
    }
    const project = join(dir, "project");
    mkdirSync(project);
    const versions = (name) =>
      JSON.parse(execFileSync("npm", ["pkg", "get", `devDependencies.${name}`], { cwd: SDK, encoding: "utf8" }));
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({
        name: "sample",
        private: true,
        type: "module",
        dependencies: {
          "@twofold/client": `file:${tarballs.client}`,
          "@twofold/react": `file:${tarballs.react}`,
          react: versions("react"),
          "@types/react": versions("@types/react"),
        },
      }),
    );
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
      cwd: project,
      stdio: "inherit",
    });
    // Only what `files` lists is shipped: the built code and its declarations.
    const shipped = readdirSync(join(project, "node_modules", "@twofold", "client", "dist"));
    assert.ok(shipped.includes("index.js") && shipped.includes("index.d.ts"), String(shipped));
    writeFileSync(join(project, "sample.ts"), SAMPLE);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "DOM"],
          strict: true,
          noEmit: true,
        },
        files: ["sample.ts"],
      }),
    );
    execFileSync(process.execPath, [TSC, "-p", project], { cwd: project, stdio: "inherit" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The example page (examples/react-enroll) type-checks against the built packages and
// bundles with Vite, so it cannot rot while the hooks change.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const SDK = fileURLToPath(new URL("..", import.meta.url));
const bin = (pkg, file) => join(SDK, "node_modules", pkg, "bin", file);

test("the React example type-checks and builds", () => {
  execFileSync(process.execPath, [bin("typescript", "tsc"), "-p", "examples/react-enroll"], {
    cwd: SDK,
    stdio: "inherit",
  });
  const out = mkdtempSync(join(tmpdir(), "twofold-example-"));
  try {
    execFileSync(
      process.execPath,
      [bin("vite", "vite.js"), "build", "--config", "examples/react-enroll/vite.config.js",
        "--outDir", out, "--emptyOutDir", "--logLevel", "error"],
      { cwd: SDK, stdio: "inherit" },
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

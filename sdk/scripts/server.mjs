// A real `twofold serve` for the SDK's tests: the binary named by TWOFOLD_BIN (the Rust
// test that runs these passes the one it built), on a free port with a fresh data
// directory, stopped when the tests end. Users are made with its offline commands; mailed
// codes are read from its outbox; TOTP codes come from node:crypto, not from Twofold.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PASSWORD = "correct horse battery staple";

/** `publicUrl`: the server's `--public-url` (passkeys' relying party), if not its own address. */
export async function startServer({ publicUrl } = {}) {
  const bin = process.env.TWOFOLD_BIN;
  if (!bin) throw new Error("TWOFOLD_BIN must name the twofold binary (cargo test sets it)");
  const data = mkdtempSync(join(tmpdir(), "twofold-sdk-"));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("TWOFOLD_")),
  );
  const serve = ["--data-dir", data, "serve", "--listen", "127.0.0.1:0"];
  if (publicUrl) serve.push("--public-url", publicUrl);
  const child = spawn(bin, serve, {
    env: { ...env, NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /Twofold is listening on (http:\/\/[0-9.:]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
  const offline = (args, input) => {
    const r = spawnSync(bin, ["--data-dir", data, ...args], { input, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`twofold ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  offline(["org", "create", "acme"]);
  /** The messages in the server's outbox, oldest first. */
  const mailFiles = () => {
    const outbox = join(data, "outbox");
    try {
      return readdirSync(outbox).filter((f) => f.endsWith(".eml")).sort().map((f) => join(outbox, f));
    } catch {
      return [];
    }
  };
  let users = 0;
  return {
    url,
    /** Runs an offline `twofold` command on this server's data directory (`input` on stdin). */
    offline,
    /** A new user of `acme` with PASSWORD; answers the username. */
    user(role = "member") {
      const name = `user${++users}`;
      offline(
        ["user", "create", "--org", "acme", "--username", name, "--email",
          `${name}@example.com`, "--role", role, "--password-stdin"],
        `${PASSWORD}\n`,
      );
      return name;
    },
    /** The newest code mailed to `user` with `subject`, waiting for its delivery. */
    async mailedCode(user, subject, after = 0) {
      for (let i = 0; i < 400; i++) {
        const files = mailFiles();
        if (files.length > after) {
          for (const f of files.reverse()) {
            const text = readFileSync(f, "utf8");
            if (text.includes(`To: ${user}@example.com`) && text.includes(`Subject: ${subject}`)) {
              const m = /Your code: (\d{6})/.exec(text);
              if (m) return m[1];
            }
          }
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no mail ${subject} to ${user}`);
    },
    mailCount() {
      return mailFiles().length;
    },
    /** Stops the server, waits for it to exit (it may still be writing its data
     * directory as it shuts down), then removes the directory. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(data, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) for the step of `now` (seconds) plus `offset` steps. */
export function totp(secretBase32, offset = 0, now = Date.now() / 1000) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const step = Math.floor(now / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const o = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

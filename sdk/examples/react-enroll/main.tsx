// An application's page using @twofold/react against a local Twofold server: sign in, then
// seed 004's TotpEnrollment (register an app, show its QR code, verify the first code).
// `npm run example` serves it with Vite, which passes /api to the server (as an
// application's own reverse proxy would), so the page and the API share an origin.
import React, { useState } from "react";
import { createRoot } from "react-dom/client";
import { TwofoldError, createTwofoldClient } from "@twofold/client";
import {
  TwofoldProvider,
  useAuthenticateTotpMfaDevice,
  useMfaDevices,
  useRegisterTotpMfaDevice,
} from "@twofold/react";

const client = createTwofoldClient({ baseUrl: window.location.origin });

function message(e: unknown): string {
  return e instanceof TwofoldError ? `${e.message} (${e.code})` : String(e);
}

function SignIn(props: { onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [needsCode, setNeedsCode] = useState(false);
  async function submit(form: FormData) {
    try {
      if (needsCode) {
        await client.completeMfa({ method: "totp", code: String(form.get("code")) });
      } else {
        const answer = await client.signIn({
          org: String(form.get("org")),
          username: String(form.get("username")),
          password: String(form.get("password")),
        });
        if (answer.status === "mfa_required") return setNeedsCode(true);
      }
      props.onDone();
    } catch (e) {
      setError(message(e));
    }
  }
  return (
    <form action={submit}>
      <h1>Sign in</h1>
      {error && <p className="error">{error}</p>}
      {needsCode ? (
        <label>
          Code from your authenticator app
          <input name="code" inputMode="numeric" autoComplete="one-time-code" />
        </label>
      ) : (
        <>
          <label>Organisation<input name="org" defaultValue="acme" /></label>
          <label>Username<input name="username" autoComplete="username" /></label>
          <label>Password<input name="password" type="password" autoComplete="current-password" /></label>
        </>
      )}
      <button type="submit">{needsCode ? "Verify" : "Sign in"}</button>
    </form>
  );
}

function TotpEnrollment() {
  const [code, setCode] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const { mutate: registerDevice, data: registration, error: registerError } =
    useRegisterTotpMfaDevice();
  const { mutate: authenticateDevice, isSuccess: enrolled, error } = useAuthenticateTotpMfaDevice();
  const devices = useMfaDevices();

  if (enrolled) return <p>TOTP device enrolled successfully.</p>;
  if (!registration) {
    return (
      <div>
        <h1>Authenticator apps</h1>
        <p>{devices.data ? `${devices.data.length} device(s) set up.` : "Loading…"}</p>
        {registerError && <p className="error">{message(registerError)}</p>}
        <button onClick={() => registerDevice({ name: "Phone" })}>Set Up Authenticator App</button>
      </div>
    );
  }
  if (registration.status === "confirmation_required") {
    return (
      <form onSubmit={(e) => { e.preventDefault(); registerDevice({ name: "Phone", confirmationCode: confirmation }); }}>
        <h1>Check your email</h1>
        <p>To make sure it is you, we mailed a code to your address.</p>
        {registerError && <p className="error">{message(registerError)}</p>}
        <label>Code from the email<input value={confirmation} onChange={(e) => setConfirmation(e.target.value)} inputMode="numeric" /></label>
        <button type="submit">Continue</button>
      </form>
    );
  }
  return (
    <form onSubmit={(e) => { e.preventDefault(); authenticateDevice({ code }); }}>
      <h1>Scan this QR code with your authenticator app</h1>
      <img className="qr" alt="QR code to add Twofold to an authenticator app"
        src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(registration.qrSvg)}`} />
      <p>Or type this key: <code>{registration.secret.match(/.{1,4}/g)?.join(" ")}</code></p>
      {error && <p className="error">{message(error)}</p>}
      <label>
        Enter 6-digit code
        <input value={code} onChange={(e) => setCode(e.target.value)} maxLength={6} inputMode="numeric" autoComplete="one-time-code" />
      </label>
      <button type="submit">Verify</button>
    </form>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(false);
  return signedIn ? <TotpEnrollment /> : <SignIn onDone={() => setSignedIn(true)} />;
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <TwofoldProvider client={client}>
      <App />
    </TwofoldProvider>,
  );
}

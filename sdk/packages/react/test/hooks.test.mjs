// The hooks rendered with React Testing Library in jsdom, against a real `twofold serve`:
// register an app, its first code, a guarded change refused then allowed after a second
// factor, recovery codes, the device list, deleting a device.
import "global-jsdom/register";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createElement } from "react";
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { createTwofoldClient } from "@twofold/client";
import {
  TwofoldProvider,
  useAuthenticateTotpMfaDevice,
  useDeleteMfaDevice,
  useMfaDevices,
  useRecoveryCodes,
  useRegisterTotpMfaDevice,
} from "../dist/index.js";
import { PASSWORD, startServer, totp } from "../../../scripts/server.mjs";

// React's act() warnings need this in a non-Jest environment.
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  cleanup();
  await server.stop();
});

test("seed 004's hooks, from registering an app to deleting it", async () => {
  const username = server.user();
  const client = createTwofoldClient({ baseUrl: server.url });
  await client.signIn({ org: "acme", username, password: PASSWORD });
  const wrapper = ({ children }) => createElement(TwofoldProvider, { client }, children);
  const { result } = renderHook(
    () => ({
      register: useRegisterTotpMfaDevice(),
      authenticate: useAuthenticateTotpMfaDevice(),
      devices: useMfaDevices(),
      remove: useDeleteMfaDevice(),
      recovery: useRecoveryCodes(),
    }),
    { wrapper },
  );
  await waitFor(() => assert.ok(result.current.devices.isSuccess));
  assert.deepEqual(result.current.devices.data, []);

  // The first app waits for a code mailed to the user.
  act(() => result.current.register.mutate());
  await waitFor(() => assert.ok(result.current.register.isSuccess));
  assert.equal(result.current.register.data.status, "confirmation_required");
  const mailed = await server.mailedCode(username, "Your code to add an authenticator app");
  act(() => result.current.register.mutate({ name: "Phone", confirmationCode: mailed }));
  await waitFor(() => assert.equal(result.current.register.data?.status, "registered"));
  const { id, secret, uri } = result.current.register.data;
  assert.match(uri, /^otpauth:\/\/totp\//);

  // A wrong first code is an error the component can show; the right one activates it.
  act(() => result.current.authenticate.mutate({ code: "000000" }));
  await waitFor(() => assert.ok(result.current.authenticate.isError));
  assert.equal(result.current.authenticate.error.code, "invalid_code");
  act(() => result.current.authenticate.mutate({ code: totp(secret, -1) }));
  await waitFor(() => assert.ok(result.current.authenticate.isSuccess));
  assert.equal(result.current.authenticate.data.kind, "device_activated");
  await act(() => result.current.devices.refetch());
  assert.deepEqual(
    result.current.devices.data.map((d) => [d.id, d.status]),
    [[id, "active"]],
  );

  // New recovery codes need a fresh second factor: refused, then made after one.
  act(() => result.current.recovery.mutate());
  await waitFor(() => assert.ok(result.current.recovery.isError));
  assert.equal(result.current.recovery.error.code, "step_up_required");
  act(() => result.current.authenticate.mutate({ code: totp(secret, 0) }));
  await waitFor(() => assert.equal(result.current.authenticate.data?.kind, "session"));
  act(() => result.current.recovery.mutate());
  await waitFor(() => assert.ok(result.current.recovery.isSuccess));
  assert.equal(result.current.recovery.data.length, 10);
  await waitFor(() => assert.equal(result.current.recovery.status.data?.remaining, 10));

  // Delete the device with a current code from it.
  act(() => result.current.remove.mutate({ deviceId: id, code: totp(secret, 1) }));
  await waitFor(() => assert.ok(result.current.remove.isSuccess));
  await act(() => result.current.devices.refetch());
  assert.deepEqual(result.current.devices.data, []);
});

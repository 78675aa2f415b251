// @twofold/react: hooks over @twofold/client, in seed 004's shape: each returns
// `{mutate, data, error, isPending, isSuccess}` (mutations) or `{data, error, isPending,
// isSuccess, refetch}` (reads), with the client from a <TwofoldProvider>.
import {
  type ReactNode,
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from "react";
import type {
  AuthenticateResult,
  MfaDevice,
  RecoveryCodesStatus,
  TotpRegistration,
  TwofoldClient,
  TwofoldError,
} from "@twofold/client";

const ClientContext = createContext<TwofoldClient | null>(null);

/** Makes `client` the one the hooks below use. */
export function TwofoldProvider(props: { client: TwofoldClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

/** The client of the nearest <TwofoldProvider>. */
export function useTwofoldClient(): TwofoldClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("wrap the component in <TwofoldProvider client={…}>");
  return client;
}

export interface MutationResult<I, T> {
  /** Runs it; the outcome lands in `data` or `error` (never thrown). */
  mutate: (input: I) => void;
  /** Runs it and answers (or throws) the outcome too. */
  mutateAsync: (input: I) => Promise<T>;
  data: T | undefined;
  error: TwofoldError | Error | null;
  isPending: boolean;
  isSuccess: boolean;
  isError: boolean;
  reset: () => void;
}

interface State<T> {
  data: T | undefined;
  error: TwofoldError | Error | null;
  status: "idle" | "pending" | "success" | "error";
}

const IDLE = { data: undefined, error: null, status: "idle" } as const;

/** One client call as a mutation. */
export function useMutation<I, T>(
  run: (client: TwofoldClient, input: I) => Promise<T>,
): MutationResult<I, T> {
  const client = useTwofoldClient();
  const [state, setState] = useState<State<T>>(IDLE);
  const latest = useRef(run);
  latest.current = run;
  // Only the newest call's outcome is shown: an older one finishing late (a code
  // submitted twice) must not overwrite it.
  const calls = useRef(0);
  const mutateAsync = useCallback(
    async (input: I) => {
      const call = ++calls.current;
      setState((s) => ({ ...s, status: "pending", error: null }));
      try {
        const data = await latest.current(client, input);
        if (call === calls.current) setState({ data, error: null, status: "success" });
        return data;
      } catch (e) {
        if (call === calls.current) setState({ data: undefined, error: e as Error, status: "error" });
        throw e;
      }
    },
    [client],
  );
  const mutate = useCallback(
    (input: I) => {
      mutateAsync(input).catch(() => {});
    },
    [mutateAsync],
  );
  return {
    mutate,
    mutateAsync,
    data: state.data,
    error: state.error,
    isPending: state.status === "pending",
    isSuccess: state.status === "success",
    isError: state.status === "error",
    reset: useCallback(() => setState(IDLE), []),
  };
}

export interface QueryResult<T> {
  data: T | undefined;
  error: TwofoldError | Error | null;
  isPending: boolean;
  isSuccess: boolean;
  isError: boolean;
  /** Reads it again. */
  refetch: () => Promise<void>;
}

/** One client read, done on mount and by `refetch`. */
export function useQuery<T>(read: (client: TwofoldClient) => Promise<T>): QueryResult<T> {
  const client = useTwofoldClient();
  const [state, setState] = useState<State<T>>({ data: undefined, error: null, status: "pending" });
  const latest = useRef(read);
  latest.current = read;
  const calls = useRef(0);
  const refetch = useCallback(async () => {
    const call = ++calls.current;
    setState((s) => ({ ...s, status: "pending" }));
    try {
      const data = await latest.current(client);
      if (call === calls.current) setState({ data, error: null, status: "success" });
    } catch (e) {
      if (call === calls.current) setState({ data: undefined, error: e as Error, status: "error" });
    }
  }, [client]);
  useEffect(() => {
    void refetch();
  }, [refetch]);
  return {
    data: state.data,
    error: state.error,
    isPending: state.status === "pending",
    isSuccess: state.status === "success",
    isError: state.status === "error",
    refetch,
  };
}

type Args<F> = F extends (input: infer I) => unknown ? I : never;

/** `registerTotpMfaDevice`: `data` holds the URI and secret (or `confirmation_required`). */
export function useRegisterTotpMfaDevice() {
  return useMutation<Args<TwofoldClient["registerTotpMfaDevice"]> | void, TotpRegistration>(
    (c, input) => c.registerTotpMfaDevice(input ?? {}),
  );
}

/** `authenticateTotpMfaDevice`: a first code, a sign-in's second step, or a step-up. */
export function useAuthenticateTotpMfaDevice() {
  return useMutation<Args<TwofoldClient["authenticateTotpMfaDevice"]>, AuthenticateResult>(
    (c, input) => c.authenticateTotpMfaDevice(input),
  );
}

/** The user's devices, read on mount. */
export function useMfaDevices(): QueryResult<MfaDevice[]> {
  return useQuery((c) => c.getMfaDevices());
}

/** `deleteMfaDevice`, with an MFA token or a code from the device. */
export function useDeleteMfaDevice() {
  return useMutation<Args<TwofoldClient["deleteMfaDevice"]>, void>((c, input) =>
    c.deleteMfaDevice(input),
  );
}

/** Recovery codes: `mutate()` makes a new set (in `data`), `status` reads how many are left. */
export function useRecoveryCodes(): MutationResult<void, string[]> & {
  status: QueryResult<RecoveryCodesStatus>;
} {
  const status = useQuery((c) => c.getRecoveryCodesStatus());
  const create = useMutation<void, string[]>(async (c) => {
    const codes = await c.createRecoveryCodes();
    await status.refetch();
    return codes;
  });
  return { ...create, status };
}

import { Interface, isError, type ErrorDescription, type InterfaceAbi } from "ethers";
import * as typechain from "../../typechain-types";

/** Every failure the SDK reports: a one-line, human-readable reason plus a stable code for scripts. */
export class ZgError extends Error {
  constructor(
    message: string,
    readonly code: ZgErrorCode = "ZG_ERROR",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ZgError";
  }
}

export type ZgErrorCode =
  | "ZG_ERROR"
  | "BAD_INPUT"
  | "BAD_CONFIG"
  | "NOT_FOUND"
  | "MODULE_ABSENT"
  | "REVERTED"
  | "INSUFFICIENT_FUNDS"
  | "NETWORK"
  | "KEYSTORE";

let knownErrors: Interface | undefined;

/** One interface holding the custom errors of every contract in the project, so any revert decodes. */
function errorInterface(): Interface {
  if (knownErrors) return knownErrors;
  const seen = new Set<string>();
  const fragments: InterfaceAbi[number][] = [];
  for (const [exportName, factory] of Object.entries(typechain)) {
    if (!exportName.endsWith("__factory")) continue;
    const abi = (factory as { abi?: readonly { type: string }[] }).abi ?? [];
    for (const fragment of abi) {
      if (fragment.type !== "error") continue;
      const key = JSON.stringify(fragment);
      if (seen.has(key)) continue;
      seen.add(key);
      fragments.push(fragment as InterfaceAbi[number]);
    }
  }
  knownErrors = new Interface(fragments as InterfaceAbi);
  return knownErrors;
}

/** Decodes revert data of any project contract into `Name(arg: value, …)`, or undefined when unknown. */
export function decodeRevertData(data: string | null | undefined): string | undefined {
  if (!data || data === "0x") return undefined;
  let parsed: ErrorDescription | null = null;
  try {
    parsed = errorInterface().parseError(data);
  } catch {
    parsed = null;
  }
  if (!parsed) return undefined;
  const args = parsed.fragment.inputs.map((input, i) => `${input.name || i}: ${String(parsed.args[i])}`);
  return `${parsed.name}(${args.join(", ")})`;
}

/** Turns anything a chain call can throw into a ZgError with a one-line reason. */
export function toZgError(error: unknown, action?: string): ZgError {
  if (error instanceof ZgError) return error;
  const prefix = action ? `${action}: ` : "";
  if (isError(error, "CALL_EXCEPTION")) {
    const decoded = decodeRevertData(error.data) ?? error.revert?.name;
    const reason = decoded ?? error.reason ?? "reverted without a reason";
    return new ZgError(`${prefix}reverted with ${reason}`, "REVERTED", { cause: error });
  }
  if (isError(error, "INSUFFICIENT_FUNDS")) {
    return insufficientFunds(prefix, error);
  }
  // Hardhat's in-process network throws its own error, not ethers' CALL_EXCEPTION, with the revert data.
  const data = (error as { data?: unknown } | null)?.data;
  const decoded = typeof data === "string" ? decodeRevertData(data) : undefined;
  if (decoded) return new ZgError(`${prefix}reverted with ${decoded}`, "REVERTED", { cause: error });
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isConnectionRefused(error)) {
    return new ZgError(`${prefix}cannot reach the RPC endpoint (${firstLine(error)})`, "NETWORK", {
      cause: error,
    });
  }
  // Hardhat's node reports estimation failures of unfunded accounts as a plain JSON-RPC error, which ethers
  // wraps as UNKNOWN_ERROR "could not coalesce error": the node's own message is the one that says why.
  const rpcMessage = isError(error, "UNKNOWN_ERROR")
    ? (error as { error?: { message?: unknown } }).error?.message
    : undefined;
  const text = typeof rpcMessage === "string" ? firstLine(rpcMessage) : firstLine(error);
  if (/insufficient funds|doesn't have enough funds/i.test(text)) {
    return insufficientFunds(prefix, error);
  }
  return new ZgError(`${prefix}${text}`, "ZG_ERROR", { cause: error });
}

function insufficientFunds(prefix: string, error: unknown): ZgError {
  return new ZgError(
    `${prefix}the account cannot pay for this transaction (insufficient funds)`,
    "INSUFFICIENT_FUNDS",
    {
      cause: error,
    },
  );
}

function isConnectionRefused(error: unknown): boolean {
  const text = String((error as { message?: unknown })?.message ?? error);
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|fetch failed|socket hang up/.test(text);
}

/** The first line of an error message, without ethers' long diagnostic tail. */
export function firstLine(error: unknown): string {
  const message =
    error instanceof Error
      ? ((error as { shortMessage?: string }).shortMessage ?? error.message)
      : String(error);
  return message
    .split("\n")[0]
    .replace(/\s*\(action=.*$/, "")
    .trim();
}

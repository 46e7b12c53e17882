import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { isHexString } from "ethers";
import { ZgChain } from "../offchain/core/chain";
import { firstLine, ZgError } from "../offchain/core/errors";
import { parseAddress } from "../offchain/core/cli/inputs";

// What mint-inft.ts and transfer-inft.ts share: parameters from the environment, a ZgChain for the network
// `hardhat run --network <n>` names, and one-line failures with exit code 1.

/** An environment variable that must be set (an empty value counts as unset). */
export function required(name: string, hint: string): string {
  const value = optional(name);
  if (value === undefined) throw new ZgError(`${name} is not set: ${hint}`, "BAD_INPUT");
  return value;
}

export function optional(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

/** A comma-separated list, trimmed; empty items are refused. */
export function list(name: string, value: string): string[] {
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === ""))
    throw new ZgError(`${name} has an empty item: '${value}'`, "BAD_INPUT");
  return items;
}

export function address(name: string): string | undefined {
  const value = optional(name);
  return value === undefined ? undefined : parseAddress(value, name);
}

export function requiredAddress(name: string, hint: string): string {
  return parseAddress(required(name, hint), name);
}

export function tokenId(name: string): bigint {
  const value = required(name, "the agent's token id");
  if (!/^\d{1,78}$/.test(value)) throw new ZgError(`${name} '${value}' is not a token id`, "BAD_INPUT");
  return BigInt(value);
}

/** A 32-byte private key, with or without 0x (never echoed back in errors). */
export function privateKey(name: string, hint: string): string {
  const raw = required(name, hint);
  const key = raw.startsWith("0x") ? raw : `0x${raw}`;
  if (!isHexString(key, 32)) throw new ZgError(`${name} is not a 32-byte hex private key`, "BAD_INPUT");
  return key;
}

const open: ZgChain[] = [];

/**
 * Connects to the network `hardhat run --network <n>` names, with `key`: the registry from ZG_REGISTRY, else
 * the deployment record of the chain. The in-process `hardhat` network has no deployment another process sees.
 */
export async function connect(hre: HardhatRuntimeEnvironment, key: string): Promise<ZgChain> {
  const config = hre.network.config as { url?: string; chainId?: number };
  if (hre.network.name === "hardhat" || !config.url) {
    throw new ZgError(
      `network '${hre.network.name}' has no RPC URL: run with --network localhost against a running devnet (zg devnet)`,
      "BAD_CONFIG",
    );
  }
  const chain = await ZgChain.connect({
    network: hre.network.name,
    rpcUrl: config.url,
    expectedChainId: config.chainId,
    registry: address("ZG_REGISTRY"),
    key: { kind: "privateKey", privateKey: key },
  });
  open.push(chain);
  return chain;
}

/** Runs a script's body: any failure is one line on stderr and exit code 1; the chains are closed either way. */
export function run(script: string, body: () => Promise<void>): void {
  body()
    .catch((error: unknown) => {
      process.stderr.write(`${script}: ${firstLine(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      for (const chain of open.splice(0)) chain.destroy();
    });
}

/** Prints a result: one JSON document with INFT_JSON=1, else the human lines. */
export function print(value: unknown, human: string[]): void {
  if (optional("INFT_JSON") === "1") {
    const replacer = (_key: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
    process.stdout.write(`${JSON.stringify(value, replacer, 2)}\n`);
  } else {
    process.stdout.write(`${human.join("\n")}\n`);
  }
}

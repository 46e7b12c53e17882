import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { isHexString } from "ethers";
import { z, type ZodError, type ZodTypeAny } from "zod";
import { ZgError } from "./errors";
import { addressSchema } from "./schemas";
import { isKeyName } from "./keys";

/** Networks known by name. Any other EVM chain is reached with `--rpc <url>` (or `ZG_RPC_URL`). */
export const NETWORKS = {
  localhost: { rpcUrl: "http://127.0.0.1:8545", chainId: 31337 },
  galileo: { rpcUrl: "https://evmrpc-testnet.0g.ai", chainId: 16602 },
} as const;
export type NetworkName = keyof typeof NETWORKS;

export const privateKeySchema = z
  .string()
  .transform((value) => (value.startsWith("0x") ? value : `0x${value}`))
  .refine((value) => isHexString(value, 32), { message: "is not a 32-byte hex private key" });
const urlSchema = z.string().refine((value) => /^(https?|wss?):\/\/[^\s]+$/.test(value), {
  message: "is not an http(s) or ws(s) URL",
});

/** What every chain client needs: where the chain is, where the registry is, which key signs. */
export const chainConfigSchema = z
  .object({
    network: z.string().optional(),
    rpcUrl: urlSchema.optional(),
    registry: addressSchema.optional(),
    privateKey: privateKeySchema.optional(),
    keystore: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
  })
  .strict();
export type ChainConfigInput = z.input<typeof chainConfigSchema>;

/** Where a signing key comes from. */
export type KeySource =
  { kind: "privateKey"; privateKey: string } | { kind: "keystore"; keystore: string; passwordFile?: string };

export interface ChainConfig {
  network: string;
  rpcUrl: string;
  /** The chain id the network is expected to have, when it is a named network. */
  expectedChainId?: number;
  registry?: string;
  key?: KeySource;
}

/** Reads a JSON config file; `undefined` path means "the default file if present". */
export function readConfigFile(file: string | undefined): Record<string, unknown> {
  const target = file ?? (existsSync("zg.config.json") ? "zg.config.json" : undefined);
  if (!target) return {};
  if (!existsSync(target)) throw new ZgError(`config file ${target} does not exist`, "BAD_CONFIG");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(target, "utf8"));
  } catch (error) {
    throw new ZgError(`config file ${target} is not valid JSON: ${(error as Error).message}`, "BAD_CONFIG");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ZgError(`config file ${target} must hold a JSON object`, "BAD_CONFIG");
  }
  // Relative paths inside a config file are relative to the file, not to the working directory.
  return { ...(parsed as Record<string, unknown>), __dir: path.dirname(path.resolve(target)) };
}

/** Validates `input` against `schema`, turning the first problem into a one-line error. */
export function validate<S extends ZodTypeAny>(
  schema: S,
  input: unknown,
  source: string,
  code: "BAD_CONFIG" | "BAD_INPUT" = "BAD_CONFIG",
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ZgError(`${source}: ${describeIssue(result.error)}`, code);
}

/** The first issue of a failed validation, as one line naming the field (`missing required field 'x'`). */
export function describeIssue(error: ZodError): string {
  const issue = error.issues[0];
  // A rule over the whole input (a refinement with no path) speaks for itself.
  if (issue.code === "custom" && issue.path.length === 0) return issue.message;
  const where = issue.path.join(".") || "(root)";
  if (issue.code === "unrecognized_keys")
    return `unknown field ${issue.keys.map((k) => `'${[...issue.path, k].join(".")}'`).join(", ")}`;
  if (issue.code === "invalid_type" && issue.received === "undefined")
    return `missing required field '${where}'`;
  return `field '${where}' ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`;
}

/** The environment variables the SDK reads, mapped onto config fields. */
export function chainConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ChainConfigInput {
  // An empty variable counts as unset, as shells make it easy to set one to "".
  return dropEmpty({
    network: env.ZG_NETWORK,
    rpcUrl: env.ZG_RPC_URL,
    registry: env.ZG_REGISTRY,
    privateKey: env.ZG_PRIVATE_KEY,
    keystore: env.ZG_KEYSTORE,
    passwordFile: env.ZG_PASSWORD_FILE,
  });
}

/**
 * Merges, in rising precedence, a config file, the environment and command-line flags, then validates.
 * A named network supplies the RPC URL unless one is given.
 */
export function resolveChainConfig(layers: {
  file?: Record<string, unknown>;
  env?: ChainConfigInput;
  flags?: ChainConfigInput;
}): ChainConfig {
  const { __dir: fileDir, ...fileFields } = layers.file ?? {};
  const fileChain = pick(fileFields, Object.keys(chainConfigSchema.shape));
  const fromFile = validate(chainConfigSchema, fileChain, "config file");
  if (typeof fileDir === "string") {
    for (const field of ["keystore", "passwordFile"] as const) {
      const value = fromFile[field];
      // A keystore given by name lives in the zg home wherever the config file is; only paths move.
      if (value && !(field === "keystore" && isKeyName(value)))
        fromFile[field] = path.resolve(fileDir, value);
    }
  }
  const fromEnv = validate(chainConfigSchema, dropUndefined(layers.env ?? {}), "environment");
  const fromFlags = validate(chainConfigSchema, dropUndefined(layers.flags ?? {}), "options");
  const merged = { ...fromFile, ...fromEnv, ...fromFlags };

  let rpcUrl = merged.rpcUrl;
  let network = merged.network;
  let expectedChainId: number | undefined;
  if (network !== undefined) {
    if (!Object.hasOwn(NETWORKS, network)) {
      throw new ZgError(
        `unknown network '${network}' (known: ${Object.keys(NETWORKS).join(", ")}; for any other chain pass --rpc <url>)`,
        "BAD_CONFIG",
      );
    }
    const known = NETWORKS[network as NetworkName];
    expectedChainId = known.chainId;
    // An explicit RPC URL for a named network points at another endpoint of the same chain.
    rpcUrl ??= known.rpcUrl;
  } else if (rpcUrl === undefined) {
    network = "localhost";
    rpcUrl = NETWORKS.localhost.rpcUrl;
    expectedChainId = NETWORKS.localhost.chainId;
  } else {
    network = "custom";
  }

  // The most specific layer that names a key wins, whichever kind of key it names.
  const keyLayer = [fromFlags, fromEnv, fromFile].find((layer) => layer.privateKey || layer.keystore);
  let key: KeySource | undefined;
  if (keyLayer?.privateKey && keyLayer.keystore) {
    throw new ZgError("give either a private key or a keystore, not both", "BAD_CONFIG");
  } else if (keyLayer?.privateKey) {
    key = { kind: "privateKey", privateKey: keyLayer.privateKey };
  } else if (keyLayer?.keystore) {
    key = { kind: "keystore", keystore: keyLayer.keystore, passwordFile: merged.passwordFile };
  }
  return { network: network ?? "custom", rpcUrl: rpcUrl!, expectedChainId, registry: merged.registry, key };
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([key]) => keys.includes(key)));
}

function dropEmpty<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as T;
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

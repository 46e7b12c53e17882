import { spawn, type ChildProcess } from "node:child_process";
import { ZgError } from "../core/errors";
import { packageRoot } from "../core/paths";
import type { DeploymentRecord } from "../core/deployments";

/** The command line that runs this checkout's Hardhat CLI with the current Node. */
export function hardhatArgs(args: string[], nodeFlags: string[] = []): [string, string[]] {
  return [
    process.execPath,
    [...nodeFlags, require.resolve("hardhat/internal/cli/cli", { paths: [packageRoot()] }), ...args],
  ];
}

/** Starts a Hardhat process in the checkout (stdout and stderr piped). */
export function spawnHardhat(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [command, argv] = hardhatArgs(args);
  return spawn(command, argv, {
    cwd: packageRoot(),
    env: { ...process.env, REPORT_GAS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface DeployRequest {
  /** A Hardhat network name: localhost, galileo or custom (the last needs ZG_RPC_URL). */
  network: string;
  profile: string;
  /** The deployer's key; without one, the node's first unlocked account deploys (local networks). */
  privateKey?: string;
  rpcUrl?: string;
  out?: string;
}

/** Deploys a profile through Hardhat Ignition (the `zg:deploy` task) and returns the deployment record. */
export async function deployWithHardhat(request: DeployRequest): Promise<DeploymentRecord> {
  const env: NodeJS.ProcessEnv = {};
  if (request.privateKey) env.ZG_PRIVATE_KEY = request.privateKey;
  if (request.rpcUrl && request.network === "custom") env.ZG_RPC_URL = request.rpcUrl;
  if (request.rpcUrl && request.network === "localhost") env.ZG_LOCAL_RPC_URL = request.rpcUrl;
  if (request.rpcUrl && request.network === "galileo") env.ZG_GALILEO_RPC_URL = request.rpcUrl;
  const args = ["--network", request.network, "zg:deploy", "--profile", request.profile];
  if (request.out) args.push("--out", request.out);
  const child = spawnHardhat(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const line = stdout.split("\n").find((candidate) => candidate.startsWith('{"deployment"'));
  if (code !== 0 || !line) {
    throw new ZgError(`deployment failed: ${deployFailureReason(stderr || stdout)}`, "ZG_ERROR");
  }
  const { deployment: _marker, ...record } = JSON.parse(line) as DeploymentRecord & { deployment: true };
  return record;
}

/** The most telling line of Hardhat's error output. */
function deployFailureReason(output: string): string {
  const lines = output
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const telling =
    lines.find((line) =>
      /^(ZgError|Error HH\d+|HardhatError|IgnitionError|ProviderError|Error):/.test(line),
    ) ??
    lines.find((line) => /error/i.test(line)) ??
    lines[0] ??
    "unknown error";
  return telling.replace(/^(ZgError|Error|HardhatError|IgnitionError): /, "");
}

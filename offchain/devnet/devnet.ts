import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { formatEther, HDNodeWallet } from "ethers";
import { probeChainId, ZgChain } from "../core/chain";
import { NETWORKS } from "../core/config";
import type { DeploymentRecord } from "../core/deployments";
import { ZgError, firstLine } from "../core/errors";
import { packageRoot } from "../core/paths";
import { loadProfile } from "../core/profiles";
import { ROLES, StakingClient, type RoleName } from "../staking/client";
import { runDemo } from "./demo";
import { deployWithHardhat, hardhatArgs } from "./hardhat";
import { Supervisor } from "./supervisor";

/** Hardhat's well-known development mnemonic: the devnet's accounts are funded with it. Never use it elsewhere. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevnetOptions {
  profile: string;
  port: string;
  dataDir: string;
  demo: boolean;
  exitAfterDemo: boolean;
  json: boolean;
}

/** A devnet account: index 0 is governance and deployer, the next ones are operators. */
export function devAccount(index: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
}

export interface DevnetOperator {
  role: RoleName;
  address: string;
  privateKey: string;
  bonded: string;
}

export interface DevnetWorker {
  name: string;
  kind: string;
  url: string;
  health: string;
  metrics: string;
  log: string;
}

export interface DevnetState {
  rpcUrl: string;
  chainId: number;
  dataDir: string;
  deployment: DeploymentRecord;
  operators: DevnetOperator[];
  workers: DevnetWorker[];
}

/**
 * `zg devnet`: a local chain, a deployment of the profile, staked operators and every worker of the
 * deployed modules, each a supervised child process with its own data directory and log file.
 */
export async function runDevnet(options: DevnetOptions): Promise<void> {
  loadProfile(options.profile);
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ZgError(`port '${options.port}' is not a TCP port`, "BAD_INPUT");
  if (!(await portFree(port)))
    throw new ZgError(`port ${port} on 127.0.0.1 is in use (another devnet?): pass --port`, "BAD_INPUT");
  const dataDir = path.resolve(options.dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const say = (message: string) => {
    if (!options.json) process.stdout.write(`${message}\n`);
  };

  let fatal: ((reason: string) => void) | undefined;
  const failure = new Promise<string>((resolve) => (fatal = resolve));
  const supervisor = new Supervisor(say, (reason) => fatal?.(reason));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    say("stopping the devnet…");
    await supervisor.stopAll();
  };

  try {
    const rpcUrl = `http://127.0.0.1:${port}`;
    say(`starting the local chain on ${rpcUrl}…`);
    const [command, args] = hardhatArgs(["node", "--hostname", "127.0.0.1", "--port", String(port)]);
    supervisor.start({
      name: "chain",
      command,
      args,
      cwd: packageRoot(),
      // A block every half second besides automining, so that challenge epochs advance without traffic.
      env: { ...process.env, REPORT_GAS: "0", ZG_BLOCK_INTERVAL_MS: "500" },
      logFile: path.join(dataDir, "chain.log"),
      restart: false,
    });
    const chainId = await Promise.race([
      waitForRpc(rpcUrl),
      failure.then((reason) => Promise.reject(new ZgError(reason))),
    ]);

    say(`deploying profile ${options.profile}…`);
    const deployment = await deployWithHardhat({ network: "localhost", profile: options.profile, rpcUrl });
    const operators = await stakeOperators(rpcUrl, deployment);
    const workers = await startWorkers(supervisor, dataDir, rpcUrl, deployment, operators);
    const state: DevnetState = { rpcUrl, chainId, dataDir, deployment, operators, workers };
    printState(state, options.json);

    let demoFailed = false;
    if (options.demo) {
      // The demo's users are devnet accounts: their client state (vouchers, receipts) lives with the devnet.
      process.env.ZG_HOME = path.join(dataDir, "home");
      demoFailed = !(await runDemo(state, say, {
        stopWorker: (name) => supervisor.stop(name),
        resumeWorker: async (name) => {
          supervisor.resume(name);
          const worker = state.workers.find((w) => w.name === name);
          if (worker) await waitForHttp(worker.health, worker.log);
        },
      }));
    }
    if (options.exitAfterDemo) {
      await stop();
      if (demoFailed) throw new ZgError("the demo failed (see above and the logs in " + dataDir + ")");
      return;
    }
    say("the devnet is running: Ctrl-C stops everything");
    const reason = await Promise.race([
      failure,
      new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve(""));
        process.once("SIGTERM", () => resolve(""));
      }),
    ]);
    await stop();
    if (reason) throw new ZgError(reason);
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Storage nodes of the devnet: four quarter shards and two half shards, so 4+2 parity survives any two losses. */
const STORAGE_NODES: { shard: { shardId: number; numShard: number }; region: string }[] = [
  { shard: { shardId: 0, numShard: 4 }, region: "eu" },
  { shard: { shardId: 1, numShard: 4 }, region: "eu" },
  { shard: { shardId: 2, numShard: 4 }, region: "eu" },
  { shard: { shardId: 3, numShard: 4 }, region: "us" },
  { shard: { shardId: 0, numShard: 2 }, region: "us" },
  { shard: { shardId: 1, numShard: 2 }, region: "us" },
];

/** Devnet accounts 1–5 serve one role each (PROVIDER's also serves ORACLE); storage nodes beyond the first get accounts from 6 on. */
function operatorPlan(): { role: RoleName; index: number }[] {
  // The inference oracle is also the ERC-7857 oracle: one account serves both PROVIDER and ORACLE.
  const plan = ROLES.map((role, i) => ({
    role,
    index: role === "ORACLE" ? ROLES.indexOf("PROVIDER") + 1 : i + 1,
  }));
  for (let n = 1; n < STORAGE_NODES.length; n++) plan.push({ role: "STORAGE", index: ROLES.length + n });
  return plan;
}

/** A connection to the devnet's chain and deployment, signing with `privateKey`. */
export function connectDevnet(rpcUrl: string, registry: string, privateKey: string): Promise<ZgChain> {
  return ZgChain.connect({
    network: "localhost",
    rpcUrl,
    expectedChainId: NETWORKS.localhost.chainId,
    registry,
    key: { kind: "privateKey", privateKey },
  });
}

/** Funds nothing (the devnet's accounts start funded) but stakes every planned operator, as the profile allows. */
async function stakeOperators(rpcUrl: string, deployment: DeploymentRecord): Promise<DevnetOperator[]> {
  if (!deployment.modules.NodeStaking) return [];
  const connect = (index: number) => connectDevnet(rpcUrl, deployment.registry, devAccount(index).privateKey);
  const governance = await connect(0);
  const governanceStaking = await StakingClient.connect(governance);
  const operators: DevnetOperator[] = [];
  try {
    for (const { role, index } of operatorPlan()) {
      const account = devAccount(index);
      const chain = await connect(index);
      try {
        const staking = await StakingClient.connect(chain);
        if (staking.mode === "permissioned") {
          await governanceStaking.setAdmitted(account.address, role, true);
          await staking.deposit(role, 0n);
        } else {
          await staking.deposit(role, await staking.minStake(role));
        }
        const status = await staking.status(account.address, role);
        operators.push({
          role,
          address: account.address,
          privateKey: account.privateKey,
          bonded: formatEther(status.bonded),
        });
      } finally {
        chain.destroy();
      }
    }
  } finally {
    governance.destroy();
  }
  return operators;
}

/** Starts the workers of the deployed modules; later modules add theirs here. */
async function startWorkers(
  supervisor: Supervisor,
  dataDir: string,
  rpcUrl: string,
  deployment: DeploymentRecord,
  operators: DevnetOperator[],
): Promise<DevnetWorker[]> {
  const workers: DevnetWorker[] = [];
  const launch = async (
    name: string,
    kind: string,
    extra: (port: number) => Record<string, unknown> = () => ({}),
  ) => {
    const dir = path.join(dataDir, name);
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const config = {
      rpcUrl,
      registry: deployment.registry,
      dataDir: "data",
      http: { host: "127.0.0.1", port },
      confirmations: 0,
      pollIntervalMs: 250,
      ...extra(port),
    };
    const configFile = path.join(dir, "config.json");
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const logFile = path.join(dir, "worker.log");
    supervisor.start({
      name,
      command: process.execPath,
      args: [path.join(packageRoot(), "bin", "zg.js"), "node", kind, "--config", configFile],
      cwd: dir,
      env: workerEnv(),
      logFile,
      restart: true,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/health`, logFile);
    workers.push({
      name,
      kind,
      url: base,
      health: `${base}/health`,
      metrics: `${base}/metrics`,
      log: logFile,
    });
  };
  if (deployment.modules.NodeStaking) await launch("watcher", "watcher");
  if (deployment.modules.Flow && deployment.modules.NodeStaking) {
    const storageOperators = operators.filter((operator) => operator.role === "STORAGE");
    for (const [n, node] of STORAGE_NODES.entries()) {
      await launch(`storage-${n}`, "storage", (port) => ({
        privateKey: storageOperators[n].privateKey,
        shard: node.shard,
        region: node.region,
        publicUrl: `http://127.0.0.1:${port}`,
      }));
    }
  }
  const provider = operators.find((operator) => operator.role === "PROVIDER");
  if (deployment.modules.InferenceServing && provider) {
    // Paid when a ledger can carry the payments, free otherwise (the no-token profile).
    const paid = Boolean(deployment.modules.ServingLedger);
    await launch("oracle", "oracle", (port) => ({
      privateKey: provider.privateKey,
      engine: "builtin",
      service: {
        publicUrl: `http://127.0.0.1:${port}`,
        inputPrice: paid ? "1000000000" : "0",
        outputPrice: paid ? "3000000000" : "0",
        region: "eu",
      },
      settleIntervalMs: 2_000,
      settleCheckMs: 500,
    }));
  }
  return workers;
}

/** Workers get the caller's environment without its ZG_* settings: their config file says everything. */
function workerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
}

const WORKER_APIS: Record<string, string> = {
  storage: ", 0G storage JSON-RPC",
  oracle: ", OpenAI-compatible /v1",
};

function printState(state: DevnetState, json: boolean): void {
  if (json) {
    const { operators, ...rest } = state;
    process.stdout.write(
      `${JSON.stringify({ ...rest, operators: operators.map(({ privateKey: _secret, ...o }) => o) }, null, 2)}\n`,
    );
    return;
  }
  const lines = [
    "",
    `zerog-stack devnet is up (profile ${state.deployment.profile})`,
    `  chain       ${state.rpcUrl}  (chain ${state.chainId}; log ${path.join(state.dataDir, "chain.log")})`,
    `  registry    ${state.deployment.registry}`,
    ...Object.entries(state.deployment.modules).map(
      ([name, m]) => `  module      ${name.padEnd(14)} ${m.address}  v${m.version}`,
    ),
    ...state.operators.map((o) => `  operator    ${o.role.padEnd(14)} ${o.address}  bonded ${o.bonded}`),
    ...state.workers.map(
      (w) =>
        `  worker      ${w.name.padEnd(14)} ${w.url}  (/health, /metrics${WORKER_APIS[w.kind] ?? ""}; log ${w.log})`,
    ),
    `  governance  ${devAccount(0).address} (devnet account 0; key in Hardhat's development mnemonic)`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function waitForRpc(rpcUrl: string, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probeChainId(rpcUrl);
    } catch (error) {
      if (Date.now() > deadline)
        throw new ZgError(`the local chain did not start: ${firstLine(error)}`, "NETWORK");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Waits until `url` answers 200 (a worker's /health); the error points at its log file when there is one. */
export async function waitForHttp(url: string, logFile?: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new ZgError(`${url} did not come up${logFile ? `; see ${logFile}` : ""}`, "NETWORK");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import path from "node:path";
import { probeChainId } from "../core/chain";
import { NETWORKS } from "../core/config";
import { deploymentFile, deploymentsDir, readDeployment, type DeploymentRecord } from "../core/deployments";
import { ZgError, firstLine } from "../core/errors";
import type {
  DevnetOperator,
  DevnetPlanContext,
  DevnetState,
  DevnetWorker,
  DevnetWorkerPlan,
  ModuleManifest,
} from "../core/module";
import { packageRoot } from "../core/paths";
import { MODULES } from "../modules";
import { loadProfile, profileModules } from "../profiles";
import { connectDevnet, devAccount, DEVNET_USER } from "./accounts";
import { runDemo } from "./demo";
import { hardhatArgs } from "./hardhat";
import { Supervisor } from "./supervisor";

export interface DevnetOptions {
  profile: string;
  port: string;
  dataDir: string;
  demo: boolean;
  exitAfterDemo: boolean;
  json: boolean;
}

/**
 * Node flags of the devnet's processes: a young generation of 1 MiB semi-spaces instead of 16, and one V8 helper
 * thread instead of four, keep each of its ten processes 15–40 MiB smaller for a little more scavenging (the
 * `devnet` benchmark measures the whole tree). `npm start` gives the devnet's own process the same flags.
 */
export const DEVNET_NODE_FLAGS = ["--max-semi-space-size=1", "--v8-pool-size=1"];

/**
 * The `limits` of every devnet worker. The devnet's clients (the CLI, the demo, the SDK, workers calling
 * workers) all come from 127.0.0.1, which the per-client limits count as one client: its rate and connection cap
 * are raised tenfold and fourfold. Timeouts, the total connection cap and the batch limits keep their defaults.
 * A worker's plan may set `limits` of its own.
 */
export const DEVNET_LIMITS = {
  rate: { perSecond: 2000, burst: 20_000 },
  maxConnectionsPerClient: 1024,
} as const;

/**
 * `zg devnet`: a local chain, a deployment of the profile, staked operators and every worker of the
 * deployed modules, each a supervised child process with its own data directory and log file.
 */
export async function runDevnet(
  options: DevnetOptions,
  modules: readonly ModuleManifest[] = MODULES,
): Promise<void> {
  const manifests = profileModules(loadProfile(options.profile, modules), modules);
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
  let closeStatus: (() => Promise<void>) | undefined;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    say("stopping the devnet…");
    await closeStatus?.();
    await supervisor.stopAll();
  };

  try {
    const rpcUrl = `http://127.0.0.1:${port}`;
    const chainLog = path.join(dataDir, "chain.log");
    say(`starting the local chain on ${rpcUrl} and deploying profile ${options.profile}…`);
    // The chain process deploys the profile on its own in-process network before it serves it.
    rmSync(deploymentFile(NETWORKS.localhost.chainId), { force: true });
    const [command, args] = hardhatArgs(
      ["zg:chain", "--profile", options.profile, "--hostname", "127.0.0.1", "--port", String(port)],
      // The deployment's garbage (Ignition reads every build-info) is collected before the chain serves.
      ["--expose-gc", ...DEVNET_NODE_FLAGS],
    );
    supervisor.start({
      name: "chain",
      command,
      args,
      cwd: packageRoot(),
      // A block every half second besides automining, so that challenge epochs advance without traffic.
      env: { ...process.env, REPORT_GAS: "0", ZG_BLOCK_INTERVAL_MS: "500", ZG_CHAIN_ONLY: "1" },
      logFile: chainLog,
      restart: false,
    });
    const chainId = await Promise.race([
      waitForRpc(rpcUrl),
      failure.then((reason) => Promise.reject(new ZgError(`the chain or its deployment failed: ${reason}`))),
    ]);
    const deployment = readDeployment(chainId);
    if (!deployment) throw new ZgError(`the chain came up without a deployment record (see ${chainLog})`);
    const context: DevnetPlanContext = {
      deployment,
      deployed: (name) => manifests.some((module) => module.name === name),
    };
    const plans = planWorkers(manifests, context);
    const accounts = plans
      .filter((plan) => plan.roles.length > 0)
      .map((plan, n) => ({ worker: plan.name, roles: plan.roles, account: devAccount(n + 1) }));
    say(`staking ${accounts.length} operator account(s)…`);
    const operators: DevnetOperator[] = [];
    for (const module of manifests) {
      const setup = module.devnet?.setup;
      if (!setup) continue;
      operators.push(
        ...(await setup({
          ...context,
          accounts,
          governance: devAccount(0),
          connect: (privateKey) => connectDevnet(rpcUrl, deployment.registry, privateKey),
        })),
      );
    }
    say(`starting ${plans.length} worker(s)…`);
    // Workers start side by side: each is its own process, and none needs another to come up.
    const workers = await Promise.all(
      plans.map((plan) =>
        startWorker(
          supervisor,
          dataDir,
          rpcUrl,
          deployment,
          plan,
          accounts.find((entry) => entry.worker === plan.name)?.account.privateKey,
        ),
      ),
    );
    const explorer = await startExplorer(supervisor, dataDir, rpcUrl, deployment);
    const status = await serveStatus(supervisor, [...workers, explorer]);
    closeStatus = status.close;
    const account = devAccount(DEVNET_USER);
    const user = { address: account.address, privateKey: account.privateKey };
    const state: DevnetState = {
      rpcUrl,
      chainId,
      dataDir,
      deployment,
      operators,
      workers,
      statusUrl: status.url,
      explorerUrl: explorer.url,
      user,
      tryIt: [],
    };
    // Commands run against this chain: name it unless it is the CLI's default (localhost:8545).
    const rpcFlag = rpcUrl === NETWORKS.localhost.rpcUrl ? "" : ` --rpc ${rpcUrl}`;
    state.tryIt = [
      `zg() { node ${path.join(packageRoot(), "bin", "zg.js")}${rpcFlag} "$@"; }`,
      `export ZG_PRIVATE_KEY=${user.privateKey}`,
      ...manifests.flatMap((module) => module.devnet?.tryIt?.({ state, user }) ?? []),
    ];
    printState(state, options.json);

    let demoFailed = false;
    const extras: DevnetWorker[] = [];
    if (options.demo) {
      // The demo's users are devnet accounts: their client state (vouchers, receipts) lives with the devnet.
      process.env.ZG_HOME = path.join(dataDir, "home");
      demoFailed = !(await runDemo(
        state,
        say,
        {
          stopWorker: (name) => supervisor.stop(name),
          resumeWorker: async (name) => {
            supervisor.resume(name);
            const worker = [...state.workers, ...extras].find((w) => w.name === name);
            if (worker) await waitForHttp(worker.health, worker.log);
          },
          startExtraWorker: async (plan, privateKey) => {
            const worker = await startWorker(supervisor, dataDir, rpcUrl, deployment, plan, privateKey);
            extras.push(worker);
            return worker;
          },
          removeWorker: async (name) => {
            await supervisor.remove(name);
            extras.splice(
              extras.findIndex((w) => w.name === name),
              1,
            );
          },
        },
        manifests,
      ));
      // The demo must leave what it lists healthy: every worker up and answering, nothing honest stopped.
      const health = await fetch(state.statusUrl).then(async (answer) => ({
        ok: answer.ok,
        body: (await answer.json()) as { workers: { name: string; healthy: boolean }[] },
      }));
      const down = health.body.workers.filter((w) => !w.healthy).map((w) => w.name);
      if (health.ok) say(`every listed worker is healthy after the demo (${state.statusUrl})`);
      else {
        demoFailed = true;
        say(`after the demo, not healthy: ${down.join(", ") || "the chain"} (${state.statusUrl})`);
      }
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

/**
 * The workers the deployed modules want, in module order; plans of several modules with one name are one worker
 * (their roles joined, their config fields merged).
 */
export function planWorkers(
  manifests: readonly ModuleManifest[],
  context: DevnetPlanContext,
): DevnetWorkerPlan[] {
  const plans: DevnetWorkerPlan[] = [];
  for (const plan of manifests.flatMap((module) => module.devnet?.workers?.(context) ?? [])) {
    const same = plans.findIndex((known) => known.name === plan.name);
    if (same < 0) {
      plans.push(plan);
      continue;
    }
    const known = plans[same];
    if (known.kind !== plan.kind)
      throw new ZgError(`devnet worker ${plan.name} is planned as both ${known.kind} and ${plan.kind}`);
    plans[same] = {
      name: known.name,
      kind: known.kind,
      roles: [...new Set([...known.roles, ...plan.roles])],
      config: (port) => ({ ...known.config(port), ...plan.config(port) }),
      api: [known.api, plan.api].filter(Boolean).join(", ") || undefined,
    };
  }
  return plans;
}

/** Starts one planned worker as a supervised child process and waits until it answers /health. */
async function startWorker(
  supervisor: Supervisor,
  dataDir: string,
  rpcUrl: string,
  deployment: DeploymentRecord,
  plan: DevnetWorkerPlan,
  privateKey: string | undefined,
): Promise<DevnetWorker> {
  const dir = path.join(dataDir, plan.name);
  mkdirSync(dir, { recursive: true });
  const port = await servicePort();
  const config = {
    rpcUrl,
    registry: deployment.registry,
    dataDir: "data",
    http: { host: "127.0.0.1", port },
    confirmations: 0,
    pollIntervalMs: 250,
    limits: DEVNET_LIMITS,
    ...(privateKey ? { privateKey } : {}),
    ...plan.config(port),
  };
  const configFile = path.join(dir, "config.json");
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const logFile = path.join(dir, "worker.log");
  supervisor.start({
    name: plan.name,
    command: process.execPath,
    args: [
      ...DEVNET_NODE_FLAGS,
      path.join(packageRoot(), "bin", "zg.js"),
      "node",
      plan.kind,
      "--config",
      configFile,
    ],
    cwd: dir,
    env: workerEnv(),
    logFile,
    restart: true,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/health`, logFile);
  return {
    name: plan.name,
    kind: plan.kind,
    url: base,
    health: `${base}/health`,
    metrics: `${base}/metrics`,
    log: logFile,
    api: plan.api,
  };
}

/**
 * The explorer for the devnet: `zg explorer` as a supervised process (what a user runs against any network), with
 * its trace cache in the data directory. It is on the status page like a worker.
 */
async function startExplorer(
  supervisor: Supervisor,
  dataDir: string,
  rpcUrl: string,
  deployment: DeploymentRecord,
): Promise<DevnetWorker> {
  const dir = path.join(dataDir, "explorer");
  mkdirSync(dir, { recursive: true });
  const port = await servicePort();
  const logFile = path.join(dir, "explorer.log");
  supervisor.start({
    name: "explorer",
    command: process.execPath,
    args: [
      ...DEVNET_NODE_FLAGS,
      path.join(packageRoot(), "bin", "zg.js"),
      "--rpc",
      rpcUrl,
      "--registry",
      deployment.registry,
      "explorer",
      "--port",
      String(port),
    ],
    cwd: dir,
    env: { ...workerEnv(), ZG_HOME: path.join(dir, "home"), ZG_DEPLOYMENTS_DIR: deploymentsDir() },
    logFile,
    restart: true,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/health`, logFile);
  return {
    name: "explorer",
    kind: "explorer",
    url: base,
    health: `${base}/health`,
    metrics: "",
    log: logFile,
  };
}

/** Workers get the caller's environment without its ZG_* settings: their config file says everything. */
function workerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
}

/**
 * Serves the devnet's status on 127.0.0.1: `GET /health` lists every worker with its supervisor state and whether
 * its own /health answers; 200 when all are running and healthy, 503 otherwise.
 */
async function serveStatus(
  supervisor: Supervisor,
  workers: DevnetWorker[],
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "/").split("?")[0] !== "/health") {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    void (async () => {
      const states = new Map(supervisor.statuses().map((status) => [status.name, status]));
      const rows = await Promise.all(
        workers.map(async (worker) => {
          const status = states.get(worker.name);
          const healthy =
            status?.state === "running" &&
            (await fetch(worker.health, { signal: AbortSignal.timeout(2000) }).then(
              (answer) => answer.ok,
              () => false,
            ));
          return { name: worker.name, kind: worker.kind, url: worker.url, ...status, healthy };
        }),
      );
      const chain = states.get("chain");
      const ok = chain?.state === "running" && rows.every((row) => row.healthy);
      response
        .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: ok ? "ok" : "degraded", chain: chain?.state, workers: rows }));
    })();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/health`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

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
    `  status      ${state.statusUrl}  (every worker's state; 503 while one is down)`,
    `  explorer    ${state.explorerUrl}  (every module live, and the trace of any item; 'zg trace <thing>' in a terminal)`,
    ...Object.entries(state.deployment.modules).map(
      ([name, m]) => `  module      ${name.padEnd(14)} ${m.address}  v${m.version}`,
    ),
    ...state.operators.map((o) => `  operator    ${o.role.padEnd(14)} ${o.address}  bonded ${o.bonded}`),
    ...state.workers.map(
      (w) =>
        `  worker      ${w.name.padEnd(14)} ${w.url}  (/health, /metrics${w.api ? `, ${w.api}` : ""}; log ${w.log})`,
    ),
    `  governance  ${devAccount(0).address} (devnet account 0; key in Hardhat's development mnemonic)`,
    `  user        ${state.user.address} (funded; devnet-only key ${state.user.privateKey})`,
    "",
    "try it, from another terminal:",
    ...state.tryIt.map((line) => `  ${line}`),
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

/** The lowest port the kernel hands out to outgoing connections and port-0 listeners (Linux; else 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A port on 127.0.0.1 for a service the devnet may stop and start again on the same port: free now, and below the
 * kernel's ephemeral range, so that no outgoing connection or port-0 listener of any process can take it while
 * the service is down (a restarted worker then failed with "port in use"). Any free port when that range starts
 * too low to leave room.
 */
export async function servicePort(): Promise<number> {
  const low = ephemeralLow();
  const from = 10_000;
  if (low - from >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = from + Math.floor(Math.random() * (low - from));
      if (await portFree(port)) return port;
    }
  }
  return freePort();
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

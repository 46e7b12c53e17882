import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { expect } from "chai";
import { Supervisor } from "../../offchain/devnet/supervisor";
import { MODULES } from "../../offchain/modules";
import { loadProfile, profileModules, profileNames } from "../../offchain/profiles";
import { tempDir } from "../helpers/chain";
import { freePort, runZg, until, type ZgRun } from "../helpers/process";

function runDevnet(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
  env.ZG_DEPLOYMENTS_DIR = tempDir("deployments");
  return runZg(args, env);
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** The pid of a running process whose command line contains `text` (from /proc: no procps needed). */
function processWith(text: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(text)) return Number(entry);
    } catch {
      // the process exited while we looked
    }
  }
  return undefined;
}

/**
 * Every profile's `devnet --demo --exit`, run a few at a time from the first test that asks (a devnet mostly waits
 * on its chain's clock: block intervals, challenge epochs, voting windows), longest first; each test awaits its
 * own profile's run.
 */
const DEMOS_AT_ONCE = 2;
const demos = new Map<string, Promise<{ dataDir: string; result: ZgRun }>>();

function demoOf(profile: string): Promise<{ dataDir: string; result: ZgRun }> {
  if (demos.size === 0) {
    const longestFirst = ["governed", "no-token"];
    const queue = [
      ...longestFirst,
      ...profileNames().filter((name) => name !== "full" && !longestFirst.includes(name)),
    ];
    const settle = new Map<string, (run: Promise<{ dataDir: string; result: ZgRun }>) => void>();
    for (const name of queue) demos.set(name, new Promise((resolve) => settle.set(name, resolve)));
    const runner = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const dataDir = tempDir("devnet");
        const args = ["devnet", "--profile", name, "--port", String(await freePort())];
        const run = runDevnet([...args, "--data-dir", dataDir, "--demo", "--exit"]).then((result) => ({
          dataDir,
          result,
        }));
        settle.get(name)?.(run);
        await run.catch(() => undefined);
      }
    };
    for (let n = 0; n < DEMOS_AT_ONCE; n++) void runner();
  }
  const run = demos.get(profile);
  if (!run) throw new Error(`no profile '${profile}'`);
  return run;
}

describe("zg devnet", function () {
  this.timeout(180_000);

  // `full` runs once for the whole suite, kept up after its demo for the trace, tutorial, README and explorer
  // tests (test/trace/devnet.test.ts), which check its banner and demo as this test checks no-token's.
  it("--demo --exit (no-token): brings the stack up, demonstrates every module, stops cleanly", async function () {
    this.timeout(900_000);
    const { dataDir, result } = await demoOf("no-token");
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.include("zerog-stack devnet is up (profile no-token)");
    expect(result.stdout).to.match(/worker\s+watcher\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout.match(/worker\s+storage-\d\s+http/g)).to.have.length(6);
    expect(result.stdout).to.include("survives the loss of two storage nodes");
    expect(result.stdout).to.match(
      /storage-lossy missed epoch \d+ and was (slashed 1\.0 and jailed|jailed \(this profile moves no coin\))/,
    );
    expect(result.stdout).to.match(/worker\s+oracle\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout).to.match(/3 free answers \(no ServingLedger in this profile\)/);
    expect(result.stdout).to.match(
      /agent \d+ moved to 0x[0-9a-fA-F]+… under a fresh key; the new owner decrypts it, the old one cannot/,
    );
    expect(result.stdout).to.include("demo succeeded");
    expect(result.stdout).to.not.include("✗");
    expect(result.stdout).to.include("every listed worker is healthy after the demo");
    const workerLog = readFileSync(path.join(dataDir, "watcher", "worker.log"), "utf8");
    expect(workerLog).to.include('"msg":"worker stopped"');
    expect(existsSync(path.join(dataDir, "chain.log"))).to.equal(true);
  });

  // Every other profile of deploy/profiles: a new profile is tested without editing this test.
  for (const profile of profileNames().filter((name) => !["full", "no-token"].includes(name))) {
    it(`--demo --exit (${profile}): runs only the deployed modules' workers and demo steps, and succeeds`, async function () {
      this.timeout(900_000);
      const { result } = await demoOf(profile);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include("demo succeeded");
      expect(result.stdout).to.not.include("✗");
      expect(result.stdout).to.include("every listed worker is healthy after the demo");
      const deployed = profileModules(loadProfile(profile));
      for (const module of MODULES) {
        for (const step of module.demo) {
          if (deployed.includes(module)) expect(result.stdout, profile).to.include(step.title);
          else expect(result.stdout, profile).to.not.include(step.title);
        }
      }
      const kinds = new Set(deployed.flatMap((module) => module.workers.map((entry) => entry.worker)));
      for (const line of result.stdout.split("\n").filter((l) => l.startsWith("  worker "))) {
        const name = line.trim().split(/\s+/)[1];
        expect(
          [...kinds].some((kind) => name === kind || name.startsWith(`${kind}-`)),
          line,
        ).to.equal(true);
      }
    });
  }

  it("a worker that keeps crashing is marked failed on the status page while the chain and the other workers keep running", async () => {
    const dataDir = tempDir("devnet");
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env.ZG_DEPLOYMENTS_DIR = tempDir("deployments");
    const devnet = spawn(
      process.execPath,
      [
        path.resolve("bin/zg.js"),
        "devnet",
        "--profile",
        "inference-only-free",
        "--port",
        String(await freePort()),
        "--data-dir",
        dataDir,
      ],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    devnet.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await until(
        async () => stdout,
        (text) => text.includes("the devnet is running"),
        120_000,
      );
      const statusUrl = /status\s+(http:\/\/127\.0\.0\.1:\d+\/health)/.exec(stdout)?.[1] as string;
      const before = (await (await fetch(statusUrl)).json()) as { status: string };
      expect(before.status).to.equal("ok");
      // Kill the watcher each time it comes back, six times: the supervisor gives up on it.
      const config = path.join(dataDir, "watcher", "config.json");
      for (let kill = 0; kill < 6; kill++) {
        const pid = await until(
          async () => processWith(config),
          (found) => found !== undefined,
          30_000,
        );
        process.kill(pid as number, "SIGKILL");
        await until(
          async () => stdout,
          (text) => (text.match(/watcher exited \(signal SIGKILL\)|watcher FAILED/g) ?? []).length > kill,
          30_000,
        );
      }
      expect(stdout).to.match(
        /watcher FAILED: keeps crashing \(signal SIGKILL\); see .*watcher.*worker\.log; the rest keeps running/,
      );
      const response = await fetch(statusUrl);
      const after = (await response.json()) as {
        status: string;
        chain: string;
        workers: { name: string; state: string; healthy: boolean }[];
      };
      expect(response.status).to.equal(503);
      expect(after.status).to.equal("degraded");
      expect(after.chain).to.equal("running");
      expect(after.workers.find((w) => w.name === "watcher")).to.include({ state: "failed", healthy: false });
      expect(
        after.workers.filter((w) => w.name !== "watcher").every((w) => w.state === "running" && w.healthy),
      ).to.equal(true);
      expect(devnet.exitCode).to.equal(null);
    } finally {
      devnet.kill("SIGINT");
      await new Promise((resolve) => devnet.once("exit", resolve));
    }
  });

  it("a port in use is refused before anything starts", async () => {
    const port = await freePort();
    const server = await listenOn(port);
    try {
      const result = await runDevnet([
        "devnet",
        "--port",
        String(port),
        "--data-dir",
        tempDir("devnet"),
        "--exit",
      ]);
      expect(result.code).to.not.equal(0);
      expect(result.stderr.trim()).to.equal(
        `zg: port ${port} on 127.0.0.1 is in use (another devnet?): pass --port`,
      );
    } finally {
      server.close();
    }
  });

  it("an unknown profile is refused", async () => {
    const result = await runDevnet(["devnet", "--profile", "gold", "--exit"]);
    expect(result.stderr.trim()).to.equal(
      `zg: unknown profile 'gold' (profiles: ${profileNames().join(", ")})`,
    );
    expect(result.code).to.not.equal(0);
  });
});

describe("Supervisor", () => {
  const node = (script: string) => ({
    command: process.execPath,
    args: ["-e", script],
    cwd: process.cwd(),
    env: process.env,
  });

  it("restarts a crashed worker, and marks one that keeps crashing failed while the others keep running", async function () {
    this.timeout(60_000);
    const dir = tempDir("supervisor");
    const reports: string[] = [];
    let fatal = "";
    const supervisor = new Supervisor(
      (message) => reports.push(message),
      (reason) => (fatal = reason),
      20,
    );
    const steady = supervisor.start({
      name: "steady",
      ...node("setInterval(() => {}, 1000)"),
      logFile: path.join(dir, "steady.log"),
      restart: true,
    });
    supervisor.start({
      name: "crasher",
      ...node("console.log('up'); process.exit(3)"),
      logFile: path.join(dir, "crasher.log"),
      restart: true,
    });
    const deadline = Date.now() + 50_000;
    const failed = () => supervisor.statuses().find((s) => s.name === "crasher")?.state === "failed";
    while (!failed() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const statuses = supervisor.statuses();
    const steadyAlive = steady.exitCode === null && steady.signalCode === null;
    await supervisor.stopAll();
    expect(reports[0]).to.equal("crasher exited (code 3); restarting in 20 ms");
    expect(reports).to.have.length(6);
    expect(reports[5]).to.match(
      /^crasher FAILED: keeps crashing \(code 3\); see .*crasher\.log; the rest keeps running$/,
    );
    expect(fatal).to.equal("");
    expect(statuses.map((s) => [s.name, s.state])).to.deep.equal([
      ["steady", "running"],
      ["crasher", "failed"],
    ]);
    expect(steadyAlive).to.equal(true);
    expect(readFileSync(path.join(dir, "crasher.log"), "utf8").match(/up/g)).to.have.length(6);
  });

  it("treats the exit of an essential service as fatal, and stops the others with SIGTERM", async () => {
    const dir = tempDir("supervisor");
    let fatal = "";
    const supervisor = new Supervisor(
      () => undefined,
      (reason) => (fatal = reason),
    );
    const worker = supervisor.start({
      name: "worker",
      ...node(
        "process.on('SIGTERM', () => { console.log('graceful'); process.exit(0); }); setInterval(() => {}, 1000)",
      ),
      logFile: path.join(dir, "worker.log"),
      restart: true,
    });
    const chain = supervisor.start({
      name: "chain",
      ...node("setTimeout(() => process.exit(1), 200)"),
      logFile: path.join(dir, "chain.log"),
      restart: false,
    });
    await new Promise((resolve) => chain.once("exit", resolve));
    expect(fatal).to.match(/^chain exited \(code 1\); see /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await supervisor.stopAll();
    expect(worker.exitCode).to.equal(0);
    expect(readFileSync(path.join(dir, "worker.log"), "utf8")).to.include("graceful");
  });
});

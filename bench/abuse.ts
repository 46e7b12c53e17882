import { spawn } from "node:child_process";
import { request, type IncomingMessage } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther } from "ethers";
import { connectDevnet } from "../offchain/devnet/accounts";
import { freePort } from "../offchain/devnet/devnet";
import { ServingClient } from "../offchain/serving/client";
import { InferenceSession } from "../offchain/serving/inference";
import type { Figure } from "./figure";

/** Attackers speak from a second loopback address, so the per-client limits tell them from the honest client. */
const ATTACKER = "127.0.0.2";

interface Target {
  name: string;
  url: string;
  pid: number;
  /** One honest request; resolves when it is answered. */
  honest(): Promise<void>;
}

interface Attack {
  name: string;
  /** Starts the attack on `target`; the returned function stops it. */
  start(target: Target): () => Promise<void>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : 0;
}

/** The pid of the devnet worker whose command line names `configFile`. */
function workerPid(configFile: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(configFile))
        return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error(`no process runs ${configFile}`);
}

/** An HTTP request from `localAddress`, resolved with its status once the body is read. */
function send(url: string, body: string | undefined, localAddress?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        localAddress,
        agent: false,
      },
      (response: IncomingMessage) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** Repeats `work` with `parallel` loops until stopped. */
function loop(parallel: number, work: () => Promise<unknown>): () => Promise<void> {
  let running = true;
  const loops = Array.from({ length: parallel }, async () => {
    while (running) await work();
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

const STATUS = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "zgs_getStatus", params: [] });

const ATTACKS: Attack[] = [
  {
    name: "batch-flood",
    // Batches of 50,000 status calls, back to back (each refused whole above the batch cap).
    start: (target) => {
      const batch = JSON.stringify(
        Array.from({ length: 50_000 }, (_, id) => ({
          jsonrpc: "2.0",
          id,
          method: "zgs_getStatus",
          params: [],
        })),
      );
      return loop(2, () => send(target.url, batch, ATTACKER));
    },
  },
  {
    name: "request-flood",
    // As many small requests as eight connections can carry.
    start: (target) =>
      loop(8, () => send(target.url, target.name === "storage" ? STATUS : undefined, ATTACKER)),
  },
  {
    name: "slowloris",
    // 300 connections that send half a request each and never finish it, reopened when the server cuts them.
    start: (target) => {
      const { port } = new URL(target.url);
      const sockets = new Set<Socket>();
      let running = true;
      const open = () => {
        if (!running) return;
        const socket = connect({ host: "127.0.0.1", port: Number(port), localAddress: ATTACKER });
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          sockets.delete(socket);
          setTimeout(open, 100);
        });
        socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{");
      };
      for (let i = 0; i < 300; i++) open();
      return async () => {
        running = false;
        for (const socket of sockets) socket.destroy();
      };
    },
  },
];

/** Honest latency (ms) of `count` sequential requests. */
async function honestLatency(target: Target, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await target.honest();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

/**
 * Issue 11's load test: a devnet's storage node and inference oracle, each measured quiet and then under each
 * attack (from another loopback address): honest p99 latency, and the worker's resident memory at the end of the
 * attack. Goal: honest p99 at most twice its quiet value, memory bounded.
 */
export async function abuseBench(): Promise<Figure[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "zg-bench-abuse-"));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
  env.ZG_DEPLOYMENTS_DIR = path.join(dataDir, "deployments");
  const devnet = spawn(
    process.execPath,
    [
      path.join(__dirname, "..", "bin", "zg.js"),
      "devnet",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
      "--json",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  devnet.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const figures: Figure[] = [];
  try {
    // `zg devnet --json` prints its state as one JSON document once every worker is up.
    const parsed = () => {
      try {
        return JSON.parse(output.slice(output.indexOf("{"))) as unknown;
      } catch {
        return undefined;
      }
    };
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => parsed() && (clearInterval(timer), resolve()), 200);
      devnet.once("exit", (code) => reject(new Error(`zg devnet exited (${code})`)));
    });
    const state = parsed() as {
      rpcUrl: string;
      deployment: { registry: string };
      user: { privateKey: string };
      workers: { name: string; url: string }[];
      operators: { role: string; address: string }[];
    };
    const url = (name: string) => state.workers.find((w) => w.name === name)?.url as string;
    const chain = await connectDevnet(state.rpcUrl, state.deployment.registry, state.user.privateKey);
    const serving = await ServingClient.connect(chain);
    const provider = state.operators.find((o) => o.role === "PROVIDER")?.address as string;
    await serving.deposit(parseEther("5"));
    await serving.fund(provider, parseEther("5"));
    process.env.ZG_HOME = path.join(dataDir, "home");
    const session = await InferenceSession.open(serving, provider);
    const targets: Target[] = [
      {
        name: "storage",
        url: url("storage-0"),
        pid: workerPid(path.join(dataDir, "storage-0", "config.json")),
        honest: async () => {
          if ((await send(url("storage-0"), STATUS)) !== 200) throw new Error("honest status call refused");
        },
      },
      {
        name: "oracle",
        url: `${url("oracle")}/v1/models`,
        pid: workerPid(path.join(dataDir, "oracle", "config.json")),
        // A real, signed, paid and verified chat through the SDK.
        honest: async () => {
          await session.chat([{ role: "user", content: "what is a storage node?" }], { max_tokens: 8 });
        },
      },
    ];
    for (const target of targets) {
      const quiet = percentile(await honestLatency(target, 60), 99);
      figures.push({ name: `abuse-${target.name}-quiet-p99`, value: round(quiet), unit: "ms" });
      figures.push({
        name: `abuse-${target.name}-quiet-rss`,
        value: Math.round(rssMiB(target.pid)),
        unit: "MiB",
      });
      for (const attack of ATTACKS) {
        const stop = attack.start(target);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const under = percentile(await honestLatency(target, 60), 99);
        const rss = rssMiB(target.pid);
        await stop();
        figures.push({
          name: `abuse-${target.name}-${attack.name}-p99`,
          value: round(under),
          unit: "ms",
          anchor: { name: "quiet p99 (goal: at most 2×)", value: round(quiet), unit: "ms" },
        });
        figures.push({
          name: `abuse-${target.name}-${attack.name}-rss`,
          value: Math.round(rss),
          unit: "MiB",
        });
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
    chain.destroy();
    return figures;
  } finally {
    devnet.kill("SIGINT");
    await new Promise((resolve) => devnet.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

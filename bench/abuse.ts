import { request, type IncomingMessage } from "node:http";
import { readdirSync, readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { parseEther } from "ethers";
import { connectDevnet } from "../offchain/devnet/accounts";
import { ServingClient } from "../offchain/serving/client";
import { InferenceSession } from "../offchain/serving/inference";
import { startBenchDevnet } from "./devnet-run";
import { percentile, type Figure } from "./figure";

/** Attackers speak from a second loopback address, so the per-client limits tell them from the honest client. */
const ATTACKER = "127.0.0.2";

interface Target {
  name: string;
  url: string;
  pid: number;
  /** One honest request; resolves when it is answered. */
  honest(): Promise<void>;
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

/** Honest requests per measurement (sequential), and how long an attack runs before it is measured. */
const SAMPLES = 200;
const SETTLE_MS = 3000;

const STATUS = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "zgs_getStatus", params: [] });
const ATTACKS = ["batch-flood", "request-flood", "slowloris"];

/**
 * The attacker, run in a worker thread so that its own work never delays the honest client's event loop (both
 * still share the machine's two cores with the devnet, as an attacker on the same host would). Plain JavaScript
 * with Node built-ins: batches of 50,000 status calls on two connections; a flood of small requests on eight;
 * 300 connections that send half a request and never finish it (reopened when the server cuts them).
 */
const ATTACKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const http = require("node:http");
const net = require("node:net");
const { attack, url, rpc, from } = workerData;
const status = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "zgs_getStatus", params: [] });
const send = (body) => new Promise((resolve) => {
  const headers = body === undefined ? {} : { "content-type": "application/json" };
  const req = http.request(url, { method: body === undefined ? "GET" : "POST", localAddress: from, agent: false, headers },
    (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", resolve);
  req.end(body);
});
const loop = async (work) => { for (;;) await work(); };
if (attack === "batch-flood") {
  const calls = [];
  for (let id = 0; id < 50000; id++) calls.push({ jsonrpc: "2.0", id, method: "zgs_getStatus", params: [] });
  const batch = JSON.stringify(calls);
  for (let i = 0; i < 2; i++) loop(() => send(batch));
} else if (attack === "request-flood") {
  for (let i = 0; i < 8; i++) loop(() => send(rpc ? status : undefined));
} else if (attack === "slowloris") {
  const { hostname, port } = new URL(url);
  const open = () => {
    const socket = net.connect({ host: hostname, port: Number(port), localAddress: from });
    socket.on("error", () => undefined);
    socket.on("close", () => setTimeout(open, 100));
    socket.write("POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100000\\r\\n\\r\\n{");
  };
  for (let i = 0; i < 300; i++) open();
}
`;

/** Starts `attack` on `target` in a worker thread; the returned function stops it. */
function startAttack(attack: string, target: Target): () => Promise<void> {
  const worker = new Worker(ATTACKER_SOURCE, {
    eval: true,
    workerData: { attack, url: target.url, rpc: target.name === "storage", from: ATTACKER },
  });
  worker.on("error", () => undefined);
  return async () => {
    await worker.terminate();
  };
}

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
  const devnet = await startBenchDevnet();
  const { state, dataDir } = devnet;
  const figures: Figure[] = [];
  try {
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
      await honestLatency(target, 10); // warm-up: the first requests fill caches
      const quiet = percentile(await honestLatency(target, SAMPLES), 99);
      figures.push({ name: `abuse-${target.name}-quiet-p99`, value: round(quiet), unit: "ms" });
      figures.push({
        name: `abuse-${target.name}-quiet-rss`,
        value: Math.round(rssMiB(target.pid)),
        unit: "MiB",
      });
      for (const attack of ATTACKS) {
        // Each attack is compared with the quiet latency measured just before it: the devnet's own background
        // work (challenge epochs, chain polling) drifts over a run.
        const before = percentile(await honestLatency(target, SAMPLES), 99);
        const stop = startAttack(attack, target);
        // The attack is measured sustained: its first seconds spend the burst any client is allowed (2,000
        // requests at once by default), which an honest heavy client may use as well.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const under = percentile(await honestLatency(target, SAMPLES), 99);
        const rss = rssMiB(target.pid);
        await stop();
        figures.push({
          name: `abuse-${target.name}-${attack}-p99`,
          value: round(under),
          unit: "ms",
          anchor: { name: "quiet p99 just before (goal: at most 2×)", value: round(before), unit: "ms" },
        });
        figures.push({
          name: `abuse-${target.name}-${attack}-rss`,
          value: Math.round(rss),
          unit: "MiB",
        });
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
    chain.destroy();
    return figures;
  } finally {
    await devnet.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

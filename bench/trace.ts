import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectDevnet, devAccount } from "../offchain/devnet/accounts";
import { InftClient } from "../offchain/inft/client";
import type { Trace, TraceNode } from "../offchain/core/trace";
import { startBenchDevnet } from "./devnet-run";
import type { Figure } from "./figure";

/** Events the benchmark's agent gathers: its mint (Transfer + sealed key), then authorizations and revocations. */
const EVENTS = 1000;
const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function ownEvents(trace: Trace): number {
  const root: TraceNode = trace.roots[0];
  return root.events.length;
}

/**
 * `zg trace` of an agent with 1,000 events, as a user runs it (a fresh CLI process) against a `full` devnet: cold
 * (`--no-cache`: every log of every module read from the deployment block, in bounded ranges) and warm (the cache
 * in ZG_HOME, only new blocks read). The anchor is `zg modules` in the same run: the CLI's start and one registry
 * read, the least any command against the chain costs. Goal: at most 2 s.
 */
export async function traceBench(): Promise<Figure[]> {
  const devnet = await startBenchDevnet("full");
  const home = mkdtempSync(path.join(tmpdir(), "zg-bench-trace-"));
  try {
    const { rpcUrl, deployment } = devnet.state;
    const owner = await connectDevnet(rpcUrl, deployment.registry, devnet.state.user.privateKey);
    const agents = await InftClient.connect(owner);
    const { tokenId } = await agents.mint([
      { description: "bench", data: new TextEncoder().encode("bench agent") },
    ]);
    const user = devAccount(30).address;
    // Mint gave two events; each authorize and revoke adds one. Sent together: receipts are awaited in parallel.
    const sends = [];
    for (let n = 2; n < EVENTS; n += 2) {
      sends.push(agents.authorize(tokenId, user));
      sends.push(agents.revoke(tokenId, user));
    }
    await Promise.all(sends);
    owner.destroy();
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_"))),
      ZG_DEPLOYMENTS_DIR: path.join(devnet.dataDir, "deployments"),
      ZG_HOME: home,
    };
    const zg = (...args: string[]) => {
      const started = process.hrtime.bigint();
      const out = execFileSync(
        process.execPath,
        [path.join(__dirname, "..", "bin", "zg.js"), "--rpc", rpcUrl, ...args],
        {
          env,
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, out };
    };
    const cold: number[] = [];
    const warm: number[] = [];
    const modules: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const first = zg("--json", "trace", `agent:${tokenId}`, "--no-cache");
      const events = ownEvents(JSON.parse(first.out) as Trace);
      if (events !== EVENTS) throw new Error(`the trace shows ${events} events of the agent, not ${EVENTS}`);
      cold.push(first.ms);
      zg("--json", "trace", `agent:${tokenId}`);
      warm.push(zg("--json", "trace", `agent:${tokenId}`).ms);
      modules.push(zg("modules").ms);
    }
    const anchor = {
      name: "zg modules (CLI start + one registry read)",
      value: Math.round(median(modules)),
      unit: "ms",
    };
    return [
      { name: "trace-1000-events", value: Math.round(median(cold)), unit: "ms", anchor },
      { name: "trace-1000-events-cached", value: Math.round(median(warm)), unit: "ms", anchor },
    ];
  } finally {
    await devnet.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

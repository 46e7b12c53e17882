import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEVNET_NODE_FLAGS, freePort } from "../offchain/devnet/devnet";
import type { Figure } from "./figure";

/** The figures for `npm start` before this work, as quoted (ready after 25–45 s, about 1.5 GiB). */
const QUOTED_READY_SECONDS = 25;
const QUOTED_RSS_MIB = 1536;

/** The devnet's start-up phases, each begun by a line the devnet prints. */
const PHASES = ["chain-and-deployment", "stake", "workers"];
const PHASE_LINES = [/^starting the local chain/, /^staking \d+/, /^starting \d+ worker/];

/** Every process below `root` (its children, theirs, …), from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of parents.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

function rssKiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * `npm start` without its demo: a fresh `zg devnet` (the full profile), timed from launch to "the devnet is
 * running", with the resident memory of the whole process tree (CLI, chain, every worker) once it is ready.
 */
export async function devnetStartup(): Promise<Figure[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "zg-bench-devnet-"));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
  env.ZG_DEPLOYMENTS_DIR = path.join(dataDir, "deployments");
  const started = Date.now();
  const child = spawn(
    process.execPath,
    // As `npm start` runs it, without the demo.
    [
      ...DEVNET_NODE_FLAGS,
      path.join(__dirname, "..", "bin", "zg.js"),
      "devnet",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const marks: (number | undefined)[] = [];
  let output = "";
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString().split("\n")) {
          const phase = PHASE_LINES.findIndex((pattern) => pattern.test(line));
          if (phase >= 0) marks[phase] ??= (Date.now() - started) / 1000;
        }
        output += chunk.toString();
        if (output.includes("the devnet is running")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`zg devnet exited (${code}): ${output.slice(-500)}`)));
    });
    const ready = (Date.now() - started) / 1000;
    // Let the workers finish their first sync before memory is read.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const pids = [child.pid as number, ...descendants(child.pid as number)];
    const rss = pids.reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024;
    // Each phase runs from the line that starts it to the line that starts the next.
    const phaseFigures: Figure[] = PHASES.map((phase, i) => ({
      name: `devnet-phase-${phase}`,
      value: Math.round(((marks[i + 1] ?? ready) - (marks[i] ?? 0)) * 10) / 10,
      unit: "s",
    }));
    return [
      {
        name: "devnet-ready",
        value: Math.round(ready * 10) / 10,
        unit: "s",
        anchor: { name: "before this work, as quoted (25–45 s)", value: QUOTED_READY_SECONDS, unit: "s" },
      },
      ...phaseFigures,
      {
        name: "devnet-rss",
        value: Math.round(rss),
        unit: "MiB",
        anchor: { name: "before this work, as quoted (about 1.5 GiB)", value: QUOTED_RSS_MIB, unit: "MiB" },
      },
      { name: "devnet-processes", value: pids.length, unit: "processes" },
    ];
  } finally {
    child.kill("SIGINT");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

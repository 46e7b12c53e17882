import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DevnetState } from "../offchain/core/module";
import { freePort } from "../offchain/devnet/devnet";

/** A devnet a bench runs against: its state as `zg devnet --json` prints it, and how to stop it. */
export interface BenchDevnet {
  state: DevnetState;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `zg devnet --json` (the built CLI) in a temporary data directory and waits until every worker is up. */
export async function startBenchDevnet(profile = "full"): Promise<BenchDevnet> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "zg-bench-devnet-"));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
  env.ZG_DEPLOYMENTS_DIR = path.join(dataDir, "deployments");
  const child = spawn(
    process.execPath,
    [
      path.join(__dirname, "..", "bin", "zg.js"),
      "devnet",
      "--profile",
      profile,
      "--port",
      String(port),
      "--data-dir",
      dataDir,
      "--json",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGINT");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // `zg devnet --json` prints its state as one JSON document once every worker is up.
  const parsed = () => {
    try {
      return JSON.parse(output.slice(output.indexOf("{"))) as DevnetState;
    } catch {
      return undefined;
    }
  };
  try {
    const state = await new Promise<DevnetState>((resolve, reject) => {
      const timer = setInterval(() => {
        const state = parsed();
        if (state) {
          clearInterval(timer);
          resolve(state);
        }
      }, 200);
      child.once("exit", (code) => {
        clearInterval(timer);
        reject(new Error(`zg devnet exited (${code})`));
      });
    });
    return { state, dataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

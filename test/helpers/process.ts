import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { expect } from "chai";
import path from "node:path";

export interface ZgRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `zg` CLI as a user would, asynchronously (a chain served by this process can answer it). */
export function runZg(args: string[], env: NodeJS.ProcessEnv): Promise<ZgRun> {
  return runScript("bin/zg.js", args, env);
}

let home: string | undefined;

/**
 * Runs a Node script in its own process, asynchronously, collecting its output. Its ZG_HOME (keys, caches) is a
 * folder of this test run's unless `env` names one: a test never writes into the user's ~/.zg.
 */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ZgRun> {
  home ??= mkdtempSync(path.join(tmpdir(), "zg-test-home-"));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.resolve(script), ...args], {
      env: { ZG_HOME: home, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export { freePort } from "../../offchain/devnet/devnet";

/** Polls `probe` until `done` holds for its value (failed probes count as not done), or fails after the timeout. */
export async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts a CLI failure: a non-zero exit and exactly one line on stderr, which is returned. */
export function expectFailure(run: ZgRun): string {
  expect(run.code, run.stdout + run.stderr).to.not.equal(0);
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines, run.stderr).to.have.length(1);
  return lines[0];
}

/** Asserts a CLI success (exit 0) and returns its stdout. */
export function expectSuccess(run: ZgRun): string {
  expect(run.code, run.stderr).to.equal(0);
  return run.stdout;
}

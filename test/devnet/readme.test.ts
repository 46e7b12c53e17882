import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { tempDir } from "../helpers/chain";
import { runnableBlocks } from "../helpers/markdown";
import { freePort, until } from "../helpers/process";

describe("README quickstart", function () {
  this.timeout(300_000);

  it("finds the runnable blocks the quickstart promises", () => {
    const blocks = runnableBlocks(readFileSync("README.md", "utf8"));
    expect(blocks.length).to.be.greaterThanOrEqual(4);
    const all = blocks.join("\n");
    for (const command of [
      "zg storage upload",
      "zg storage download",
      "zg infer",
      "inft mint",
      "zg inft transfer",
    ])
      expect(all).to.include(command);
  });

  it("every runnable block works, in order, against a fresh devnet", async () => {
    const blocks = runnableBlocks(readFileSync("README.md", "utf8"));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env.ZG_DEPLOYMENTS_DIR = tempDir("deployments");
    env.ZG_HOME = tempDir("home");
    const port = await freePort();
    const devnet = spawn(
      process.execPath,
      [path.resolve("bin/zg.js"), "devnet", "--port", String(port), "--data-dir", tempDir("devnet")],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let banner = "";
    devnet.stdout.on("data", (chunk: Buffer) => (banner += chunk.toString()));
    try {
      await until(
        async () => banner,
        (text) => text.includes("the devnet is running"),
        120_000,
      );
      // The README's commands name no chain: they reach the default one (127.0.0.1:8545); here, this devnet.
      const script = ["set -euo pipefail", ...blocks].join("\n");
      const run = spawnSync("bash", ["-c", script], {
        env: { ...env, ZG_RPC_URL: `http://127.0.0.1:${port}` },
        cwd: process.cwd(),
        encoding: "utf8",
        timeout: 240_000,
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
      expect(run.stdout).to.match(/every segment verified/);
      expect(run.stdout).to.match(/signature verified/);
      expect(run.stdout).to.match(/transferred agent \d+|to 0xdD2FD4581271e230360230F9337D5c0430Bf44C0/i);
      // The banner prints the same user and commands as the README.
      const user = /export ZG_PRIVATE_KEY=(0x[0-9a-f]{64})/.exec(blocks.join("\n"))?.[1];
      expect(banner).to.include(`devnet-only key ${user}`);
      for (const line of ["zg storage upload README.md", 'zg inft infer "$AGENT" "what is zerog-stack?"'])
        expect(banner).to.include(line);
    } finally {
      devnet.kill("SIGINT");
      await new Promise((resolve) => devnet.once("exit", resolve));
    }
  });
});

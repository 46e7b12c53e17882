import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { encodeBytes32String, id, parseEther, ZeroAddress } from "ethers";
import hre from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { DurableStore } from "../../offchain/core/store";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { ModuleRegistry__factory, NodeStaking__factory } from "../../typechain-types";
import { deployForTest, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { until } from "../helpers/process";

const quiet = () => undefined;

interface Health {
  status: string;
  kind: string;
  chainId: number;
  eventsProcessed: number;
  processedBlock: number;
  roles: Record<string, { bonded: string; unbonding: string; members: number }>;
}

async function health(url: string): Promise<Health> {
  return (await (await fetch(`${url}/health`)).json()) as Health;
}

describe("staking watcher (worker base)", () => {
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const handles: WorkerHandle[] = [];

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
  });
  after(async () => {
    await rpc.close();
  });
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((handle) => handle.stop()));
  });

  function config(dataDir: string, extra: Record<string, unknown> = {}) {
    return {
      rpcUrl: rpc.url,
      registry: record.registry,
      dataDir,
      http: { host: "127.0.0.1", port: 0 },
      confirmations: 0,
      pollIntervalMs: 50,
      startBlock: record.startBlock,
      ...extra,
    };
  }

  async function start(dataDir: string, extra: Record<string, unknown> = {}) {
    const handle = await startWorker(await workerDefinition("watcher"), config(dataDir, extra), {
      write: quiet,
    });
    handles.push(handle);
    return handle;
  }

  async function stakeAs(index: number, role: number, amount: string) {
    const signer = (await hre.ethers.getSigners())[index];
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, signer);
    await (await staking.stake(role, { value: parseEther(amount) })).wait();
    return staking;
  }

  async function eventCount(): Promise<number> {
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, hre.ethers.provider);
    return (await staking.queryFilter("*" as never, record.startBlock)).length;
  }

  it("serves /health and /metrics that match the chain", async () => {
    await stakeAs(10, 0, "10");
    await stakeAs(11, 0, "12");
    const worker = await start(tempDir("watcher"));
    const expected = await eventCount();
    const h = await until(
      () => health(worker.url),
      (value) => value.eventsProcessed === expected,
    );
    expect(h.status).to.equal("ok");
    expect(h.kind).to.equal("watcher");
    expect(h.chainId).to.equal(31337);
    expect(h.roles.STORAGE.members).to.equal(2);
    expect(BigInt(h.roles.STORAGE.bonded)).to.equal(parseEther("22"));
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).to.match(/zg_staking_members\{role="STORAGE",worker="watcher"\} 2/);
    expect(metrics).to.match(/zg_staking_events_total\{event="Staked",worker="watcher"\} 2/);
    expect(metrics).to.include("zg_process_cpu_seconds_total");
    expect((await fetch(`${worker.url}/nope`)).status).to.equal(404);
    expect((await fetch(`${worker.url}/health`, { method: "POST" })).status).to.equal(405);
  });

  it("restart: resumes from its last block and counts nothing twice", async () => {
    const dir = tempDir("watcher");
    let worker = await start(dir);
    const before = await eventCount();
    await until(
      () => health(worker.url),
      (value) => value.eventsProcessed === before,
    );
    await worker.stop();
    handles.pop();

    const staking = await stakeAs(12, 1, "10");
    await (await staking.exit(1)).wait();
    worker = await start(dir);
    const after = await eventCount();
    const h = await until(
      () => health(worker.url),
      (value) => value.eventsProcessed === after,
    );
    expect(after).to.equal(before + 2);
    expect(h.roles.DA_SIGNER.members).to.equal(0);
    expect(BigInt(h.roles.DA_SIGNER.unbonding)).to.equal(parseEther("10"));
  });

  it("kill -9: a killed worker loses nothing it had processed", async function () {
    this.timeout(120_000);
    const dir = tempDir("watcher-kill");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const configFile = path.join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify(config("data", { http: { host: "127.0.0.1", port } })));
    const url = `http://127.0.0.1:${port}`;
    const launch = (): ChildProcess =>
      spawn(process.execPath, [path.resolve("bin/zg.js"), "node", "watcher", "--config", configFile], {
        stdio: "ignore",
      });

    let child = launch();
    const expected = await eventCount();
    await until(
      () => health(url),
      (value) => value.eventsProcessed === expected,
      60_000,
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    await stakeAs(13, 2, "10");
    child = launch();
    try {
      const h = await until(
        () => health(url),
        (value) => value.eventsProcessed === expected + 1,
        60_000,
      );
      expect(h.roles.PROVIDER.members).to.be.greaterThanOrEqual(1);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });

  it("mirrors a slash: the bond goes first, then coin still unbonding", async () => {
    const [governance] = await hre.ethers.getSigners();
    const registry = ModuleRegistry__factory.connect(record.registry, governance);
    const slasher = await hre.ethers.deployContract("TestSlasher");
    await (await registry.setModule(encodeBytes32String("TestSlasher"), slasher.target, "test")).wait();
    await (await registry.setSlasher(encodeBytes32String("TestSlasher"), true)).wait();
    const staking = await stakeAs(14, 3, "12");
    await (await staking.requestUnbond(3, parseEther("2"))).wait();
    // 10 bonded + 2 unbonding; a slash of 11 takes the 10, then 1 of the unbonding coin.
    await (
      await slasher.slash(
        record.modules.NodeStaking.address,
        (await hre.ethers.getSigners())[14].address,
        3,
        parseEther("11"),
        id("offence-1"),
        ZeroAddress,
      )
    ).wait();
    const worker = await start(tempDir("watcher"));
    const expected = await eventCount();
    const h = await until(
      () => health(worker.url),
      (value) => value.eventsProcessed === expected,
    );
    expect(BigInt(h.roles.ORACLE.bonded)).to.equal(0n);
    expect(BigInt(h.roles.ORACLE.unbonding)).to.equal(parseEther("1"));
    const position = await staking.positionOf((await hre.ethers.getSigners())[14].address, 3);
    expect(position.unbonding).to.equal(parseEther("1"));
    await (await registry.removeModule(encodeBytes32String("TestSlasher"))).wait();
  });

  describe("bad configuration", () => {
    it("a missing field is named in a one-line error", async () => {
      const { http: _http, ...incomplete } = config(tempDir("watcher"));
      await expect(
        startWorker(await workerDefinition("watcher"), incomplete, { write: quiet }),
      ).to.be.rejectedWith("config: missing required field 'http'");
    });

    it("an unknown field is rejected", async () => {
      await expect(
        startWorker(await workerDefinition("watcher"), config(tempDir("watcher"), { colour: "blue" }), {
          write: quiet,
        }),
      ).to.be.rejectedWith("config: unknown field 'colour'");
    });

    it("a data directory of another chain is refused", async () => {
      const dir = tempDir("watcher");
      const store = await DurableStore.open(dir);
      await store.put("meta/chainId", 16602);
      await store.close();
      await expect(start(dir)).to.be.rejectedWith(
        `data directory ${dir} holds state of chain 16602, not of chain 31337`,
      );
    });

    it("a data directory in use by another worker is refused", async () => {
      const dir = tempDir("watcher");
      await start(dir);
      await expect(start(dir)).to.be.rejectedWith("in use by another process");
    });

    it("a port in use is refused", async () => {
      const first = await start(tempDir("watcher"));
      const port = Number(new URL(first.url).port);
      await expect(start(tempDir("watcher"), { http: { host: "127.0.0.1", port } })).to.be.rejectedWith(
        `port ${port} on 127.0.0.1 is already in use`,
      );
    });

    it("a registry without NodeStaking says the module is absent", async () => {
      const [owner] = await hre.ethers.getSigners();
      const empty = await hre.ethers.deployContract("ModuleRegistry", [owner.address]);
      await expect(start(tempDir("watcher"), { registry: empty.target })).to.be.rejectedWith(
        "module NodeStaking is not deployed on chain 31337",
      );
    });

    it("an unreachable RPC endpoint is reported", async () => {
      await expect(start(tempDir("watcher"), { rpcUrl: "http://127.0.0.1:9" })).to.be.rejectedWith(
        "cannot reach the RPC endpoint http://127.0.0.1:9",
      );
    });
  });
});

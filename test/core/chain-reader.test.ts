import { expect } from "chai";
import { encodeBytes32String, JsonRpcProvider, Network, type Log } from "ethers";
import hre from "hardhat";
import { ChainReader, type LogHandler } from "../../offchain/core/chain-reader";
import { createLogger } from "../../offchain/core/log";
import { DurableStore } from "../../offchain/core/store";
import type { ModuleRegistry } from "../../typechain-types";
import { startRpc, tempDir, type TestRpc } from "../helpers/chain";

const quiet = createLogger({ level: "error", write: () => undefined });

describe("ChainReader", () => {
  let rpc: TestRpc;
  let provider: JsonRpcProvider;
  let registry: ModuleRegistry;
  let startBlock: number;
  const stores: DurableStore[] = [];

  before(async () => {
    rpc = await startRpc();
    provider = new JsonRpcProvider(rpc.url, Network.from(31337), { staticNetwork: true });
  });
  after(async () => {
    provider.destroy();
    await rpc.close();
  });
  beforeEach(async () => {
    const [owner] = await hre.ethers.getSigners();
    registry = await hre.ethers.deployContract("ModuleRegistry", [owner.address]);
    startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function openStore(dir = tempDir("reader")): Promise<DurableStore> {
    const store = await DurableStore.open(dir);
    stores.push(store);
    return store;
  }

  function reader(store: DurableStore, confirmations = 0, maxBlockRange?: number) {
    return new ChainReader({
      name: "test",
      provider,
      store,
      filters: [{ address: registry.target as string }],
      confirmations,
      startBlock,
      pollIntervalMs: 50,
      maxBlockRange,
      log: quiet,
    });
  }

  /** Registers `count` modules, one transaction (and block) each. */
  async function emit(count: number, offset = 0) {
    for (let i = 0; i < count; i++) {
      const name = encodeBytes32String(`m${offset + i}`);
      await registry.setModule(name, hre.ethers.Wallet.createRandom().address, "1");
    }
  }

  /** A handler that records every log it sees and persists a count with the cursor. */
  function recorder() {
    const seen: Log[] = [];
    const handler: LogHandler = async (logs) => {
      seen.push(...logs);
      return { ops: [{ type: "put", key: "count", value: seen.length }] };
    };
    return { seen, handler };
  }

  it("catchUp: processes only logs buried under the confirmation depth", async () => {
    const store = await openStore();
    await emit(3);
    const { seen, handler } = recorder();
    const r = reader(store, 2);
    await r.catchUp(handler);
    expect(seen).to.have.length(1);
    expect(r.processedBlock).to.equal((await provider.getBlockNumber()) - 2);
    await hre.network.provider.send("hardhat_mine", ["0x2"]);
    await r.catchUp(handler);
    expect(seen).to.have.length(3);
    expect(seen.map((log) => log.blockNumber)).to.deep.equal([...seen.map((log) => log.blockNumber)].sort());
  });

  it("catchUp: splits wide ranges and delivers every log exactly once, in order", async () => {
    const store = await openStore();
    await emit(5);
    const { seen, handler } = recorder();
    const ranges = await reader(store, 0, 2).catchUp(handler);
    expect(ranges).to.be.greaterThan(2);
    expect(seen).to.have.length(5);
    const names = seen.map((log) => registry.interface.parseLog(log)!.args.name as string);
    expect(names).to.deep.equal([0, 1, 2, 3, 4].map((i) => encodeBytes32String(`m${i}`)));
  });

  it("restart: resumes after the committed cursor without replaying", async () => {
    const dir = tempDir("reader");
    let store = await DurableStore.open(dir);
    await emit(2);
    const first = recorder();
    await reader(store).catchUp(first.handler);
    expect(first.seen).to.have.length(2);
    await store.close();

    await emit(3, 2);
    store = await openStore(dir);
    const second = recorder();
    const resumed = reader(store);
    await resumed.start(second.handler);
    await resumed.catchUp(second.handler);
    await resumed.stop();
    expect(second.seen).to.have.length(3);
    expect(await store.get<number>("count")).to.equal(3);
  });

  it("handler failure: commits nothing, and the same range is delivered again", async () => {
    const store = await openStore();
    await emit(2);
    const r = reader(store);
    const before = r.processedBlock;
    await expect(
      r.catchUp(async () => {
        throw new Error("disk full");
      }),
    ).to.be.rejectedWith("disk full");
    expect(r.processedBlock).to.equal(before);
    expect(await store.get("count")).to.equal(undefined);
    const { seen, handler } = recorder();
    await r.catchUp(handler);
    expect(seen).to.have.length(2);
  });

  it("background loop: retries a failing handler and stops after the range in flight", async () => {
    const store = await openStore();
    await emit(1);
    let attempts = 0;
    const delivered: Log[] = [];
    const r = reader(store);
    await r.start(async (logs) => {
      attempts += 1;
      if (attempts === 1) throw new Error("transient");
      delivered.push(...logs);
      return { ops: [] };
    });
    const deadline = Date.now() + 10_000;
    while (delivered.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await r.stop();
    expect(attempts).to.be.greaterThan(1);
    expect(delivered).to.have.length(1);
  });

  it("start: refuses a cursor whose block hash is not on this chain", async () => {
    const store = await openStore();
    await emit(1);
    await store.put("reader/test/cursor", { block: startBlock, hash: `0x${"ab".repeat(32)}` });
    await expect(reader(store).start(recorder().handler)).to.be.rejectedWith(
      /no longer holds block .* another chain, or a reorg/,
    );
  });
});

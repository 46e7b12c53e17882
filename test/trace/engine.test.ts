import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, keccak256, parseEther, toUtf8Bytes } from "ethers";
import hre from "hardhat";
import { Flow__factory, NodeStaking__factory } from "../../typechain-types";
import type { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { ZgError } from "../../offchain/core/errors";
import { RangeLogReader } from "../../offchain/core/log-range";
import { TraceEngine } from "../../offchain/core/trace";
import { traceText } from "../../offchain/core/trace-render";
import { connectDevnet } from "../../offchain/devnet/accounts";
import { traceSources } from "../../offchain/explorer/engine";
import { Explorer } from "../../offchain/explorer/server";
import { submissionRoot } from "../../offchain/storage/log";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { limitedRpc } from "../helpers/limited-rpc";

describe("trace engine", function () {
  this.timeout(120_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let chain: ZgChain;
  const roots: string[] = [];
  const operator = devAccount(5);

  before(async () => {
    rpc = await startRpc();
    // No iNFT, DA, serving or alignment: the trace and the explorer must do without them.
    record = await deployForTest("storage-only");
    const [user] = await hre.ethers.getSigners();
    const flow = Flow__factory.connect(record.modules.Flow.address, user);
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, user);
    await (await user.sendTransaction({ to: operator.address, value: parseEther("20") })).wait();
    await (
      await staking.connect(operator.connect(hre.ethers.provider)).stake(0, { value: parseEther("10") })
    ).wait();
    const price = await (await hre.ethers.getContractAt("IMarket", await flow.market())).pricePerSector();
    for (let n = 0; n < 12; n++) {
      const root = keccak256(toUtf8Bytes(`trace engine file ${n}`));
      await (
        await flow.submit(
          { data: { length: 256, tags: "0x", nodes: [{ root, height: 0 }] }, submitter: user.address },
          { value: price },
        )
      ).wait();
      roots.push(submissionRoot([{ root, height: 0 }]));
      // Spread the submissions over many blocks, so that bounded reads take many ranges.
      await hre.network.provider.send("hardhat_mine", ["0x7"]);
    }
    chain = await connectDevnet(rpc.url, record.registry, devAccount(1).privateKey);
  });

  after(async () => {
    chain?.destroy();
    await rpc?.close();
  });

  describe("RangeLogReader", () => {
    it("reads the same logs as one wide read through an endpoint that refuses ranges over 5 blocks", async () => {
      const limited = await limitedRpc(rpc.url, 5);
      const provider = new JsonRpcProvider(limited.url, 31337, { staticNetwork: true });
      try {
        const head = await provider.getBlockNumber();
        const topic = Flow__factory.createInterface().getEvent("Submit")!.topicHash;
        const reader = new RangeLogReader({ provider, startBlock: record.startBlock, maxBlockRange: 1000 });
        const logs = await reader.logs(record.modules.Flow.address, [topic], head);
        const wide = await chain.provider.getLogs({
          address: record.modules.Flow.address,
          topics: [topic],
          fromBlock: record.startBlock,
          toBlock: head,
        });
        expect(logs.map((log) => log.transactionHash)).to.deep.equal(wide.map((log) => log.transactionHash));
        expect(logs).to.have.length(12);
        expect(limited.refused).to.be.greaterThan(0);
      } finally {
        provider.destroy();
        limited.server.close();
      }
    });

    it("asks only for new blocks the second time, from its file too, and drops a cache of another chain", async () => {
      const file = path.join(tempDir("trace-cache"), "cache.json");
      const topic = Flow__factory.createInterface().getEvent("Submit")!.topicHash;
      const head = await chain.provider.getBlockNumber();
      const open = () =>
        new RangeLogReader({
          provider: chain.provider,
          startBlock: record.startBlock,
          maxBlockRange: 10,
          cacheFile: file,
        });
      const first = open();
      expect(await first.logs(record.modules.Flow.address, [topic], head)).to.have.length(12);
      expect(first.calls).to.be.greaterThan(5);
      await first.save();
      const again = open();
      expect(await again.logs(record.modules.Flow.address, [topic], head)).to.have.length(12);
      expect(again.calls).to.equal(0);
      await hre.network.provider.send("hardhat_mine", ["0x3"]);
      await again.logs(record.modules.Flow.address, [topic], head + 3);
      expect(again.calls).to.equal(1);
      // A cache of a chain that no longer holds its anchor block (a devnet started again): everything is read anew.
      await again.save();
      const saved = JSON.parse(readFileSync(file, "utf8")) as { anchor: { block: number; hash: string } };
      writeFileSync(
        file,
        JSON.stringify({ ...saved, anchor: { ...saved.anchor, hash: `0x${"00".repeat(32)}` } }),
      );
      const other = open();
      expect(await other.logs(record.modules.Flow.address, [topic], head + 3)).to.have.length(12);
      expect(other.calls).to.be.greaterThan(5);
    });
  });

  describe("TraceEngine on a profile without iNFT, DA, serving or alignment", () => {
    let engine: TraceEngine;

    before(async () => {
      const reader = new RangeLogReader({
        provider: chain.provider,
        startBlock: record.startBlock,
        maxBlockRange: 8,
      });
      engine = new TraceEngine({ chain, reader, sources: await traceSources() });
    });

    it("traces a storage root: its submission, block, time and submitter, and says what is absent", async () => {
      const trace = await engine.trace(roots[3]);
      expect(trace.roots).to.have.length(1);
      const [root] = trace.roots;
      expect(root.ref).to.deep.equal({ kind: "root", id: roots[3] });
      expect(root.events.map((e) => e.step)).to.deep.equal(["stored"]);
      const [stored] = root.events;
      const receipt = await chain.provider.getTransactionReceipt(stored.tx);
      expect(stored.block).to.equal(receipt?.blockNumber);
      expect(stored.actor).to.equal(receipt?.from);
      expect(stored.time).to.equal((await chain.provider.getBlock(stored.block))?.timestamp);
      expect(root.facts.join("\n")).to.include("no node has declared it");
      expect(trace.unverified).to.include(
        "module inft is not deployed on this chain: nothing of it is traced",
      );
      expect(traceText(trace)).to.include(`storage root ${roots[3]}`);
    });

    it("traces an operator and a transaction", async () => {
      const trace = await engine.trace(operator.address);
      expect(trace.roots[0].events.map((e) => e.step)).to.include("staked");
      expect(trace.roots[0].facts.join("\n")).to.include("STORAGE: bonded 10.0, active");
      const tx = trace.roots[0].events[0].tx;
      const byTx = await engine.trace(tx);
      expect(byTx.roots[0].ref).to.deep.equal({ kind: "tx", id: tx.toLowerCase() });
      expect(byTx.roots[0].children.map((child) => child.ref.id)).to.include(operator.address);
      expect(byTx.roots[0].facts[0]).to.match(
        new RegExp(`from ${operator.address} to .* \\(module staking\\), succeeded`),
      );
    });

    it("refuses what names nothing, in one line", async () => {
      for (const input of ["nonsense", "agent:1", `0x${"ab".repeat(32)}`]) {
        const error = await engine.trace(input).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error).to.be.instanceOf(ZgError);
        expect((error as ZgError).code).to.equal("NOT_FOUND");
        expect((error as ZgError).message).to.not.include("\n");
      }
    });

    it("serves explorer panels for the modules deployed, and none for the others", async () => {
      const state = await new Explorer(chain, engine).currentState();
      expect(state.panels.map((panel) => panel.title)).to.deep.equal(["Operators", "Files"]);
      expect(state.errors).to.deep.equal([]);
      const files = state.panels.find((panel) => panel.title === "Files")!;
      expect(files.rows.map((row) => row.trace)).to.include(`root:${roots[0]}`);
      expect(state.profile).to.equal("storage-only");
    });
  });
});

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Downloader, FixedPriceFlow__factory, MemData, StorageNode, Uploader } from "@0gfoundation/0g-ts-sdk";
import { expect } from "chai";
import { JsonRpcProvider, parseEther, Wallet } from "ethers";
import hre from "hardhat";
import { DurableStore } from "../../offchain/core/store";
import { waitForHttp } from "../../offchain/devnet/devnet";
import { computeFileMerkle, verifySegmentWithProof } from "../../offchain/storage/merkle";
import { StorageRpc } from "../../offchain/storage/rpc";
import { SegmentFiles } from "../../offchain/storage/segment-files";
import type { SegmentWithProof } from "../../offchain/storage/types";
import { Market__factory } from "../../typechain-types";
import { devAccount, tempDir } from "../helpers/chain";
import { flipSegmentBytes, useStorageNetwork, type TestStorageNode } from "../helpers/storage";
import { runZg } from "../helpers/process";

type TestNode = TestStorageNode;

describe("storage node and client", function () {
  this.timeout(180_000);
  const network = useStorageNetwork(100);
  const { startNode, stopNode, restartNode } = network;
  const client = (index = 90) => network.client(index);

  function sdkFlow(privateKey: string) {
    const provider = new JsonRpcProvider(network.rpc.url);
    return FixedPriceFlow__factory.connect(
      network.record.modules.Flow.address,
      new Wallet(privateKey, provider),
    );
  }

  it("interop: the official SDK uploads to our node, and our client downloads the same bytes", async () => {
    const node = await startNode({ shardId: 0, numShard: 1 }, "sdk");
    const bytes = randomBytes(3 * 262_144 + 1234);
    const uploader = new Uploader(
      [new StorageNode(node.url)],
      network.rpc.url,
      sdkFlow(devAccount(91).privateKey),
    );
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: devAccount(91).address, value: parseEther("5") })).wait();
    const [result, error] = await uploader.uploadFile(new MemData(bytes), {
      expectedReplica: 1,
      finalityRequired: true,
    });
    expect(error).to.equal(null);
    expect(result.rootHash).to.equal((await computeFileMerkle(bytes)).root);

    const { chain, storage } = await client();
    try {
      const out = path.join(tempDir("download"), "file");
      const downloaded = await storage.download(result.rootHash, out);
      expect(downloaded).to.include({ size: bytes.length, repaired: 0 });
      expect(downloaded.phases.elapsed).to.be.greaterThan(0);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    await stopNode(node);
  });

  it("interop: our client uploads, and the official SDK downloads the same bytes", async () => {
    const node = await startNode({ shardId: 0, numShard: 1 }, "ours");
    const bytes = randomBytes(262_144 + 1);
    const { chain, storage } = await client();
    try {
      const uploaded = await storage.upload(bytes, { region: "ours" });
      expect(uploaded.submitted).to.equal(true);
      const out = path.join(tempDir("sdk-download"), "file");
      const error = await new Downloader([new StorageNode(node.url)]).download(uploaded.root, out, true);
      expect(error).to.equal(null);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    await stopNode(node);
  });

  it("upgrade: a node whose store holds segments the earlier way (LevelDB values) moves them into segment files at start, and serves them", async () => {
    const node = await startNode({ shardId: 0, numShard: 1 }, "upgrade");
    const bytes = randomBytes(3 * 262_144 + 1000);
    const { chain, storage } = await client();
    try {
      const uploaded = await storage.upload(bytes, { region: "upgrade" });
      await stopNode(node);
      // Rewrite the data directory as the earlier version left it: the segments as store values, no segment files.
      const dir = path.join(node.dataDir, "segments");
      const [name] = readdirSync(dir);
      const seq = Number(name.slice(0, -".seg".length));
      const held = readFileSync(path.join(dir, name));
      const store = await DurableStore.open(node.dataDir);
      await store.batch([{ type: "del", key: "segments/adopted" }]);
      for (let index = 0; index < 4; index++) {
        const length = index < 3 ? 262_144 : 1024;
        const key = `file/${seq.toString().padStart(12, "0")}/segment/${index.toString().padStart(9, "0")}`;
        await store.putBytes(key, held.subarray(index * 262_144, index * 262_144 + length));
      }
      await store.close();
      await SegmentFiles.lose(node.dataDir);
      expect(readdirSync(dir)).to.deep.equal([]);

      await restartNode(node);
      const out = path.join(tempDir("download"), "file");
      await storage.download(uploaded.root, out);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
      expect(readdirSync(dir)).to.deep.equal([name]);
      await stopNode(node);
      const after = await DurableStore.open(node.dataDir);
      const left: string[] = [];
      for await (const key of after.keys("file/")) if (key.includes("/segment/")) left.push(key);
      await after.close();
      expect(left).to.deep.equal([]);
    } finally {
      chain.destroy();
    }
  });

  it("crash: a node process killed (SIGKILL) in the middle of an upload loses nothing it acknowledged, and the upload resumes to a file that downloads whole", async () => {
    const node = await startNode({ shardId: 0, numShard: 1 }, "crash");
    await stopNode(node);
    const configFile = path.join(tempDir("crash-config"), "node.json");
    writeFileSync(configFile, JSON.stringify({ ...node.config, logLevel: "warn" }));
    const spawnNode = () =>
      spawn(process.execPath, [path.resolve("bin/zg.js"), "node", "storage", "--config", configFile], {
        stdio: "ignore",
      });
    let child = spawnNode();
    await waitForHttp(`${node.url}/health`);
    const bytes = randomBytes(24 * 262_144 + 17);
    const { chain, storage } = await client();
    try {
      let acknowledged = 0;
      const onProgress = (event: { phase: string; done: number }) => {
        if (event.phase !== "upload" || event.done === 0 || acknowledged > 0) return;
        acknowledged = event.done;
        child.kill("SIGKILL");
      };
      const failure = await storage.upload(bytes, { region: "crash", onProgress }).then(
        () => "",
        (error: Error) => error.message,
      );
      expect(failure).to.include("already paid for");
      expect(acknowledged).to.be.greaterThan(0);
      child = spawnNode();
      await waitForHttp(`${node.url}/health`);
      const merkle = await computeFileMerkle(bytes);
      // What the node acknowledged before it died is held: at least as many segments as were acknowledged.
      const info = await new StorageRpc(node.url).fileInfo(merkle.root);
      expect(info!.uploadedSegNum).to.be.at.least(acknowledged);
      const resumed = await storage.upload(bytes, { region: "crash" });
      expect(resumed.submitted).to.equal(false);
      const out = path.join(tempDir("download"), "file");
      await storage.download(resumed.root, out);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
    }
  });

  it("restart and resume: a restarted node keeps its data; an interrupted upload resumes without paying twice", async () => {
    const first = await startNode({ shardId: 0, numShard: 2 }, "resume");
    const second = await startNode({ shardId: 1, numShard: 2 }, "resume");
    const bytes = randomBytes(8 * 262_144);
    const file = path.join(tempDir("upload"), "file");
    writeFileSync(file, bytes);
    const { chain, storage } = await client();
    try {
      // The second node is killed as soon as the first segments went out: the submission is paid already.
      let killed: Promise<void> | undefined;
      const onProgress = (event: { phase: string; done: number }) => {
        if (event.phase === "upload" && event.done > 0) killed ??= stopNode(second);
      };
      const failure = await storage.upload(file, { region: "resume", onProgress }).then(
        () => "",
        (error: Error) => error.message,
      );
      // One line that names the node and says how to finish without paying twice.
      expect(failure).to.match(/is unreachable \([A-Z_a-z]+\)|did not finalize/);
      expect(failure).to.include(second.url);
      expect(failure).to.match(
        /; the file 0x[0-9a-f]{64} is already paid for: run the same command again to resume without paying twice$/,
      );
      expect(failure).to.not.include("\n");
      await killed;
      const market = Market__factory.connect(network.record.modules.Market.address, hre.ethers.provider);
      const poolAfterFirst = await hre.ethers.provider.getBalance(await market.getAddress());
      await restartNode(second);
      const resumed = await storage.upload(file, { region: "resume" });
      expect(resumed.submitted).to.equal(false);
      expect(await hre.ethers.provider.getBalance(await market.getAddress())).to.equal(poolAfterFirst);

      await stopNode(first);
      await restartNode(first);
      const out = path.join(tempDir("download"), "file");
      await storage.download(resumed.root, out);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    await stopNode(first);
    await stopNode(second);
  });

  it("a node serving corrupted segments is detected, and the segment is fetched from another node", async () => {
    const honest = await startNode({ shardId: 0, numShard: 1 }, "corrupt");
    const liar = await startNode({ shardId: 0, numShard: 1 }, "corrupt");
    const bytes = randomBytes(2 * 262_144);
    const { chain, storage } = await client();
    try {
      const uploaded = await storage.upload(bytes, { region: "corrupt", replicas: 2 });
      await stopNode(liar);
      // Every segment file gets one byte flipped, in its first segment.
      flipSegmentBytes(liar, [100]);
      await restartNode(liar);
      const served = await new StorageRpc(liar.url).call<SegmentWithProof>("zgs_downloadSegmentWithProof", [
        uploaded.root,
        0,
      ]);
      expect(verifySegmentWithProof(served)).to.equal(false);

      const out = path.join(tempDir("download"), "file");
      await storage.download(uploaded.root, out);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    await stopNode(honest);
    await stopNode(liar);
  });

  it("a node that stops in the middle of a download: what it did not give comes from the other replica", async () => {
    const first = await startNode({ shardId: 0, numShard: 1 }, "midway");
    const second = await startNode({ shardId: 0, numShard: 1 }, "midway");
    const bytes = randomBytes(48 * 262_144 + 99);
    const { chain, storage } = await client();
    try {
      const uploaded = await storage.upload(bytes, { region: "midway", replicas: 2 });
      const out = path.join(tempDir("download"), "file");
      // The segments are spread over both nodes, a few batches in flight on each: one of them goes away after the
      // first segments arrived, with batches still asked of it.
      let stopped: Promise<void> | undefined;
      const result = await storage.download(uploaded.root, out, (event) => {
        if (event.phase === "download" && event.done >= 4) stopped ??= stopNode(second);
      });
      await stopped;
      expect(result).to.include({ size: bytes.length, repaired: 0 });
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    await stopNode(first);
  });

  it("4+2 parity: with two of six nodes gone, the file downloads intact", async () => {
    const nodes: TestNode[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await startNode({ shardId: i, numShard: 4 }, "ec"));
    for (let i = 0; i < 2; i++) nodes.push(await startNode({ shardId: i, numShard: 2 }, "ec"));
    const bytes = randomBytes(9 * 262_144 + 777);
    const { chain, storage } = await client();
    try {
      const uploaded = await storage.upload(bytes, { region: "ec", ec: { k: 4, m: 2 } });
      expect(uploaded.parity?.code).to.deep.equal({ k: 4, m: 2 });
      await stopNode(nodes[0]);
      await stopNode(nodes[2]);
      const out = path.join(tempDir("download"), "file");
      const result = await storage.download(uploaded.root, out);
      expect(result.repaired).to.be.greaterThan(0);
      expect(readFileSync(out).equals(bytes)).to.equal(true);
    } finally {
      chain.destroy();
    }
    for (const node of [nodes[1], nodes[3], nodes[4], nodes[5]]) await stopNode(node);
  });

  it("an upload with too little fee is refused with a clear error, and nothing is charged", async () => {
    const { chain, storage } = await client();
    try {
      const merkle = await computeFileMerkle(randomBytes(5000));
      const price = await storage.market.pricePerSector();
      const sectors = merkle.submission.nodes.reduce((sum, node) => sum + (1n << BigInt(node.height)), 0n);
      const pool = await hre.ethers.provider.getBalance(network.record.modules.Market.address);
      await expect(
        chain.send("submit", () =>
          storage.flow.submit(
            { data: merkle.submission, submitter: chain.address! },
            { value: sectors * price - 1n },
          ),
        ),
      ).to.be.rejectedWith(/submit: reverted with Flow\w*Fee\w*\(/);
      expect(await hre.ethers.provider.getBalance(network.record.modules.Market.address)).to.equal(pool);
    } finally {
      chain.destroy();
    }
  });

  it("zg storage root, upload, info and download through the CLI", async () => {
    const node = await startNode({ shardId: 0, numShard: 1 }, "cli");
    const dir = tempDir("cli");
    const file = path.join(dir, "input.bin");
    const bytes = randomBytes(2 * 262_144 + 99);
    writeFileSync(file, bytes);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: devAccount(92).address, value: parseEther("5") })).wait();
    const env = { ...process.env, ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR };
    const zg = (...args: string[]) =>
      runZg(["--rpc", network.rpc.url, "--registry", network.record.registry, ...args], env);

    const root = (await zg("storage", "root", file)).stdout.trim();
    expect(root).to.equal((await computeFileMerkle(bytes)).root);
    const uploaded = await zg(
      "--private-key",
      devAccount(92).privateKey,
      "--json",
      "storage",
      "upload",
      file,
      "--region",
      "cli",
    );
    expect(uploaded.code, uploaded.stderr).to.equal(0);
    expect(JSON.parse(uploaded.stdout)).to.include({ root, size: bytes.length, submitted: true });
    const info = JSON.parse((await zg("--json", "storage", "info", root)).stdout) as {
      nodes: { finalized: boolean }[];
    };
    expect(info.nodes.some((holder) => holder.finalized)).to.equal(true);
    const out = path.join(dir, "output.bin");
    const downloaded = await zg("storage", "download", root, out);
    expect(downloaded.code, downloaded.stderr).to.equal(0);
    expect(readFileSync(out).equals(bytes)).to.equal(true);

    const again = await zg("storage", "download", root, out);
    expect(again.code).to.not.equal(0);
    expect(again.stderr.trim()).to.equal(`zg: ${out} already exists: choose a new output path`);
    expect((await zg("storage", "download", "0x1234", path.join(dir, "x"))).stderr.trim()).to.equal(
      "zg: root '0x1234' is not a 32-byte 0x-hex hash",
    );
    expect((await zg("storage", "root", path.join(dir, "missing"))).stderr.trim()).to.equal(
      `zg: file ${path.join(dir, "missing")} does not exist`,
    );
    expect(
      (
        await zg("storage", "upload", file, "--ec", "4-2", "--private-key", devAccount(92).privateKey)
      ).stderr.trim(),
    ).to.match(/^zg: .*4-2/);
    await stopNode(node);
  });

  describe("malformed requests get JSON-RPC errors", () => {
    let node: TestNode;
    let root: string;
    let seq: number;
    before(async () => {
      node = await startNode({ shardId: 0, numShard: 2 }, "strict");
      const bytes = randomBytes(3 * 262_144);
      const { chain, storage } = await client();
      try {
        const merkle = await computeFileMerkle(bytes);
        const price = await storage.market.pricePerSector();
        const sectors = merkle.submission.nodes.reduce((sum, n) => sum + (1n << BigInt(n.height)), 0n);
        await chain.send("submit", () =>
          storage.flow.submit(
            { data: merkle.submission, submitter: chain.address! },
            { value: sectors * price },
          ),
        );
        root = merkle.root;
      } finally {
        chain.destroy();
      }
      const rpcClient = new StorageRpc(node.url);
      for (let i = 0; i < 50 && !(await rpcClient.fileInfo(root)); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      seq = (await rpcClient.fileInfo(root))!.tx.seq;
    });
    after(() => stopNode(node));

    async function refusal(method: string, params: unknown[]): Promise<string> {
      try {
        await new StorageRpc(node.url).call(method, params);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${method} was accepted`);
    }

    it("a segment whose proof does not lead to the root", async () => {
      const data = Buffer.alloc(262_144, 7).toString("base64");
      const segment = { root, data, index: 0, proof: { lemma: [root], path: [] }, fileSize: 3 * 262_144 };
      expect(await refusal("zgs_uploadSegmentsByTxSeq", [[segment], seq])).to.match(
        /Invalid params: segment 0: the proof does not lead to root/,
      );
    });

    it("a segment outside the node's shard, or the file, or of the wrong size", async () => {
      const base = { root, proof: { lemma: [root], path: [] }, fileSize: 3 * 262_144 };
      expect(await refusal("zgs_uploadSegmentsByTxSeq", [[{ ...base, index: 1, data: "" }], seq])).to.match(
        /not in this node's shard 0\/2/,
      );
      expect(await refusal("zgs_uploadSegmentsByTxSeq", [[{ ...base, index: 9, data: "" }], seq])).to.match(
        /outside the file's 3 segments/,
      );
      expect(
        await refusal("zgs_uploadSegmentsByTxSeq", [[{ ...base, index: 0, data: "AAAA" }], seq]),
      ).to.match(/has 3 bytes, expected 262144/);
      expect(
        await refusal("zgs_uploadSegmentsByTxSeq", [[{ ...base, index: 0, data: "%%%" }], seq]),
      ).to.match(/must be base64/);
    });

    it("an unknown root or txSeq, bad hashes, and bad sector ranges", async () => {
      expect(await refusal("zgs_uploadSegmentsByTxSeq", [[{}], 99_999])).to.match(/no log entry 99999 yet/);
      expect(await refusal("zgs_getFileInfo", ["0x1234"])).to.match(/root must be a 32-byte 0x-hex hash/);
      expect(await refusal("zgs_downloadSegment", [root, 5, 2])).to.match(/outside the file's 3072 sectors/);
      expect(await refusal("zgs_downloadSegment", [root, 1000, 1100])).to.match(/within one segment/);
      expect(await new StorageRpc(node.url).call("zgs_getFileInfo", [`0x${"11".repeat(32)}`, true])).to.equal(
        null,
      );
    });

    it("an oversized request is refused before it is read", async () => {
      const response = await fetch(node.url, {
        method: "POST",
        body: "x".repeat(40 * 1024 * 1024),
        headers: { "content-type": "application/json" },
      });
      expect(response.status).to.equal(413);
    });

    it("status and shard config answer in the 0G shapes", async () => {
      const status = await new StorageRpc(node.url).call<{
        networkIdentity: { flowAddress: string; chainId: number };
      }>("zgs_getStatus");
      expect(status.networkIdentity).to.include({
        flowAddress: network.record.modules.Flow.address,
        chainId: 31337,
      });
      expect(await new StorageRpc(node.url).shardConfig()).to.deep.equal({ shardId: 0, numShard: 2 });
    });
  });
});

/**
 * End-to-end storage throughput: a file uploaded to and downloaded from six local storage nodes (separate
 * processes, as operators run them: four quarter shards and two half shards), without and with 4+2 parity.
 * The chain is the in-process Hardhat network served over JSON-RPC; the file is random and on disk.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther } from "ethers";
import type {} from "@nomicfoundation/hardhat-ethers/internal/type-extensions";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deployProfile } from "../deploy/deploy-profile";
import { ZgChain } from "../offchain/core/chain";
import { devAccount } from "../offchain/devnet/accounts";
import { freePort, waitForHttp } from "../offchain/devnet/devnet";
import { StorageClient } from "../offchain/storage/client";
import { NodeStaking__factory } from "../typechain-types";
import type { Figure } from "./figure";

const FILE_BYTES = 64 * 1024 * 1024;
const SHARDS = [
  { shardId: 0, numShard: 4 },
  { shardId: 1, numShard: 4 },
  { shardId: 2, numShard: 4 },
  { shardId: 3, numShard: 4 },
  { shardId: 0, numShard: 2 },
  { shardId: 1, numShard: 2 },
];

export async function storageThroughput(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "zg-bench-e2e-"));
  process.env.ZG_DEPLOYMENTS_DIR = dir;
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const rpcUrl = `http://127.0.0.1:${(await server.listen()).port}`;
  const nodes: ChildProcess[] = [];
  let chain: ZgChain | undefined;
  try {
    const record = await deployProfile(hre, "no-token", path.join(dir, "31337.json"));
    const [governance] = await hre.ethers.getSigners();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, governance);
    for (const [n, shard] of SHARDS.entries()) {
      const operator = devAccount(200 + n);
      await (await governance.sendTransaction({ to: operator.address, value: parseEther("1") })).wait();
      await (await staking.setAdmitted(operator.address, 0, true)).wait();
      await (await staking.connect(operator.connect(hre.ethers.provider)).stake(0)).wait();
      const port = await freePort();
      const config = path.join(dir, `node-${n}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          rpcUrl,
          registry: record.registry,
          privateKey: operator.privateKey,
          dataDir: `node-${n}`,
          http: { host: "127.0.0.1", port },
          confirmations: 0,
          pollIntervalMs: 100,
          startBlock: record.startBlock,
          shard,
          publicUrl: `http://127.0.0.1:${port}`,
          logLevel: "warn",
        }),
      );
      nodes.push(
        spawn(
          process.execPath,
          [path.join(__dirname, "..", "bin", "zg.js"), "node", "storage", "--config", config],
          { stdio: "ignore" },
        ),
      );
      await waitForHttp(`http://127.0.0.1:${port}/health`);
    }
    const user = devAccount(210);
    await (await governance.sendTransaction({ to: user.address, value: parseEther("10") })).wait();
    chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl,
      expectedChainId: 31337,
      registry: record.registry,
      key: { kind: "privateKey", privateKey: user.privateKey },
    });
    const client = await StorageClient.connect(chain);
    const figures: Figure[] = [];
    const mb = FILE_BYTES / 1e6;
    for (const parity of [false, true]) {
      const file = path.join(dir, `file-${parity}`);
      const bytes = randomBytes(FILE_BYTES);
      writeFileSync(file, bytes);
      let start = performance.now();
      const uploaded = await client.upload(file, parity ? { ec: { k: 4, m: 2 } } : {});
      const uploadSeconds = (performance.now() - start) / 1000;
      const out = path.join(dir, `out-${parity}`);
      start = performance.now();
      await client.download(uploaded.root, out);
      const downloadSeconds = (performance.now() - start) / 1000;
      if (!readFileSync(out).equals(bytes)) throw new Error("the downloaded file differs");
      const suffix = parity ? "-ec-4+2" : "";
      figures.push(
        {
          name: `storage-upload-6-nodes${suffix}`,
          value: Math.round((mb / uploadSeconds) * 10) / 10,
          unit: "MB/s",
        },
        {
          name: `storage-download-6-nodes${suffix}`,
          value: Math.round((mb / downloadSeconds) * 10) / 10,
          unit: "MB/s",
        },
      );
    }
    const plain = figures[0].value;
    const withParity = figures[2].value;
    figures.push({
      name: "storage-upload-parity-cost",
      value: Math.round((1 - withParity / plain) * 1000) / 10,
      unit: "% of upload throughput",
    });
    return figures;
  } finally {
    chain?.destroy();
    for (const node of nodes) node.kill("SIGTERM");
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise((resolve) => (node.exitCode !== null ? resolve(null) : node.once("exit", resolve))),
      ),
    );
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

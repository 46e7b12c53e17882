import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { DurableStore, type StoreOp } from "../../offchain/core/store";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { DANodeApi, packCells } from "../../offchain/da/api";
import { Encoder, encodeCommitments } from "../../offchain/da/blob";
import { DAClient } from "../../offchain/da/client";
import { BLOB_PAYLOAD_BYTES, custodyCells } from "../../offchain/da/types";
import { workerDefinition } from "../../offchain/modules";
import { DAEntrance__factory, NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { expectFailure, expectSuccess, freePort, runZg, until } from "../helpers/process";

const DA_SIGNER = 1;

interface TestDANode {
  address: string;
  url: string;
  dataDir: string;
  config: Record<string, unknown>;
  handle?: WorkerHandle;
  child?: ChildProcess;
}

describe("DA nodes and the sampler", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const nodes: TestDANode[] = [];
  const handles: WorkerHandle[] = [];
  const chains: ZgChain[] = [];

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
  });
  after(async () => {
    for (const node of nodes) node.child?.kill("SIGKILL");
    await Promise.all(handles.map((handle) => handle.stop()));
    for (const chain of chains) chain.destroy();
    await rpc.close();
  });

  async function fundAndStake(index: number): Promise<string> {
    const operator = devAccount(index);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: operator.address, value: parseEther("20") })).wait();
    const staking = NodeStaking__factory.connect(
      record.modules.NodeStaking.address,
      operator.connect(hre.ethers.provider),
    );
    await (await staking.stake(DA_SIGNER, { value: parseEther("10") })).wait();
    return operator.privateKey;
  }

  async function daConfig(index: number, kind = "da", extra: Record<string, unknown> = {}) {
    const privateKey = await fundAndStake(index);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    return {
      address: devAccount(index).address,
      url,
      config: {
        rpcUrl: rpc.url,
        registry: record.registry,
        privateKey,
        dataDir: tempDir(kind),
        http: { host: "127.0.0.1", port },
        confirmations: 0,
        pollIntervalMs: 100,
        startBlock: record.startBlock,
        ...(kind === "da" ? { publicUrl: url } : {}),
        ...extra,
      } as Record<string, unknown>,
    };
  }

  async function startInProcess(kind: string, config: Record<string, unknown>): Promise<WorkerHandle> {
    const handle = await startWorker(await workerDefinition(kind), config, {
      write: process.env.DEBUG_DA
        ? (line: string) => process.stderr.write(`${kind}: ${line}`)
        : () => undefined,
    });
    handles.push(handle);
    return handle;
  }

  function spawnNode(configFile: string): ChildProcess {
    return spawn(process.execPath, [path.resolve("bin/zg.js"), "node", "da", "--config", configFile], {
      env: process.env,
      stdio: "ignore",
    });
  }

  async function userClient(index: number): Promise<DAClient> {
    const user = devAccount(index);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: user.address, value: parseEther("10") })).wait();
    const chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl: rpc.url,
      expectedChainId: 31337,
      registry: record.registry,
      key: { kind: "privateKey", privateKey: user.privateKey },
    });
    chains.push(chain);
    return DAClient.connect(chain);
  }

  const mine = (blocks: number) => hre.network.provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);

  it("four nodes (one of them a process killed -9 mid-dispersal and restarted) hold, sign, serve and keep a payload", async () => {
    // Three nodes in this process, one as a child process on a config file.
    for (let n = 0; n < 3; n++) {
      const setup = await daConfig(420 + n);
      nodes.push({
        ...setup,
        dataDir: setup.config.dataDir as string,
        handle: await startInProcess("da", setup.config),
      });
    }
    const setup = await daConfig(423);
    const configFile = path.join(tempDir("da-config"), "da.json");
    writeFileSync(configFile, JSON.stringify(setup.config));
    const child: TestDANode = {
      ...setup,
      dataDir: setup.config.dataDir as string,
      child: spawnNode(configFile),
    };
    nodes.push(child);
    await until(
      () =>
        fetch(`${child.url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      Boolean,
      60_000,
    );

    const client = await userClient(430);
    // The next epoch counts every registered key.
    const epochBlocks = Number(await client.signers.epochBlocks());
    await mine(epochBlocks);

    // Bad input first: each refused with one clear line.
    const stray = `0x${"ab".repeat(32)}`;
    const post = (url: string, route: string, body: unknown) =>
      fetch(`${url}${route}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const errorOf = async (response: Response) => ({
      status: response.status,
      message: ((await response.json()) as { error: { message: string } }).error.message,
    });
    expect(
      await errorOf(
        await post(nodes[0].url, `/v1/da/payloads/${stray}`, {
          commitments: "0x" + "00".repeat(48),
          length: 1,
        }),
      ),
    ).to.deep.equal({
      status: 400,
      message: `the commitments and length do not hash to ${stray}`,
    });
    expect(
      (await errorOf(await post(nodes[0].url, `/v1/da/payloads/${stray}/signature`, { epoch: "1" }))).status,
    ).to.equal(404);
    expect(
      await errorOf(await fetch(`${nodes[0].url}/v1/da/payloads/${stray}/blobs/0/cells/3`)),
    ).to.deep.include({ status: 404 });

    // A payload encoded but not yet submitted is refused: nothing unpaid is stored.
    const encoder = new Encoder({ threads: 1 });
    const data = randomBytes(2 * BLOB_PAYLOAD_BYTES + 77);
    const encoded = await encoder.encode(data).finally(() => encoder.close());
    const packed = encodeCommitments(encoded.commitment.commitments);
    const offer = { commitments: `0x${Buffer.from(packed).toString("hex")}`, length: data.length };
    expect(
      (await errorOf(await post(nodes[0].url, `/v1/da/payloads/${encoded.id}`, offer))).message,
    ).to.match(/is not submitted on chain/);

    // Paid for: the child node takes half of its cells, is killed -9, and keeps what it acknowledged.
    const fee = (await client.entrance.params()).feePerBlob * 3n;
    await (await client.entrance.submit(packed, data.length, { value: fee })).wait();
    await (await client.signers.freezeEpoch()).wait().catch(() => undefined);
    const epoch = await client.currentEpoch();
    const set = await client.epoch(epoch);
    expect(set.signers).to.have.length(4);
    const index = set.signers.findIndex((s) => s.operator === child.address);
    const custody = custodyCells(index, 4);
    expect((await post(child.url, `/v1/da/payloads/${encoded.id}`, offer)).status).to.equal(200);
    const put = (url: string, blob: number, cells: Uint8Array[], proofs: Uint8Array[]) =>
      fetch(`${url}/v1/da/payloads/${encoded.id}/blobs/${blob}?epoch=${epoch}`, {
        method: "PUT",
        body: packCells(cells, proofs),
      });
    const blob0 = encoded.blobs[0];
    // A corrupted cell is refused before anything is stored.
    const corrupted = custody.map((c) => Uint8Array.from(blob0.cells[c]));
    corrupted[5][100] ^= 1;
    expect(
      await errorOf(
        await put(
          child.url,
          0,
          corrupted,
          custody.map((c) => blob0.proofs[c]),
        ),
      ),
    ).to.deep.equal({
      status: 400,
      message: "a cell proof of blob 0 does not verify against its commitment",
    });
    // The wrong number of cells, likewise.
    expect((await put(child.url, 0, blob0.cells.slice(0, 3), blob0.proofs.slice(0, 3))).status).to.equal(400);
    const ok = await put(
      child.url,
      0,
      custody.map((c) => blob0.cells[c]),
      custody.map((c) => blob0.proofs[c]),
    );
    expect(ok.status).to.equal(200);
    // It will not sign while blobs 1 and 2 are missing.
    expect(
      await errorOf(
        await post(child.url, `/v1/da/payloads/${encoded.id}/signature`, { epoch: epoch.toString() }),
      ),
    ).to.deep.equal({
      status: 409,
      message: `not signing: 64 of its 64 cells of blob 1 are missing`,
    });
    child.child?.kill("SIGKILL");
    await new Promise((resolve) => child.child?.once("exit", resolve));
    child.child = spawnNode(configFile);
    await until(
      () =>
        fetch(`${child.url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      Boolean,
      60_000,
    );
    const served = (await (
      await fetch(`${child.url}/v1/da/payloads/${encoded.id}/blobs/0/cells/${custody[0]}`)
    ).json()) as { cell: string };
    expect(served.cell).to.equal(`0x${Buffer.from(blob0.cells[custody[0]]).toString("hex")}`);

    // The SDK resumes: no second payment, every node signs, the quorum attests.
    const result = await client.submit(data, { threads: 1 });
    expect(result).to.deep.include({ id: encoded.id, blobs: 3, submitted: false, attested: true });
    expect(result.signed).to.have.length(4);
    // Killed -9 again after it signed: everything it signed for is still there after the restart.
    child.child?.kill("SIGKILL");
    await new Promise((resolve) => child.child?.once("exit", resolve));
    child.child = spawnNode(configFile);
    await until(
      () =>
        fetch(`${child.url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      Boolean,
      60_000,
    );
    for (let b = 0; b < 3; b++) {
      const held = await new DANodeApi(child.url).blobCells(encoded.id, b);
      expect(held.indices, `blob ${b}`).to.deep.equal([...custody].sort((x, y) => x - y));
    }
    const back = await client.get(encoded.id);
    expect(Buffer.from(back).equals(data)).to.equal(true);
    const report = await client.sample(encoded.id, { samples: 8 });
    expect(report.failures).to.deep.equal([]);
    expect(report.confidence).to.equal(1 - 2 ** -8);
  });

  it("a dispersal that outlasts its epoch starts over in the epoch of the moment, and attests there", async () => {
    const client = await userClient(433);
    const epochBlocks = Number(await client.signers.epochBlocks());
    const data = randomBytes(BLOB_PAYLOAD_BYTES);
    const before = await client.currentEpoch();
    let mining: Promise<unknown> | undefined;
    let attempts = 0;
    const result = await client.submit(data, {
      threads: 1,
      onProgress: (p) => {
        // Two epochs pass while the first dispersal runs: its signatures are for an epoch that can no longer attest.
        if (p.phase === "disperse" && !mining) mining = mine(2 * epochBlocks);
        if (p.phase === "attest" && p.done === 0) attempts++;
      },
    });
    await mining;
    expect(attempts).to.equal(2);
    expect(result).to.deep.include({ attested: true, submitted: true });
    expect(
      result.epoch >= before + 2n,
      `attested in epoch ${result.epoch}, first tried in ${before}`,
    ).to.equal(true);
    expect((await client.payload(result.id)).attestation?.epoch).to.equal(result.epoch);
  });

  it("a node that signed and then lost its cells is caught by the sampler and slashed once; honest nodes never are", async () => {
    const client = await userClient(431);

    const data = randomBytes(BLOB_PAYLOAD_BYTES);
    const result = await client.submit(data, { threads: 1 });
    expect(result.signed).to.have.length(4);

    // Node 1 loses every cell it holds of the new payload (stopped, those cells deleted, started again on the same
    // data); it keeps the first test's payload, which the sampler checks as well.
    const lossy = nodes[1];
    await lossy.handle?.stop();
    const store = await DurableStore.open(lossy.dataDir);
    const lost: StoreOp[] = [];
    for await (const key of store.keys(`da/cell/${result.id}/`)) lost.push({ type: "del", key });
    expect(lost).to.have.length(64);
    await store.batch(lost);
    await store.close();
    lossy.handle = await startInProcess("da", lossy.config);
    const sampler = await daConfig(440, "sampler", { samples: 16, resampleEveryMs: 200 });
    await startInProcess("sampler", sampler.config);

    const entrance = DAEntrance__factory.connect(record.modules.DAEntrance.address, hre.ethers.provider);
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, hre.ethers.provider);
    const bondedBefore = await Promise.all(
      nodes.map(async (n) => (await staking.positionOf(n.address, DA_SIGNER)).bonded),
    );
    await until(
      async () => (await entrance.queryFilter(entrance.filters.Challenged())).length,
      (n) => n > 0,
      120_000,
    );
    // Let the answer window pass; the sampler settles it.
    await mine(Number((await entrance.params()).responseWindow) + 1);
    await until(
      async () => (await staking.positionOf(lossy.address, DA_SIGNER)).jailedUntil,
      (t) => t > 0n,
      120_000,
    );
    // More resampling rounds: no second challenge or slash for the same fault, nobody else touched.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await mine(Number((await entrance.params()).responseWindow) + 1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const opened = await entrance.queryFilter(entrance.filters.Challenged());
    expect(opened.map((e) => e.args.signer)).to.deep.equal([lossy.address]);
    const slashes = await staking.queryFilter(staking.filters.Slashed(lossy.address));
    expect(slashes).to.have.length(1);
    for (const [i, node] of nodes.entries()) {
      const position = await staking.positionOf(node.address, DA_SIGNER);
      if (node === lossy) expect(position.bonded).to.be.below(bondedBefore[i]);
      else {
        expect(position.bonded).to.equal(bondedBefore[i]);
        expect(position.jailedUntil).to.equal(0n);
      }
    }
  });

  it("zg da: submit, status, sample and get through the CLI; bad input gets one line", async () => {
    const user = devAccount(432);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: user.address, value: parseEther("10") })).wait();
    const env = {
      ...process.env,
      ZG_RPC_URL: rpc.url,
      ZG_PRIVATE_KEY: user.privateKey,
      ZG_HOME: tempDir("home"),
    };
    const zg = (args: string[]) => runZg(args, env);
    const file = path.join(tempDir("da-cli"), "payload.bin");
    const data = randomBytes(50_000);
    writeFileSync(file, data);

    const submitted = JSON.parse(expectSuccess(await zg(["--json", "da", "submit", file]))) as {
      id: string;
      blobs: number;
      submitted: boolean;
    };
    expect(submitted).to.deep.include({ blobs: 1, submitted: true });
    // Again: resumed, not paid twice.
    expect(expectSuccess(await zg(["da", "submit", file]))).to.match(/already submitted: resumed/);
    const status = JSON.parse(expectSuccess(await zg(["--json", "da", "status", submitted.id]))) as {
      attested: boolean;
      length: number;
    };
    expect(status).to.deep.include({ attested: true, length: 50_000 });
    expect(expectSuccess(await zg(["da", "sample", submitted.id, "--samples", "4"]))).to.match(
      /confidence\s+93\.75 %/,
    );
    const out = path.join(tempDir("da-cli"), "back.bin");
    expect(expectSuccess(await zg(["da", "get", submitted.id, out]))).to.match(/wrote 50000 bytes/);
    expect(readFileSync(out).equals(data)).to.equal(true);

    const unknown = `0x${"12".repeat(32)}`;
    expect(expectFailure(await zg(["da", "status", unknown]))).to.equal(
      `zg: no DA payload ${unknown} was submitted on this chain`,
    );
    expect(expectFailure(await zg(["da", "get", "0x1234", out]))).to.equal(
      "zg: id '0x1234' is not a 32-byte 0x-hex hash",
    );
    expect(expectFailure(await zg(["da", "get", submitted.id, out]))).to.match(/exists/);
    expect(expectFailure(await zg(["da", "submit", path.join(tempDir("da-cli"), "missing")]))).to.match(
      /^zg: .*(no such file|not found|does not exist)/i,
    );
    expect(expectFailure(await zg(["da", "sample", submitted.id, "--samples", "0"]))).to.match(/^zg: /);
  });
});

import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import type { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { connectDevnet } from "../../offchain/devnet/accounts";
import { baseModel, trainModel } from "../../offchain/engine/builtin";
import { BuiltinEngine } from "../../offchain/engine/engines";
import { agentChatRoute, authHeader } from "../../offchain/inft/auth";
import { InftClient } from "../../offchain/inft/client";
import { NodeStaking__factory } from "../../typechain-types";
import { devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { deployInftModules, deploymentRecordOf, deployServingModules } from "../helpers/modules";
import { oracleWorker } from "../helpers/oracle";
import { freePort } from "../helpers/process";
import { startStakedStorageNode, type TestStorageNode } from "../helpers/storage";
import { Role } from "../helpers/staking-fixture";

const ROOT = path.resolve(__dirname, "..", "..");
const quiet = () => undefined;

/** Funds devnet account `index` and stakes it in `role`; returns its key. */
async function stakedOperator(record: DeploymentRecord, index: number, role: number) {
  const operator = devAccount(index);
  const [funder] = await hre.ethers.getSigners();
  await (await funder.sendTransaction({ to: operator.address, value: parseEther("20") })).wait();
  const staking = NodeStaking__factory.connect(
    record.modules.NodeStaking.address,
    operator.connect(hre.ethers.provider),
  );
  await (await staking.stake(role, { value: parseEther("5") })).wait();
  return operator;
}

/** The base config of an oracle worker of `operator` on this chain, listening on a free port. */
async function oracleConfig(rpc: TestRpc, record: DeploymentRecord, privateKey: string) {
  const port = await freePort();
  return {
    url: `http://127.0.0.1:${port}`,
    config: {
      rpcUrl: rpc.url,
      registry: record.registry,
      privateKey,
      dataDir: tempDir("oracle-host"),
      http: { host: "127.0.0.1", port },
      confirmations: 0,
      startBlock: record.startBlock,
    },
  };
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return {
    status: response.status,
    message: ((await response.json()) as { error?: { message: string } }).error?.message,
  };
}

describe("oracle host: the iNFT service without inference serving", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let storageNode: TestStorageNode;
  let oracle: WorkerHandle;
  let oracleUrl: string;
  let oracleKey: string;
  const chains: ZgChain[] = [];

  before(async () => {
    rpc = await startRpc();
    const [governance, treasury] = await hre.ethers.getSigners();
    const startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
    const { registry } = await deployInftModules(governance, treasury, 0n);
    record = await deploymentRecordOf(registry, "inft-only fixture", startBlock);
    process.env.ZG_HOME = tempDir("oracle-host-home");
    storageNode = await startStakedStorageNode(record, rpc.url, 140);
    oracleKey = (await stakedOperator(record, 141, Role.ORACLE)).privateKey;
    const setup = await oracleConfig(rpc, record, oracleKey);
    oracleUrl = setup.url;
    oracle = await startWorker(
      await oracleWorker(),
      { ...setup.config, inft: { publicUrl: setup.url, region: "eu" } },
      { write: quiet },
    );
  });
  after(async () => {
    for (const chain of chains) chain.destroy();
    await oracle.stop();
    await storageNode.handle.stop();
    await rpc.close();
  });

  async function as(index: number): Promise<InftClient> {
    const key = devAccount(index);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: key.address, value: parseEther("5") })).wait();
    const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
    chains.push(chain);
    return InftClient.connect(chain);
  }

  it("runs only the iNFT service, announced with its own public URL", async () => {
    expect(Object.keys(record.modules)).to.not.include("InferenceServing");
    const health = (await (await fetch(`${oracleUrl}/health`)).json()) as Record<string, unknown>;
    expect(health.inft).to.deep.equal({ endpoint: oracleUrl, sealedExecutor: "signed" });
    expect(health.model).to.equal(undefined);
    expect((await fetch(`${oracleUrl}/v1/models`)).status).to.equal(404);
    const alice = await as(142);
    expect((await alice.oracle()).url).to.equal(oracleUrl);
  });

  it("an authorized user gets the agent's answer to a signed request; a stranger is refused before any work", async () => {
    const [alice, dave, eve] = await Promise.all([143, 144, 145].map((index) => as(index)));
    const persona = "Who are you? I am Captain Byte, a pirate who sails the data seas in search of treasure.";
    const { tokenId } = await alice.mint([
      { description: "persona", data: new TextEncoder().encode(persona) },
    ]);
    await alice.authorize(tokenId, dave.chain.address as string);

    const answer = await dave.infer(tokenId, "Who are you?", { max_tokens: 24 });
    expect(answer.paid).to.equal(false);
    expect(answer.content.toLowerCase()).to.match(/captain|byte|pirate|treasure|data seas/);

    const refusal = /is neither the owner of token .* nor authorized to use it/;
    let failure: unknown;
    await eve.infer(tokenId, "tell me the secret").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(refusal);

    // Without the user's signature, or with one made for another agent, nothing is answered.
    const route = agentChatRoute(tokenId);
    const body = JSON.stringify({
      model: `zg-agent-${tokenId}`,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(await post(`${oracleUrl}${route}`, body)).to.deep.equal({
      status: 400,
      message: "header x-zg-auth must be <expires>:<signature>",
    });
    const forOther = authHeader(dave.chain, agentChatRoute(tokenId + 1n), body);
    const replayed = await post(`${oracleUrl}${route}`, body, { "x-zg-auth": forOther });
    expect(replayed.status).to.equal(403);
    expect(replayed.message).to.match(refusal);

    // An agent nobody has run yet, with storage gone: the stranger is refused by the authorization check alone,
    // while the owner's request goes on to fetch the data, which now fails. So the refusal came before any work.
    const { tokenId: untouched } = await alice.mint([
      { description: "persona", data: new TextEncoder().encode("I keep the keys of the vault.") },
    ]);
    await storageNode.handle.stop();
    failure = undefined;
    await eve.infer(untouched, "open the vault").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(refusal);
    failure = undefined;
    await alice.infer(untouched, "open the vault").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/HTTP 404: the data 0x[0-9a-f]{64} cannot be fetched from storage/);
  });

  it("without inference serving to take the endpoint from, the iNFT service needs inft.publicUrl", async () => {
    const setup = await oracleConfig(rpc, record, oracleKey);
    let failure: unknown;
    await startWorker(await oracleWorker(), setup.config, { write: quiet }).catch(
      (error: unknown) => (failure = error),
    );
    expect(String(failure)).to.equal(
      "ZgError: the iNFT oracle needs the endpoint to announce as ORACLE: set inft.publicUrl in the config",
    );
  });
});

describe("oracle host: the iNFT service keeps trained agents within inft.agentCacheBytes", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let storageNode: TestStorageNode;
  let oracle: WorkerHandle;
  let oracleUrl: string;
  const chains: ZgChain[] = [];
  let record: DeploymentRecord;
  const personas = [
    "Who are you? I am Captain Byte, a pirate who sails the data seas.",
    "Who are you? I am Doctor Root, who hashes every file twice.",
  ];

  before(async () => {
    rpc = await startRpc();
    const [governance, treasury] = await hre.ethers.getSigners();
    const startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
    const { registry } = await deployInftModules(governance, treasury, 0n);
    record = await deploymentRecordOf(registry, "inft-only fixture", startBlock);
    process.env.ZG_HOME = tempDir("oracle-host-cache-home");
    storageNode = await startStakedStorageNode(record, rpc.url, 147);
    const setup = await oracleConfig(
      rpc,
      record,
      (await stakedOperator(record, 148, Role.ORACLE)).privateKey,
    );
    oracleUrl = setup.url;
    // Room for one trained agent, not two (the estimate is the one the oracle makes).
    const oneAgent = Math.max(
      ...personas.map((text) => new BuiltinEngine(trainModel([text], baseModel())).memoryBytes),
    );
    oracle = await startWorker(
      await oracleWorker(),
      { ...setup.config, inft: { publicUrl: setup.url, agentCacheBytes: Math.floor(oneAgent * 1.5) } },
      { write: quiet },
    );
  });
  after(async () => {
    for (const chain of chains) chain.destroy();
    await oracle?.stop();
    await storageNode?.handle.stop();
    await rpc.close();
  });

  async function trainings(): Promise<number> {
    const text = await (await fetch(`${oracleUrl}/metrics`)).text();
    return Number(/^zg_inft_operations_total\{[^}]*kind="train"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it("a second agent evicts the first: asking A, A, B, A trains three models", async () => {
    const key = devAccount(149);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: key.address, value: parseEther("5") })).wait();
    const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
    chains.push(chain);
    const alice = await InftClient.connect(chain);
    const tokens: bigint[] = [];
    for (const persona of personas) {
      tokens.push(
        (await alice.mint([{ description: "persona", data: new TextEncoder().encode(persona) }])).tokenId,
      );
    }
    const before = await trainings();
    for (const index of [0, 0, 1, 0]) await alice.infer(tokens[index], "Who are you?", { max_tokens: 8 });
    expect((await trainings()) - before).to.equal(3);
  });
});

describe("oracle host: inference serving without the iNFT module", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let oracle: WorkerHandle;
  let oracleUrl: string;

  before(async () => {
    rpc = await startRpc();
    const [governance, treasury] = await hre.ethers.getSigners();
    const startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
    const { registry } = await deployServingModules(governance, treasury);
    const record = await deploymentRecordOf(registry, "inference-only fixture", startBlock);
    const provider = await stakedOperator(record, 146, Role.PROVIDER);
    const setup = await oracleConfig(rpc, record, provider.privateKey);
    oracleUrl = setup.url;
    oracle = await startWorker(
      await oracleWorker(),
      { ...setup.config, service: { publicUrl: setup.url, inputPrice: "0", outputPrice: "0" } },
      { write: quiet },
    );
  });
  after(async () => {
    await oracle.stop();
    await rpc.close();
  });

  it("serves inference; the iNFT routes are not there", async () => {
    const health = (await (await fetch(`${oracleUrl}/health`)).json()) as Record<string, unknown>;
    expect(health.model).to.equal("zg-builtin-1");
    expect(health.inft).to.equal(undefined);
    expect((await fetch(`${oracleUrl}/v1/models`)).status).to.equal(200);
    expect((await fetch(`${oracleUrl}/v1/inft/identity`)).status).to.equal(404);
    const chat = await fetch(`${oracleUrl}${agentChatRoute(1n)}`, { method: "POST", body: "{}" });
    expect(chat.status).to.equal(404);
  });

  it("loads no iNFT code: the inference service alone, composed in a fresh process, imports nothing of offchain/inft", () => {
    const script = [
      `const { composeWorker } = require(${JSON.stringify(path.join(ROOT, "offchain", "core", "worker"))});`,
      `const { inferenceService } = require(${JSON.stringify(path.join(ROOT, "offchain", "serving", "oracle"))});`,
      `const inft = ${JSON.stringify(`${path.sep}offchain${path.sep}inft${path.sep}`)};`,
      "const loaded = () => Object.keys(require.cache).filter((file) => file.includes(inft)).length;",
      'composeWorker("oracle", [inferenceService]);',
      "const before = loaded();",
      // The same check sees the iNFT service once it is imported: it would see an import from serving.
      `require(${JSON.stringify(path.join(ROOT, "offchain", "inft", "oracle"))});`,
      "process.stdout.write(JSON.stringify({ before, after: loaded() }));",
    ].join("\n");
    const output = execFileSync(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), "-e", script],
      { cwd: ROOT, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") } },
    ).toString();
    const { before, after } = JSON.parse(output) as { before: number; after: number };
    expect(before).to.equal(0);
    expect(after).to.be.greaterThan(0);
  });
});

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import hre from "hardhat";
import { AlignmentClient } from "../../offchain/alignment/client";
import { DEFAULT_POLICY } from "../../offchain/alignment/policy";
import type { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { connectDevnet } from "../../offchain/devnet/accounts";
import { BuiltinEngine, builtinInputTokens, canonicalRequest } from "../../offchain/engine/engines";
import { workerDefinition } from "../../offchain/modules";
import { ServingClient } from "../../offchain/serving/client";
import { InferenceSession } from "../../offchain/serving/inference";
import {
  feeOf,
  requestHash,
  responseHash,
  ServingDomain,
  statementOf,
  type Receipt,
} from "../../offchain/serving/protocol";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { oracleWorker } from "../helpers/oracle";
import { freePort, until } from "../helpers/process";
import { startStakedStorageNode } from "../helpers/storage";

const PROVIDER = 2;
const ALIGNMENT = 4;
const PRICE = 1000n;

/**
 * Three alignment nodes against two providers: an honest oracle (the real worker, audited through its real audit
 * endpoint) and a malicious provider played by the test, which signs a deterministic answer that is not what its
 * model says. The nodes must find the malicious one by re-execution, file one dispute, vote, and have it slashed
 * exactly once, leave the honest one alone, and not vote or file again after a restart.
 */
describe("alignment nodes", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const handles: WorkerHandle[] = [];
  const chains: ZgChain[] = [];
  let fake: Server | undefined;

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
    process.env.ZG_HOME = tempDir("alignment-home");
  });
  after(async () => {
    await Promise.all(handles.map((handle) => handle.stop()));
    for (const chain of chains) chain.destroy();
    fake?.close();
    await rpc.close();
  });

  async function account(index: number, stakeRole?: number, stake = "10") {
    const key = devAccount(index);
    // Not account 0: the license's minter signs with it through its own nonce manager.
    const [, funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: key.address, value: parseEther("30") })).wait();
    if (stakeRole !== undefined) {
      const staking = NodeStaking__factory.connect(
        record.modules.NodeStaking.address,
        key.connect(hre.ethers.provider),
      );
      await (await staking.stake(stakeRole, { value: parseEther(stake) })).wait();
    }
    const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
    chains.push(chain);
    return { key, chain };
  }

  async function start(kind: string, config: Record<string, unknown>) {
    const definition = kind === "oracle" ? await oracleWorker() : await workerDefinition(kind);
    const handle = await startWorker(definition, config, { write: () => undefined });
    handles.push(handle);
    return handle;
  }

  async function baseConfig(privateKey: string) {
    const port = await freePort();
    return {
      url: `http://127.0.0.1:${port}`,
      config: {
        rpcUrl: rpc.url,
        registry: record.registry,
        privateKey,
        dataDir: tempDir("worker"),
        http: { host: "127.0.0.1", port },
        confirmations: 0,
        pollIntervalMs: 100,
        startBlock: record.startBlock,
      } as Record<string, unknown>,
    };
  }

  it("find the provider whose deterministic answer re-execution contradicts, dispute it once, and spare the honest one", async () => {
    await startStakedStorageNode(record, rpc.url, 460);
    const governance = await account(461);
    const client = await AlignmentClient.connect(governance.chain);
    // The deployer (account 0) is the license's minter; governance here is account 461, so mint as account 0.
    const [deployer] = await hre.ethers.getSigners();
    const minter = await connectDevnet(rpc.url, record.registry, devAccount(0).privateKey);
    chains.push(minter);
    expect(deployer.address).to.equal(devAccount(0).address);
    const minting = await AlignmentClient.connect(minter);
    await minting.publishPolicy(DEFAULT_POLICY);

    // The honest provider: the real oracle with the built-in model, and one real paid answer.
    const honest = await account(462, PROVIDER);
    const honestSetup = await baseConfig(honest.key.privateKey);
    await start("oracle", {
      ...honestSetup.config,
      engine: "builtin",
      service: { publicUrl: honestSetup.url, inputPrice: PRICE.toString(), outputPrice: PRICE.toString() },
      inft: { publicUrl: honestSetup.url },
    });
    const user = await account(463);
    const serving = await ServingClient.connect(user.chain);
    await serving.deposit(parseEther("1"));
    await serving.fund(honest.key.address, parseEther("0.5"));
    const session = await InferenceSession.open(serving, honest.key.address);
    await session.chat([{ role: "user", content: "what is a storage node?" }], { max_tokens: 16 });

    // The malicious provider: registers the built-in deterministic model and signs an answer it did not compute.
    const cheat = await account(464, PROVIDER);
    const cheatServing = await ServingClient.connect(cheat.chain);
    const builtin = new BuiltinEngine();
    const request = canonicalRequest(
      {
        model: builtin.model,
        messages: [{ role: "user", content: "what is a storage node?" }],
        max_tokens: 16,
      },
      builtin.model,
    );
    const content = "A storage node is a kind of fish.";
    const domain = new ServingDomain(31337, record.modules.InferenceServing.address);
    const victim = Wallet.createRandom();
    const inputTokens = builtinInputTokens(request);
    const outputTokens = 8;
    const fee = feeOf(inputTokens, outputTokens, PRICE, PRICE);
    const tampered: Receipt = {
      version: 1,
      chainId: 31337,
      serving: record.modules.InferenceServing.address,
      provider: cheat.key.address,
      signer: cheat.key.address,
      user: victim.address,
      modelHash: builtin.modelHash,
      deterministic: true,
      request,
      response: { content, finishReason: "stop" },
      inputTokens,
      outputTokens,
      inputPrice: PRICE.toString(),
      outputPrice: PRICE.toString(),
      fee: fee.toString(),
      seq: 1,
      cumulative: fee.toString(),
      requestHash: requestHash(request),
      responseHash: responseHash(content),
      signature: "",
      requestSignature: victim.signingKey.sign(
        domain.requestDigest({
          user: victim.address,
          provider: cheat.key.address,
          requestHash: requestHash(request),
          seq: 1n,
        }),
      ).serialized,
      createdAt: Date.now(),
    };
    tampered.signature = cheat.key.signingKey.sign(domain.responseDigest(statementOf(tampered))).serialized;
    fake = createServer((req, res) => {
      const page = (req.url ?? "").includes("after=")
        ? { receipts: [], next: null }
        : { receipts: [tampered], next: "1" };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(page));
    });
    await new Promise<void>((resolve) => fake?.listen(0, "127.0.0.1", resolve));
    await cheatServing.ensureService({
      model: builtin.model,
      modelHash: builtin.modelHash,
      url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
      inputPrice: PRICE,
      outputPrice: PRICE,
      region: "",
      signer: cheat.key.address,
      deterministic: true,
    });

    // Three alignment nodes, one license each.
    const nodes: { config: Record<string, unknown>; handle: WorkerHandle }[] = [];
    for (let n = 0; n < 3; n++) {
      const operator = await account(470 + n, ALIGNMENT, "1");
      await minting.mintLicense(operator.key.address);
      const setup = await baseConfig(operator.key.privateKey);
      const config = { ...setup.config, auditIntervalMs: 300, sampleRate: 1 };
      nodes.push({ config, handle: await start("alignment", config) });
    }

    // One dispute (several nodes found the fault; the chain takes it once), three votes, then the vote ends.
    const disputes = client.disputes;
    await until(
      async () => (await disputes.queryFilter(disputes.filters.Voted())).length,
      (n) => n >= 3,
      120_000,
    );
    const filed = await disputes.queryFilter(disputes.filters.DisputeFiled());
    expect(filed).to.have.length(1);
    const dispute = client.parseDisputeFiled(filed[0]);
    expect(dispute).to.deep.include({ provider: cheat.key.address, kind: "REEXECUTION" });

    // A node restarted mid-vote neither votes nor files again.
    await nodes[0].handle.stop();
    handles.splice(handles.indexOf(nodes[0].handle), 1);
    nodes[0].handle = await start("alignment", nodes[0].config);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await disputes.queryFilter(disputes.filters.Voted())).to.have.length(3);
    // The nodes reserved their licenses' vote words first: no vote paid for a fresh storage slot.
    for (const voted of await disputes.queryFilter(disputes.filters.Voted())) {
      const receipt = await hre.ethers.provider.getTransactionReceipt(voted.transactionHash);
      expect(receipt!.gasUsed).to.be.lessThan(60_000n);
    }

    await hre.network.provider.send("hardhat_mine", ["0x20"]);
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, hre.ethers.provider);
    await until(
      async () => (await staking.positionOf(cheat.key.address, PROVIDER)).jailedUntil,
      (t) => t > 0n,
      120_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await staking.queryFilter(staking.filters.Slashed(cheat.key.address))).to.have.length(1);
    expect(await disputes.queryFilter(disputes.filters.DisputeFiled())).to.have.length(1);
    const [summary] = await client.listDisputes(BigInt(dispute?.id as string));
    expect(summary).to.deep.include({ status: "upheld", voters: 3, outcome: 10 });
    const honestPosition = await staking.positionOf(honest.key.address, PROVIDER);
    expect(honestPosition.jailedUntil).to.equal(0n);
    expect(honestPosition.bonded).to.equal(parseEther("10"));
  });
});

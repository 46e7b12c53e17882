import { expect } from "chai";
import { encodeBytes32String, parseEther } from "ethers";
import hre from "hardhat";
import { deployProfile } from "../../deploy/deploy-profile";
import { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { validate } from "../../offchain/core/config";
import { MODULES } from "../../offchain/modules";
import { loadProfile, profileModules, profileNames, profileSchema } from "../../offchain/profiles";
import { StakingClient } from "../../offchain/staking/client";
import {
  AgentNFT__factory,
  InferenceServing__factory,
  ModuleRegistry__factory,
  NodeStaking__factory,
  OracleVerifier__factory,
  ServingLedger__factory,
  StorageChallenges__factory,
} from "../../typechain-types";
import {
  ALL_MODULE_CONTRACTS,
  deployForTest,
  devAccount,
  FULL_PROFILE_MODULES,
  startRpc,
  type TestRpc,
} from "../helpers/chain";

/** A valid staking section, for profiles that only test another module's section. */
const STAKING = loadProfile("full").modules.staking;

// keccak256("eip1967.proxy.implementation") - 1
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/**
 * One deployment of each profile for the whole file (an Ignition deployment takes seconds); the tests that change
 * state do it with accounts of their own. Points `ZG_DEPLOYMENTS_DIR` at the profile's record each time.
 */
const deployments = new Map<string, { dir: string; record: DeploymentRecord }>();
async function deployed(profile: string): Promise<DeploymentRecord> {
  let entry = deployments.get(profile);
  if (!entry) {
    const record = await deployForTest(profile);
    entry = { dir: process.env.ZG_DEPLOYMENTS_DIR as string, record };
    deployments.set(profile, entry);
  }
  process.env.ZG_DEPLOYMENTS_DIR = entry.dir;
  return entry.record;
}

describe("deploy profiles", () => {
  let rpc: TestRpc;
  before(async () => {
    rpc = await startRpc();
  });
  after(async () => {
    await rpc.close();
  });

  it("full: deploys the registry and NodeStaking behind a proxy with the profile's parameters", async () => {
    const record = await deployed("full");
    expect(record.profile).to.equal("full");
    expect(record.modules.NodeStaking.version).to.equal("1.0.0");
    const registry = ModuleRegistry__factory.connect(record.registry, hre.ethers.provider);
    expect(await registry.getModule(encodeBytes32String("NodeStaking"))).to.equal(
      record.modules.NodeStaking.address,
    );
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, hre.ethers.provider);
    expect(await staking.mode()).to.equal(0n);
    expect(await staking.registry()).to.equal(record.registry);
    expect(await staking.minStake(0)).to.equal(parseEther("10"));
    expect(await staking.minStake(4)).to.equal(parseEther("1"));
    expect(await staking.unbondingDelay()).to.equal(604_800n);
    expect((await staking.slashParams()).reporterShareBps).to.equal(1000n);
    const implementation = await hre.ethers.provider.getStorage(
      record.modules.NodeStaking.address,
      IMPLEMENTATION_SLOT,
    );
    expect(implementation).to.not.equal(`0x${"0".repeat(64)}`);
  });

  it("full: deploys AgentNFT (not behind a proxy) with the profile's mint fee, and the OracleVerifier", async () => {
    const record = await deployed("full");
    expect(record.modules.AgentNFT.version).to.equal("1.0.0");
    expect(record.modules.OracleVerifier.version).to.equal("1.0.0");
    const nft = AgentNFT__factory.connect(record.modules.AgentNFT.address, hre.ethers.provider);
    expect(await nft.mintFee()).to.equal(parseEther("0.01"));
    expect(await nft.registry()).to.equal(record.registry);
    expect(await nft.name()).to.equal("zerog Agent");
    const domain = await nft.eip712Domain();
    expect([domain.name, domain.version, domain.verifyingContract]).to.deep.equal([
      "zerog AgentNFT",
      "1",
      record.modules.AgentNFT.address,
    ]);
    const implementation = await hre.ethers.provider.getStorage(
      record.modules.AgentNFT.address,
      IMPLEMENTATION_SLOT,
    );
    expect(implementation).to.equal(`0x${"0".repeat(64)}`);
    const verifier = OracleVerifier__factory.connect(
      record.modules.OracleVerifier.address,
      hre.ethers.provider,
    );
    expect(await verifier.registry()).to.equal(record.registry);
    expect((await verifier.eip712Domain()).name).to.equal("zerog OracleVerifier");
  });

  it("the SDK finds the deployment from the record alone", async () => {
    const record = await deployed("full");
    const chain = await ZgChain.connect({ network: "localhost", rpcUrl: rpc.url, expectedChainId: 31337 });
    try {
      expect(chain.registryAddress).to.equal(record.registry);
      expect(await chain.modules()).to.deep.equal(
        FULL_PROFILE_MODULES.map((name) => ({
          name,
          address: record.modules[name].address,
          version: "1.0.0",
        })),
      );
    } finally {
      chain.destroy();
    }
  });

  it("no-token: staking is permissioned and a whole operator lifecycle moves no coin", async () => {
    const record = await deployed("no-token");
    const firstBlock = await hre.ethers.provider.getBlockNumber();
    const signers = await hre.ethers.getSigners();
    const connect = (index: number) =>
      ZgChain.connect({
        network: "localhost",
        rpcUrl: rpc.url,
        expectedChainId: 31337,
        key: { kind: "privateKey", privateKey: devKey(index) },
      });
    const governance = await connect(0);
    const operator = await connect(7);
    try {
      const asGovernance = await StakingClient.connect(governance);
      const asOperator = await StakingClient.connect(operator);
      expect(asOperator.mode).to.equal("permissioned");
      await expect(asOperator.deposit("STORAGE", 0n)).to.be.rejectedWith("StakingNotAdmitted");
      await expect(asOperator.deposit("STORAGE", parseEther("1"))).to.be.rejectedWith("runs without a token");
      await asGovernance.setAdmitted(signers[7].address, "STORAGE", true);
      await asOperator.deposit("STORAGE", 0n);
      await asOperator.announce("STORAGE", { endpoint: "http://127.0.0.1:5678", region: "eu" });
      expect((await asOperator.status(signers[7].address, "STORAGE")).active).to.equal(true);
      expect((await asOperator.activeNodes("STORAGE")).map((node) => node.region)).to.deep.equal(["eu"]);
      await expect(asOperator.unbond("STORAGE", 1n)).to.be.rejectedWith("StakingNoTokenMode");
      await asOperator.exit("STORAGE");
      await expect(asOperator.withdraw("STORAGE")).to.be.rejectedWith("StakingNothingToWithdraw");
    } finally {
      governance.destroy();
      operator.destroy();
    }
    expect(await hre.ethers.provider.getBalance(record.modules.NodeStaking.address)).to.equal(0n);
    const nft = AgentNFT__factory.connect(record.modules.AgentNFT.address, hre.ethers.provider);
    expect(await nft.mintFee()).to.equal(0n);
    const head = await hre.ethers.provider.getBlockNumber();
    let transactions = 0;
    for (let number = record.startBlock; number <= head; number++) {
      const block = await hre.ethers.provider.getBlock(number, true);
      for (const tx of block!.prefetchedTransactions) {
        expect(tx.value, `value of ${tx.hash}`).to.equal(0n);
        transactions += 1;
      }
    }
    expect(head).to.be.greaterThan(firstBlock);
    expect(transactions).to.be.greaterThan(4);
  });

  it("full: serving with a ledger whose refunds lock for a day, both behind proxies and wired through the registry", async () => {
    const record = await deployed("full");
    const ledger = ServingLedger__factory.connect(record.modules.ServingLedger.address, hre.ethers.provider);
    const serving = InferenceServing__factory.connect(
      record.modules.InferenceServing.address,
      hre.ethers.provider,
    );
    expect(await ledger.lockTime()).to.equal(86_400n);
    expect(await ledger.registry()).to.equal(record.registry);
    expect(await serving.registry()).to.equal(record.registry);
    for (const name of ["ServingLedger", "InferenceServing"]) {
      const implementation = await hre.ethers.provider.getStorage(
        record.modules[name].address,
        IMPLEMENTATION_SLOT,
      );
      expect(implementation, name).to.not.equal(`0x${"0".repeat(64)}`);
    }
  });

  it("no-token: InferenceServing without a ledger; an admitted provider registers a free service only", async () => {
    const record = await deployed("no-token");
    expect(record.modules).to.have.property("InferenceServing");
    expect(record.modules).to.not.have.property("ServingLedger");
    const [governance, , , , , , , , provider] = await hre.ethers.getSigners();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, governance);
    const serving = InferenceServing__factory.connect(record.modules.InferenceServing.address, provider);
    await (await staking.setAdmitted(provider.address, 2, true)).wait();
    await (await staking.connect(provider).stake(2)).wait();
    const free = {
      model: "zg-builtin-1",
      modelHash: hre.ethers.id("zg-builtin-1"),
      url: "http://127.0.0.1:8080/v1",
      inputPrice: 0n,
      outputPrice: 0n,
      region: encodeBytes32String("eu"),
      signer: provider.address,
      deterministic: true,
    };
    await expect(serving.register({ ...free, inputPrice: 1n })).to.be.revertedWithCustomError(
      serving,
      "ServingPaidWithoutLedger",
    );
    await (await serving.register(free)).wait();
    expect(await serving.isRegistered(provider.address)).to.equal(true);
    const voucher = { user: governance.address, amount: 0n, nonce: 1n, signature: "0x" };
    await expect(serving.settle([voucher])).to.be.revertedWithCustomError(serving, "ServingNoLedger");
  });

  it("testnet: the full stack with challenge epochs sized for a public network", async () => {
    const record = await deployed("testnet");
    expect(Object.keys(record.modules).sort()).to.deep.equal([...ALL_MODULE_CONTRACTS]);
    const challenges = StorageChallenges__factory.connect(
      record.modules.StorageChallenges.address,
      hre.ethers.provider,
    );
    const params = await challenges.params();
    expect(params.epochBlocks).to.equal(1200n);
    expect(params.responseWindow).to.equal(200n);
    expect(params.slashAmount).to.equal(parseEther("1"));
    const nft = AgentNFT__factory.connect(record.modules.AgentNFT.address, hre.ethers.provider);
    expect(await nft.mintFee()).to.equal(parseEther("0.001"));
  });

  it("an unknown profile is refused with the list of profiles", async () => {
    await expect(deployProfile(hre, "nope")).to.be.rejectedWith(
      `unknown profile 'nope' (profiles: ${profileNames().join(", ")})`,
    );
  });

  it("a malformed profile is refused with the field at fault", () => {
    expect(() =>
      validate(profileSchema, { description: "x", modules: { staking: { mode: "gold" } } }, "profile bad"),
    ).to.throw(/^profile bad: field 'modules.staking.mode' invalid enum value/);
    expect(() =>
      validate(profileSchema, { description: "x", modules: { inft: { mintFee: "free" } } }, "profile bad"),
    ).to.throw(/^profile bad: field 'modules.inft.mintFee' must be a decimal amount of coin/);
  });

  it("a profile naming a module without one it requires is refused with one line naming the missing module", () => {
    const { storage: _storage, ...withoutStorage } = loadProfile("full").modules;
    expect(() =>
      validate(profileSchema, { description: "x", modules: withoutStorage }, "profile bad"),
    ).to.throw(/^profile bad: module 'inft' requires module 'storage', which the profile leaves out$/);
    expect(() =>
      validate(profileSchema, { description: "x", modules: { serving: { ledger: false } } }, "profile bad"),
    ).to.throw(/^profile bad: module 'serving' requires module 'staking', which the profile leaves out$/);
  });

  for (const name of profileNames()) {
    it(`profile ${name}: deploys exactly the contracts of the modules it names`, async () => {
      const profile = loadProfile(name);
      const record = await deployed(name);
      const named = profileModules(profile);
      const declared = new Map(
        MODULES.flatMap((module) =>
          Object.values(module.contracts).map((c) => [c.name, module.name] as const),
        ),
      );
      for (const contract of Object.keys(record.modules)) {
        expect(
          named.map((m) => m.name),
          `${contract} of ${name}`,
        ).to.include(declared.get(contract));
      }
      for (const module of named) {
        const first = Object.values(module.contracts)[0].name;
        expect(record.modules, `${module.name} in ${name}`).to.have.property(first);
      }
      const registry = ModuleRegistry__factory.connect(record.registry, hre.ethers.provider);
      expect((await registry.moduleNames()).length).to.equal(Object.keys(record.modules).length);
    });
  }

  it("a serving profile with a ledger needs a lock time within [60 s, 30 days]; one without takes none", () => {
    const serving = (value: unknown) =>
      validate(
        profileSchema,
        { description: "x", modules: { staking: STAKING, serving: value } },
        "profile bad",
      );
    expect(() => serving({ ledger: true })).to.throw(
      "profile bad: missing required field 'modules.serving.lockTimeSeconds'",
    );
    expect(() => serving({ ledger: true, lockTimeSeconds: 59 })).to.throw(
      /^profile bad: field 'modules.serving.lockTimeSeconds' number must be greater than or equal to 60/,
    );
    expect(() => serving({ ledger: false, lockTimeSeconds: 60 })).to.throw(
      "profile bad: unknown field 'modules.serving.lockTimeSeconds'",
    );
    expect(serving({ ledger: false }).modules.serving).to.deep.equal({ ledger: false });
  });
});

function devKey(index: number): string {
  return devAccount(index).privateKey;
}

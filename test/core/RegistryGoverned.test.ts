/**
 * The governance shared by the registry-governed module contracts (contracts/core/RegistryGoverned.sol and its UUPS
 * variant): governance is the registry's owner at call time, anyone else is refused with the module's own error,
 * UUPS implementations cannot be initialized, and every ERC-7201 namespace sits at the slot its name gives.
 * Each module's own tests cover its governance functions; this file checks them side by side (AlignmentLicense
 * has no governance function: its rules are fixed at deployment).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseContract, ContractTransactionResponse, Interface } from "ethers";
import {
  AgentNFT__factory,
  AlignmentPolicy__factory,
  AlignmentRewards__factory,
  DAEntrance__factory,
  DASigners__factory,
  Disputes__factory,
  Flow__factory,
  InferenceServing__factory,
  Market__factory,
  NodeStaking__factory,
  ServingLedger__factory,
  StorageChallenges__factory,
  ZgProxy__factory,
} from "../../typechain-types";
import { DEFAULT_PARAMS, deployChallenges } from "../storage/challenges-fixture";
import { DEFAULT_PARAMS as DA_PARAMS } from "../da/da-fixture";
import { DEFAULT_PARAMS as DISPUTE_PARAMS } from "../alignment/alignment-fixture";
import { JAIL_PERIOD, MIN_STAKES, REPORTER_SHARE_BPS, UNBONDING_DELAY } from "../helpers/staking-fixture";

/** A module as this test sees it: its contract, its "not governance" error and one governance call. */
interface Governed {
  name: string;
  error: string;
  contract: BaseContract & { registry(): Promise<string> };
  /** A governance call by `as`: succeeds when `as` is governance. */
  govern(as: HardhatEthersSigner): Promise<ContractTransactionResponse>;
}

/** A UUPS module, as far as upgrading goes. */
interface Upgradeable {
  connect(signer: HardhatEthersSigner): {
    upgradeToAndCall(to: string, data: string): Promise<ContractTransactionResponse>;
  };
}

/**
 * The storage stack of the challenges fixture, plus the ServingLedger, InferenceServing, an AgentNFT, DASigners and
 * DAEntrance, Disputes, AlignmentRewards and the AlignmentPolicy.
 */
async function deployAllFixture() {
  const f = await deployChallenges();
  const { governance } = f;
  const registryAddress = await f.registry.getAddress();
  const proxy = async (implementation: { getAddress(): Promise<string> }, init: string): Promise<string> =>
    (await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), init)).getAddress();
  const ledgerImplementation = await new ServingLedger__factory(governance).deploy();
  const ledger = ServingLedger__factory.connect(
    await proxy(
      ledgerImplementation,
      ledgerImplementation.interface.encodeFunctionData("initialize", [registryAddress, 86_400]),
    ),
    governance,
  );
  const servingImplementation = await new InferenceServing__factory(governance).deploy();
  const serving = InferenceServing__factory.connect(
    await proxy(
      servingImplementation,
      servingImplementation.interface.encodeFunctionData("initialize", [registryAddress]),
    ),
    governance,
  );
  const nft = await new AgentNFT__factory(governance).deploy(registryAddress, 0n);
  const signersImplementation = await new DASigners__factory(governance).deploy();
  const signers = DASigners__factory.connect(
    await proxy(
      signersImplementation,
      signersImplementation.interface.encodeFunctionData("initialize", [registryAddress, 10]),
    ),
    governance,
  );
  const signersAddress = await signers.getAddress();
  const entranceImplementation = await new DAEntrance__factory(governance).deploy(signersAddress);
  const entrance = DAEntrance__factory.connect(
    await proxy(
      entranceImplementation,
      entranceImplementation.interface.encodeFunctionData("initialize", [registryAddress, DA_PARAMS]),
    ),
    governance,
  );
  const disputesImplementation = await new Disputes__factory(governance).deploy();
  const disputes = Disputes__factory.connect(
    await proxy(
      disputesImplementation,
      disputesImplementation.interface.encodeFunctionData("initialize", [registryAddress, DISPUTE_PARAMS]),
    ),
    governance,
  );
  const rewardsImplementation = await new AlignmentRewards__factory(governance).deploy();
  const rewards = AlignmentRewards__factory.connect(
    await proxy(
      rewardsImplementation,
      rewardsImplementation.interface.encodeFunctionData("initialize", [registryAddress, 20]),
    ),
    governance,
  );
  const policy = await new AlignmentPolicy__factory(governance).deploy(registryAddress);

  // A fresh implementation of each UUPS module to upgrade to, and the arguments its `initialize` takes.
  const implementations = {
    NodeStaking: await new NodeStaking__factory(governance).deploy(),
    Market: await new Market__factory(governance).deploy(),
    Flow: await new Flow__factory(governance).deploy(f.marketAddress),
    StorageChallenges: await new StorageChallenges__factory(governance).deploy(),
    ServingLedger: await new ServingLedger__factory(governance).deploy(),
    InferenceServing: await new InferenceServing__factory(governance).deploy(),
    DASigners: await new DASigners__factory(governance).deploy(),
    DAEntrance: await new DAEntrance__factory(governance).deploy(signersAddress),
    Disputes: await new Disputes__factory(governance).deploy(),
    AlignmentRewards: await new AlignmentRewards__factory(governance).deploy(),
  };
  const initializeArgs: Record<keyof typeof implementations, unknown[]> = {
    NodeStaking: [
      registryAddress,
      0,
      [...MIN_STAKES],
      UNBONDING_DELAY,
      { reporterShareBps: REPORTER_SHARE_BPS, jailPeriod: JAIL_PERIOD, treasury: f.treasury.address },
    ],
    Market: [registryAddress, 0n],
    Flow: [registryAddress],
    StorageChallenges: [registryAddress, DEFAULT_PARAMS],
    ServingLedger: [registryAddress, 86_400],
    InferenceServing: [registryAddress],
    DASigners: [registryAddress, 10],
    DAEntrance: [registryAddress, DA_PARAMS],
    Disputes: [registryAddress, DISPUTE_PARAMS],
    AlignmentRewards: [registryAddress, 20],
  };
  // The upgrade to a fresh implementation is the governance call every UUPS module has.
  const upgrade =
    (module: Upgradeable, next: { getAddress(): Promise<string> }) =>
    async (as: HardhatEthersSigner): Promise<ContractTransactionResponse> =>
      module.connect(as).upgradeToAndCall(await next.getAddress(), "0x");

  const modules: Governed[] = [
    {
      name: "NodeStaking",
      error: "StakingNotGovernance",
      contract: f.staking,
      govern: upgrade(f.staking, implementations.NodeStaking),
    },
    {
      name: "Market",
      error: "MarketNotGovernance",
      contract: f.market,
      govern: upgrade(f.market, implementations.Market),
    },
    {
      name: "Flow",
      error: "FlowNotGovernance",
      contract: f.flow,
      govern: upgrade(f.flow, implementations.Flow),
    },
    {
      name: "StorageChallenges",
      error: "ChallengesNotGovernance",
      contract: f.challenges,
      govern: upgrade(f.challenges, implementations.StorageChallenges),
    },
    {
      name: "ServingLedger",
      error: "LedgerNotGovernance",
      contract: ledger,
      govern: upgrade(ledger, implementations.ServingLedger),
    },
    {
      name: "InferenceServing",
      error: "ServingNotGovernance",
      contract: serving,
      govern: upgrade(serving, implementations.InferenceServing),
    },
    {
      name: "AgentNFT",
      error: "AgentNFTNotGovernance",
      contract: nft,
      govern: (as) => nft.connect(as).setMintFee(1n),
    },
    {
      name: "DASigners",
      error: "DASignersNotGovernance",
      contract: signers,
      govern: upgrade(signers, implementations.DASigners),
    },
    {
      name: "DAEntrance",
      error: "DANotGovernance",
      contract: entrance,
      govern: upgrade(entrance, implementations.DAEntrance),
    },
    {
      name: "Disputes",
      error: "DisputesNotGovernance",
      contract: disputes,
      govern: upgrade(disputes, implementations.Disputes),
    },
    {
      name: "AlignmentRewards",
      error: "RewardsNotGovernance",
      contract: rewards,
      govern: upgrade(rewards, implementations.AlignmentRewards),
    },
    {
      name: "AlignmentPolicy",
      error: "PolicyNotGovernance",
      contract: policy,
      govern: (as) => policy.connect(as).setPolicy(ethers.id("policy"), 100n),
    },
  ];
  return { ...f, registryAddress, modules, implementations, initializeArgs };
}

/** `keccak256(abi.encode(uint256(keccak256(namespace)) - 1)) & ~bytes32(uint256(0xff))`. */
function erc7201(namespace: string): string {
  const inner = BigInt(ethers.id(namespace)) - 1n;
  const outer = BigInt(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [inner])));
  return ethers.toBeHex(outer & ~0xffn, 32);
}

function solidityFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return solidityFiles(full);
    return entry.name.endsWith(".sol") ? [full] : [];
  });
}

describe("RegistryGoverned", function () {
  it("every module reports its registry", async function () {
    const { modules, registryAddress } = await loadFixture(deployAllFixture);
    for (const module of modules) {
      expect(await module.contract.registry(), module.name).to.equal(registryAddress);
    }
  });

  it("every module refuses a stranger with its own error", async function () {
    const { modules, stranger } = await loadFixture(deployAllFixture);
    for (const module of modules) {
      await expect(module.govern(stranger), module.name)
        .to.be.revertedWithCustomError(module.contract, module.error)
        .withArgs(stranger.address);
    }
  });

  it("governance follows the registry owner in every module at once", async function () {
    const { modules, registry, governance, stranger } = await loadFixture(deployAllFixture);
    await registry.transferOwnership(stranger.address);
    await registry.connect(stranger).acceptOwnership();
    for (const module of modules) {
      await expect(module.govern(governance), module.name)
        .to.be.revertedWithCustomError(module.contract, module.error)
        .withArgs(governance.address);
      await expect(module.govern(stranger), module.name).not.to.be.reverted;
    }
  });

  it("no UUPS implementation contract can be initialized", async function () {
    const { implementations, initializeArgs, governance } = await loadFixture(deployAllFixture);
    for (const [name, implementation] of Object.entries(implementations)) {
      const data = (implementation.interface as Interface).encodeFunctionData(
        "initialize",
        initializeArgs[name as keyof typeof implementations],
      );
      await expect(
        governance.sendTransaction({ to: await implementation.getAddress(), data }),
        name,
      ).to.be.revertedWithCustomError(implementation, "InvalidInitialization");
    }
  });

  it("every ERC-7201 namespace's slot constant is the slot of its name", async function () {
    const files = solidityFiles(path.join(__dirname, "..", "..", "contracts"));
    let namespaces = 0;
    for (const file of files) {
      const source = readFileSync(file, "utf8");
      const locations = [...source.matchAll(/@custom:storage-location erc7201:([\w.]+)/g)];
      if (locations.length === 0) continue;
      expect(locations, file).to.have.length(1);
      const slot = /_STORAGE_SLOT =\s*(0x[0-9a-fA-F]{64});/.exec(source);
      expect(slot, `${file}: no _STORAGE_SLOT`).to.not.equal(null);
      expect(slot![1].toLowerCase(), file).to.equal(erc7201(locations[0][1]));
      namespaces++;
    }
    // NodeStaking, Flow, Market, StorageChallenges, DASigners, DAEntrance, ServingLedger, InferenceServing, Disputes
    // and AlignmentRewards.
    expect(namespaces).to.equal(10);
  });
});

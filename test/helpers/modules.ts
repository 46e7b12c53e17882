import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ethers } from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import {
  AgentNFT__factory,
  Flow__factory,
  InferenceServing__factory,
  Market__factory,
  ModuleRegistry__factory,
  NodeStaking__factory,
  OracleVerifier__factory,
  ZgProxy__factory,
  type AgentNFT,
  type Flow,
  type InferenceServing,
  type Market,
  type ModuleRegistry,
  type NodeStaking,
  type OracleVerifier,
} from "../../typechain-types";
import {
  JAIL_PERIOD,
  MIN_STAKES,
  Mode,
  REPORTER_SHARE_BPS,
  UNBONDING_DELAY,
  type ModeId,
} from "./staking-fixture";

/** A registry with NodeStaking and the storage log (Market and Flow) registered, as modules built on them need. */
export interface StakedStorageStack {
  registry: ModuleRegistry;
  registryAddress: string;
  staking: NodeStaking;
  market: Market;
  marketAddress: string;
  flow: Flow;
  flowAddress: string;
}

/** A fresh ModuleRegistry with NodeStaking behind a proxy (not yet registered), the base of every module fixture. */
export interface StakingBase {
  registry: ModuleRegistry;
  registryAddress: string;
  stakingImplementation: NodeStaking;
  stakingAddress: string;
  /** Deploys `implementation` behind a ZgProxy initialised with `init` in its constructor; its address. */
  proxy: (implementation: { getAddress(): Promise<string> }, init: string) => Promise<string>;
}

/**
 * Deploys a ModuleRegistry owned by `governance` and NodeStaking in `mode` behind a ZgProxy (the staking fixture's
 * minimums in NATIVE mode, none in PERMISSIONED, its delay and slashing parameters, `treasury`).
 */
export async function deployStakingBase(
  governance: HardhatEthersSigner,
  treasury: HardhatEthersSigner,
  mode: ModeId = Mode.NATIVE,
): Promise<StakingBase> {
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();
  const proxy = (implementation: { getAddress(): Promise<string> }, init: string) =>
    deployProxy(governance, implementation, init);
  const stakingImplementation = await new NodeStaking__factory(governance).deploy();
  const stakingAddress = await proxy(
    stakingImplementation,
    stakingImplementation.interface.encodeFunctionData("initialize", [
      registryAddress,
      mode,
      mode === Mode.NATIVE ? [...MIN_STAKES] : [0n, 0n, 0n, 0n, 0n],
      UNBONDING_DELAY,
      { reporterShareBps: REPORTER_SHARE_BPS, jailPeriod: JAIL_PERIOD, treasury: treasury.address },
    ]),
  );
  return { registry, registryAddress, stakingImplementation, stakingAddress, proxy };
}

/**
 * Deploys a ModuleRegistry owned by `governance`, NodeStaking (native mode, the staking fixture's minimums,
 * delay and slashing parameters, `treasury`) and the Market (at `pricePerSector`) and Flow, each behind a ZgProxy
 * initialised in its constructor, and registers all three under their module names.
 */
export async function deployStakedStorage(
  governance: HardhatEthersSigner,
  treasury: HardhatEthersSigner,
  pricePerSector: bigint,
): Promise<StakedStorageStack> {
  const { registry, registryAddress, stakingAddress, proxy } = await deployStakingBase(governance, treasury);
  const marketImplementation = await new Market__factory(governance).deploy();
  const marketAddress = await proxy(
    marketImplementation,
    marketImplementation.interface.encodeFunctionData("initialize", [registryAddress, pricePerSector]),
  );
  const flowImplementation = await new Flow__factory(governance).deploy(marketAddress);
  const flowAddress = await proxy(
    flowImplementation,
    flowImplementation.interface.encodeFunctionData("initialize", [registryAddress]),
  );
  for (const [name, address] of [
    ["NodeStaking", stakingAddress],
    ["Market", marketAddress],
    ["Flow", flowAddress],
  ]) {
    await register(registry, name, address);
  }
  return {
    registry,
    registryAddress,
    staking: NodeStaking__factory.connect(stakingAddress, governance),
    market: Market__factory.connect(marketAddress, governance),
    marketAddress,
    flow: Flow__factory.connect(flowAddress, governance),
    flowAddress,
  };
}

async function deployProxy(
  governance: HardhatEthersSigner,
  implementation: { getAddress(): Promise<string> },
  init: string,
): Promise<string> {
  return (
    await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), init)
  ).getAddress();
}

async function register(registry: ModuleRegistry, name: string, address: string): Promise<void> {
  await (await registry.setModule(ethers.encodeBytes32String(name), address, "1.0.0")).wait();
}

/** A staked storage stack with the iNFT module on top. */
export interface InftModules extends StakedStorageStack {
  verifier: OracleVerifier;
  verifierAddress: string;
  nft: AgentNFT;
  nftAddress: string;
}

/**
 * `deployStakedStorage` (free storage) plus the iNFT module: the OracleVerifier and an AgentNFT minting at
 * `mintFee`, registered under their names. No inference serving: the deployment of an iNFT-only operator.
 */
export async function deployInftModules(
  governance: HardhatEthersSigner,
  treasury: HardhatEthersSigner,
  mintFee: bigint,
): Promise<InftModules> {
  const stack = await deployStakedStorage(governance, treasury, 0n);
  const verifier = await new OracleVerifier__factory(governance).deploy(stack.registryAddress);
  const verifierAddress = await verifier.getAddress();
  const nft = await new AgentNFT__factory(governance).deploy(stack.registryAddress, mintFee);
  const nftAddress = await nft.getAddress();
  await register(stack.registry, "OracleVerifier", verifierAddress);
  await register(stack.registry, "AgentNFT", nftAddress);
  return { ...stack, verifier, verifierAddress, nft, nftAddress };
}

/**
 * `deployStakedStorage` (free storage) plus InferenceServing behind a ZgProxy, registered, without a ServingLedger
 * (services are free) and without the iNFT module: the deployment of an inference-only operator.
 */
export async function deployServingModules(
  governance: HardhatEthersSigner,
  treasury: HardhatEthersSigner,
): Promise<StakedStorageStack & { serving: InferenceServing }> {
  const stack = await deployStakedStorage(governance, treasury, 0n);
  const implementation = await new InferenceServing__factory(governance).deploy();
  const servingAddress = await deployProxy(
    governance,
    implementation,
    implementation.interface.encodeFunctionData("initialize", [stack.registryAddress]),
  );
  await register(stack.registry, "InferenceServing", servingAddress);
  return { ...stack, serving: InferenceServing__factory.connect(servingAddress, governance) };
}

/** The deployment record of what `registry` holds, as the SDK and workers read it (`profile` names the fixture). */
export async function deploymentRecordOf(
  registry: ModuleRegistry,
  profile: string,
  startBlock: number,
): Promise<DeploymentRecord> {
  const modules: DeploymentRecord["modules"] = {};
  for (const raw of await registry.moduleNames()) {
    modules[ethers.decodeBytes32String(raw)] = {
      address: await registry.getModule(raw),
      version: await registry.moduleVersion(raw),
    };
  }
  return {
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    network: "hardhat",
    profile,
    registry: await registry.getAddress(),
    startBlock,
    modules,
  };
}

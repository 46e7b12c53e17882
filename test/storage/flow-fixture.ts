/**
 * Fixtures for the Flow and Market tests, to be used with `loadFixture` from @nomicfoundation/hardhat-network-helpers.
 *
 * Every fixture deploys a fresh ModuleRegistry owned by the first signer ("governance"), a Market and a Flow, each
 * behind a ZgProxy (initialised in the proxy's constructor), and registers them as "Market" and "Flow". The signer
 * `challenges` is registered as "StorageChallenges" (a stand-in for the future challenge module: the Market only
 * checks the caller's address through the registry).
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  Flow__factory,
  Market__factory,
  ModuleRegistry__factory,
  ZgProxy__factory,
  type Flow,
  type Market,
  type ModuleRegistry,
} from "../../typechain-types";
import type { IFlow } from "../../typechain-types/contracts/storage/Flow";

export type SubmissionStruct = IFlow.SubmissionStruct;
export type SubmissionNodeStruct = IFlow.SubmissionNodeStruct;

export const NAMES = {
  Flow: ethers.encodeBytes32String("Flow"),
  Market: ethers.encodeBytes32String("Market"),
  StorageChallenges: ethers.encodeBytes32String("StorageChallenges"),
} as const;

export const VERSION = "1.0.0";
export const SECTOR_BYTES = 256n;
export const SECTORS_PER_SEGMENT = 1024n;
/** The price of the priced fixtures, in wei per sector. */
export const PRICE = 1_000_000_000n;

export interface StorageFixture {
  registry: ModuleRegistry;
  /** The Flow interface at its proxy's address. */
  flow: Flow;
  flowAddress: string;
  flowImplementation: Flow;
  /** The Market interface at its proxy's address. */
  market: Market;
  marketAddress: string;
  marketImplementation: Market;
  governance: HardhatEthersSigner;
  /** Registered as "StorageChallenges". */
  challenges: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  price: bigint;
}

/** Deploys registry, Market (at `price`) and Flow, and registers them. */
export async function deployStorage(price: bigint): Promise<StorageFixture> {
  const [governance, challenges, alice, bob, stranger] = await ethers.getSigners();
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();

  const marketImplementation = await new Market__factory(governance).deploy();
  const marketInit = marketImplementation.interface.encodeFunctionData("initialize", [
    registryAddress,
    price,
  ]);
  const marketProxy = await new ZgProxy__factory(governance).deploy(
    await marketImplementation.getAddress(),
    marketInit,
  );
  const marketAddress = await marketProxy.getAddress();
  const market = Market__factory.connect(marketAddress, governance);

  const flowImplementation = await new Flow__factory(governance).deploy(marketAddress);
  const flowInit = flowImplementation.interface.encodeFunctionData("initialize", [registryAddress]);
  const flowProxy = await new ZgProxy__factory(governance).deploy(
    await flowImplementation.getAddress(),
    flowInit,
  );
  const flowAddress = await flowProxy.getAddress();
  const flow = Flow__factory.connect(flowAddress, governance);

  await (await registry.setModule(NAMES.Market, marketAddress, VERSION)).wait();
  await (await registry.setModule(NAMES.Flow, flowAddress, VERSION)).wait();
  await (await registry.setModule(NAMES.StorageChallenges, challenges.address, VERSION)).wait();

  return {
    registry,
    flow,
    flowAddress,
    flowImplementation,
    market,
    marketAddress,
    marketImplementation,
    governance,
    challenges,
    alice,
    bob,
    stranger,
    price,
  };
}

/** Price zero: the `no-token` profile, no coin moves. */
export async function deployFreeStorageFixture(): Promise<StorageFixture> {
  return deployStorage(0n);
}

/** A non-zero price per sector (`PRICE`). */
export async function deployPricedStorageFixture(): Promise<StorageFixture> {
  return deployStorage(PRICE);
}

/** A distinct, deterministic node root per label. */
export function nodeRoot(label: string | number): string {
  return ethers.id(`node:${label}`);
}

/** Sectors a submission occupies: Σ 2^height (what the SDK pays for). */
export function sectorsOf(heights: readonly number[]): bigint {
  return heights.reduce((sum, height) => sum + (1n << BigInt(height)), 0n);
}

/**
 * A valid submission with the given heights and the largest byte length they accept (every node full), and
 * distinct node roots derived from `label`.
 */
export function submissionOf(
  heights: readonly number[],
  label: string | number = heights.join("-"),
  length: bigint = sectorsOf(heights) * SECTOR_BYTES,
  submitter: string = ethers.ZeroAddress,
): SubmissionStruct {
  return {
    data: {
      length,
      tags: "0x",
      nodes: heights.map((height, i) => ({ root: nodeRoot(`${label}/${i}`), height })),
    },
    submitter,
  };
}

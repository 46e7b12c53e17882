/**
 * Fixtures for the StorageChallenges tests, to be used with `loadFixture` from @nomicfoundation/hardhat-network-helpers.
 *
 * `deployChallengesFixture` deploys a fresh ModuleRegistry owned by the first signer ("governance"), NodeStaking
 * (NATIVE mode, the staking fixture's minimums and slash parameters), a priced Market, a Flow and StorageChallenges,
 * each behind a ZgProxy, registers them under their names and grants "StorageChallenges" slashing authority.
 *
 * Files are modelled by `makeFile`: deterministic sector contents, the submission nodes as complete binary trees of
 * `2^height` sectors (leaf = keccak256 of the 256-byte sector, zero-padded past the file's end) and a proof builder
 * for any file-relative sector index, up to the data root: the TypeScript reference the contract is checked against.
 */
import { ethers, network } from "hardhat";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  StorageChallenges__factory,
  ZgProxy__factory,
  type Flow,
  type Market,
  type ModuleRegistry,
  type NodeStaking,
  type StorageChallenges,
} from "../../typechain-types";
import type { IStorageChallenges } from "../../typechain-types/contracts/storage/StorageChallenges";
import { Role } from "../helpers/staking-fixture";
import { deployStakedStorage } from "../helpers/modules";
import { answerCalldata } from "../../offchain/storage/sector-proof";

export type ParamsStruct = IStorageChallenges.ParamsStruct;

export const NAMES = {
  NodeStaking: ethers.encodeBytes32String("NodeStaking"),
  Flow: ethers.encodeBytes32String("Flow"),
  Market: ethers.encodeBytes32String("Market"),
  StorageChallenges: ethers.encodeBytes32String("StorageChallenges"),
} as const;

export const VERSION = "1.0.0";
export const SECTOR_BYTES = 256;
export const SECTORS_PER_SEGMENT = 1024;
export const PRICE = 1_000_000_000n;
export const NODE_STAKE = ethers.parseEther("10");
export const DAY = 24 * 60 * 60;

export interface Params {
  epochBlocks: number;
  responseWindow: number;
  rewardBps: number;
  dataLifetime: number;
  slashAmount: bigint;
}

export const DEFAULT_PARAMS: Readonly<Params> = {
  epochBlocks: 20,
  responseWindow: 10,
  rewardBps: 1000,
  dataLifetime: 30 * DAY,
  slashAmount: ethers.parseEther("0.5"),
};

export interface ChallengesFixture {
  registry: ModuleRegistry;
  staking: NodeStaking;
  flow: Flow;
  market: Market;
  marketAddress: string;
  challenges: StorageChallenges;
  challengesAddress: string;
  implementation: StorageChallenges;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  reporter: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  uploader: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

/** Deploys the whole storage stack with `params` (defaults: `DEFAULT_PARAMS`). */
export async function deployChallenges(params: ParamsStruct = DEFAULT_PARAMS): Promise<ChallengesFixture> {
  const [governance, treasury, reporter, alice, bob, carol, uploader, stranger] = await ethers.getSigners();
  const { registry, registryAddress, staking, market, marketAddress, flow } = await deployStakedStorage(
    governance,
    treasury,
    PRICE,
  );
  const implementation = await new StorageChallenges__factory(governance).deploy();
  const proxy = await new ZgProxy__factory(governance).deploy(
    await implementation.getAddress(),
    implementation.interface.encodeFunctionData("initialize", [registryAddress, params]),
  );
  const challengesAddress = await proxy.getAddress();
  await (await registry.setModule(NAMES.StorageChallenges, challengesAddress, VERSION)).wait();
  await (await registry.setSlasher(NAMES.StorageChallenges, true)).wait();

  return {
    registry,
    staking,
    flow,
    market,
    marketAddress,
    challenges: StorageChallenges__factory.connect(challengesAddress, governance),
    challengesAddress,
    implementation,
    governance,
    treasury,
    reporter,
    alice,
    bob,
    carol,
    uploader,
    stranger,
  };
}

export async function deployChallengesFixture(): Promise<ChallengesFixture> {
  return deployChallenges();
}

/** STORAGE metadata of a node: `abi.encode(uint32 shardId, uint32 numShard)`. */
export function shardMetadata(shardId: number, numShard: number): string {
  return ethers.AbiCoder.defaultAbiCoder().encode(["uint32", "uint32"], [shardId, numShard]);
}

/** Stakes `NODE_STAKE` for STORAGE and announces the shard (none: the whole log). */
export async function stakeNode(
  f: ChallengesFixture,
  node: HardhatEthersSigner,
  shard?: { shardId: number; numShard: number },
): Promise<void> {
  await (await f.staking.connect(node).stake(Role.STORAGE, { value: NODE_STAKE })).wait();
  if (shard) {
    await (
      await f.staking.connect(node).setNodeInfo(Role.STORAGE, {
        endpoint: "http://node",
        region: ethers.ZeroHash,
        metadata: shardMetadata(shard.shardId, shard.numShard),
      })
    ).wait();
  }
}

// ─── Files and proofs ──────────────────────────────────────────────────────────────────────────────

export interface SectorProof {
  sector: string;
  /** The submission node holding the sector. */
  nodeIndex: number;
  /** From the leaf up to the data root: the node's levels, then those folding the node roots. */
  siblings: string[];
}

export interface TestFile {
  label: string;
  heights: number[];
  byteLength: bigint;
  dataSectors: number;
  nodes: { root: string; height: number }[];
  dataRoot: string;
  /** The 256 bytes of file sector `index` (zero-padded past the data). */
  sector(index: number): Uint8Array;
  /** The answer for file sector `index`. */
  proof(index: number): SectorProof;
}

const ZERO_SECTOR = new Uint8Array(SECTOR_BYTES);

function hashPair(left: string, right: string): string {
  return ethers.keccak256(ethers.concat([left, right]));
}

/** Σ 2^height. */
export function capacityOf(heights: readonly number[]): number {
  return heights.reduce((sum, height) => sum + 2 ** height, 0);
}

/**
 * A file of `byteLength` bytes (default: every sector full) laid out as nodes of the given heights, with
 * deterministic contents derived from `label`.
 */
export function makeFile(label: string, heights: number[], byteLength?: bigint): TestFile {
  const capacity = capacityOf(heights);
  const length = byteLength ?? BigInt(capacity * SECTOR_BYTES);
  const dataSectors = Number((length + BigInt(SECTOR_BYTES) - 1n) / BigInt(SECTOR_BYTES));
  const cache = new Map<number, Uint8Array>();
  const sector = (index: number): Uint8Array => {
    if (index >= dataSectors) return ZERO_SECTOR;
    let bytes = cache.get(index);
    if (bytes === undefined) {
      const seed = ethers.getBytes(ethers.id(`${label}:${index}`));
      bytes = new Uint8Array(SECTOR_BYTES);
      for (let i = 0; i < SECTOR_BYTES; i += 32) bytes.set(seed, i);
      const used = Number(length) - index * SECTOR_BYTES;
      if (used < SECTOR_BYTES) bytes.fill(0, used);
      cache.set(index, bytes);
    }
    return bytes;
  };
  // layers[node][level][i]
  const layers: string[][][] = [];
  let offset = 0;
  for (const height of heights) {
    const levels: string[][] = [];
    const leaves: string[] = [];
    for (let i = 0; i < 2 ** height; i++) leaves.push(ethers.keccak256(sector(offset + i)));
    levels.push(leaves);
    for (let level = 0; level < height; level++) {
      const below = levels[level];
      const above: string[] = [];
      for (let i = 0; i < below.length; i += 2) above.push(hashPair(below[i], below[i + 1]));
      levels.push(above);
    }
    layers.push(levels);
    offset += 2 ** height;
  }
  const nodes = heights.map((height, i) => ({ root: layers[i][height][0], height }));
  let dataRoot = nodes[nodes.length - 1].root;
  for (let i = nodes.length - 2; i >= 0; i--) dataRoot = hashPair(nodes[i].root, dataRoot);

  const proof = (index: number): SectorProof => {
    let start = 0;
    for (let i = 0; i < heights.length; i++) {
      const size = 2 ** heights[i];
      if (index < start + size) {
        let position = index - start;
        const siblings: string[] = [];
        for (let level = 0; level < heights[i]; level++) {
          siblings.push(layers[i][level][position ^ 1]);
          position >>= 1;
        }
        // The data root folds the node roots right to left: first the fold of the nodes after this one (on
        // the right), then the roots of those before it (on the left), nearest first.
        if (i < nodes.length - 1) {
          let after = nodes[nodes.length - 1].root;
          for (let j = nodes.length - 2; j > i; j--) after = hashPair(nodes[j].root, after);
          siblings.push(after);
        }
        for (let j = i - 1; j >= 0; j--) siblings.push(nodes[j].root);
        return { sector: ethers.hexlify(sector(index)), nodeIndex: i, siblings };
      }
      start += size;
    }
    throw new Error(`sector ${index} is outside the file`);
  };
  return { label, heights, byteLength: length, dataSectors, nodes, dataRoot, sector, proof };
}

/** Submits `file` to the Flow, paying its fee; returns its start position in the log. */
export async function upload(f: ChallengesFixture, file: TestFile): Promise<bigint> {
  const fee = BigInt(capacityOf(file.heights)) * PRICE;
  const submission = {
    data: { length: file.byteLength, tags: "0x", nodes: file.nodes },
    submitter: ethers.ZeroAddress,
  };
  await (await f.flow.connect(f.uploader).submit(submission, { value: fee })).wait();
  return (await f.flow.submissionOf(file.dataRoot)).startPosition;
}

/** Mines past the start block of `epoch`, so that its seed is available to calls and transactions. */
export async function toEpoch(f: ChallengesFixture, epoch: bigint): Promise<void> {
  const start = await f.challenges.epochStartBlock(epoch);
  const latest = BigInt(await ethers.provider.getBlockNumber());
  if (latest <= start) await mine(start + 1n - latest);
}

/** Mines past the deadline of `epoch`. */
export async function pastDeadline(f: ChallengesFixture, epoch: bigint): Promise<void> {
  const deadline =
    (await f.challenges.epochStartBlock(epoch)) + BigInt((await f.challenges.params()).responseWindow);
  const latest = BigInt(await ethers.provider.getBlockNumber());
  if (latest < deadline) await mine(deadline - latest);
}

/** Answers `node`'s challenge of `epoch` honestly from `files` (looked up by data root). */
export async function answerHonestly(
  f: ChallengesFixture,
  node: HardhatEthersSigner,
  epoch: bigint,
  files: readonly TestFile[],
) {
  const challenge = await f.challenges.challengeOf(node.address, epoch);
  const file = files.find((candidate) => candidate.dataRoot === challenge.dataRoot);
  if (!challenge.active || file === undefined) throw new Error(`no answerable challenge for ${node.address}`);
  const { sector, siblings } = file.proof(Number(challenge.sectorIndex));
  return answer(f, node, epoch, sector, siblings);
}

/** Sends `node`'s answer of `epoch` with this sector and these siblings (packed, see `answerCalldata`). */
export async function answer(
  f: ChallengesFixture,
  node: HardhatEthersSigner,
  epoch: bigint,
  sector: string,
  siblings: readonly string[],
) {
  return node.sendTransaction({ to: f.challengesAddress, data: answerCalldata(epoch, sector, siblings) });
}

/** In-shard log positions of a file's data sectors (the reference for the contract's weight). */
export function shardSectors(
  start: number,
  dataSectors: number,
  shardId: number,
  numShard: number,
): number[] {
  const positions: number[] = [];
  for (let p = start; p < start + dataSectors; p++) {
    if (Math.floor(p / SECTORS_PER_SEGMENT) % numShard === shardId) positions.push(p - start);
  }
  return positions;
}

/** Sets the next block's timestamp forward by `seconds`. */
export async function elapse(seconds: number): Promise<void> {
  await network.provider.send("evm_increaseTime", [seconds]);
  await mine(1);
}

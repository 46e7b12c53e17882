/**
 * Fixtures for the DA contract tests: a ModuleRegistry owned by the first signer ("governance"), NodeStaking (NATIVE
 * or PERMISSIONED, the staking fixture's minimums and slash parameters), DASigners and DAEntrance behind ZgProxy,
 * registered under their names, DAEntrance with slashing authority. Signers are fresh funded accounts with
 * deterministic BLS keys; payloads are real EIP-4844 blobs committed with c-kzg.
 */
import { ethers } from "hardhat";
import { impersonateAccount, mine, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import * as kzg from "c-kzg";
import {
  DAEntrance__factory,
  DASigners__factory,
  NodeStaking__factory,
  type DAEntrance,
  type DASigners,
  type ModuleRegistry,
  type NodeStaking,
} from "../../typechain-types";
import { MIN_STAKES, Mode, Role, type ModeId } from "../helpers/staking-fixture";
import { deployStakingBase } from "../helpers/modules";
import {
  aggregateG1,
  aggregateG2,
  attestationMessage,
  blsKeyFromSecret,
  hashToG1Hint,
  proofOfPossession,
  sign,
  type BlsKey,
} from "../../offchain/da/bls";
import { BLOB_PAYLOAD_BYTES, BYTES_PER_BLOB } from "../../offchain/da/types";
import type { G1Point, G2Point } from "../../offchain/da/types";

export const EPOCH_BLOCKS = 10;
export const FEE_PER_BLOB = ethers.parseEther("0.001");
export const CHALLENGE_BOND = ethers.parseEther("0.01");
export const SLASH_AMOUNT = ethers.parseEther("1");

export interface DAParams {
  feePerBlob: bigint;
  attestWindow: number;
  challengeWindow: number;
  responseWindow: number;
  challengeBond: bigint;
  slashAmount: bigint;
}

export const DEFAULT_PARAMS: Readonly<DAParams> = {
  feePerBlob: FEE_PER_BLOB,
  attestWindow: 100,
  challengeWindow: 50,
  responseWindow: 20,
  challengeBond: CHALLENGE_BOND,
  slashAmount: SLASH_AMOUNT,
};

export const NO_TOKEN_PARAMS: Readonly<DAParams> = {
  ...DEFAULT_PARAMS,
  feePerBlob: 0n,
  challengeBond: 0n,
  slashAmount: 0n,
};

export interface Operator {
  account: HardhatEthersSigner;
  key: BlsKey;
}

export interface DAFixture {
  registry: ModuleRegistry;
  staking: NodeStaking;
  signers: DASigners;
  signersAddress: string;
  entrance: DAEntrance;
  entranceAddress: string;
  entranceImplementation: DAEntrance;
  signersImplementation: DASigners;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  submitter: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  mode: ModeId;
  chainId: bigint;
}

export async function deployDA(
  mode: ModeId = Mode.NATIVE,
  params: DAParams = DEFAULT_PARAMS,
): Promise<DAFixture> {
  const [governance, treasury, submitter, challenger, stranger] = await ethers.getSigners();
  const { registry, registryAddress, stakingAddress, proxy } = await deployStakingBase(
    governance,
    treasury,
    mode,
  );
  const signersImplementation = await new DASigners__factory(governance).deploy();
  const signersAddress = await proxy(
    signersImplementation,
    signersImplementation.interface.encodeFunctionData("initialize", [registryAddress, EPOCH_BLOCKS]),
  );
  const entranceImplementation = await new DAEntrance__factory(governance).deploy(signersAddress);
  const entranceAddress = await proxy(
    entranceImplementation,
    entranceImplementation.interface.encodeFunctionData("initialize", [registryAddress, params]),
  );
  for (const [name, address] of [
    ["NodeStaking", stakingAddress],
    ["DASigners", signersAddress],
    ["DAEntrance", entranceAddress],
  ]) {
    await (await registry.setModule(ethers.encodeBytes32String(name), address, "1.0.0")).wait();
  }
  await (await registry.setSlasher(ethers.encodeBytes32String("DAEntrance"), true)).wait();
  return {
    registry,
    staking: NodeStaking__factory.connect(stakingAddress, governance),
    signers: DASigners__factory.connect(signersAddress, governance),
    signersAddress,
    entrance: DAEntrance__factory.connect(entranceAddress, governance),
    entranceAddress,
    entranceImplementation,
    signersImplementation,
    governance,
    treasury,
    submitter,
    challenger,
    stranger,
    mode,
    chainId: (await ethers.provider.getNetwork()).chainId,
  };
}

/** A fresh funded account. */
export async function freshAccount(): Promise<HardhatEthersSigner> {
  const address = ethers.Wallet.createRandom().address;
  await impersonateAccount(address);
  await setBalance(address, ethers.parseEther("1000"));
  return ethers.getSigner(address);
}

/** Makes `account` an active DA_SIGNER (bonding `stake` in NATIVE mode; admitted in PERMISSIONED). */
export async function stakeSigner(
  f: DAFixture,
  account: HardhatEthersSigner,
  stake = MIN_STAKES[Role.DA_SIGNER],
) {
  if (f.mode === Mode.PERMISSIONED) {
    await (await f.staking.setAdmitted(account.address, Role.DA_SIGNER, true)).wait();
    await (await f.staking.connect(account).stake(Role.DA_SIGNER)).wait();
  } else {
    await (await f.staking.connect(account).stake(Role.DA_SIGNER, { value: stake })).wait();
  }
}

export function keyFor(label: string | number): BlsKey {
  return blsKeyFromSecret(ethers.id(`da-signer:${label}`));
}

/** Registers `account`'s key with a valid proof of possession. */
export async function registerKey(f: DAFixture, account: HardhatEthersSigner, key: BlsKey) {
  const pop = proofOfPossession(key, f.chainId, f.signersAddress, account.address);
  return f.signers.connect(account).register(key.pkG1, key.pkG2, pop);
}

/** `n` staked and registered signers (stakes: `stakes[i]`, default the minimum). */
export async function addSigners(f: DAFixture, n: number, stakes?: bigint[]): Promise<Operator[]> {
  const operators: Operator[] = [];
  for (let i = 0; i < n; i++) {
    const account = await freshAccount();
    const key = keyFor(`${account.address}`);
    await stakeSigner(f, account, stakes?.[i]);
    await (await registerKey(f, account, key)).wait();
    operators.push({ account, key });
  }
  return operators;
}

/** Freezes the current epoch; returns its number. */
export async function freeze(f: DAFixture): Promise<bigint> {
  const epoch = await f.signers.currentEpoch();
  await (await f.signers.freezeEpoch()).wait();
  return epoch;
}

/** Mines to the first block of the next epoch. */
export async function nextEpoch(f: DAFixture): Promise<void> {
  const current = await f.signers.currentEpoch();
  while ((await f.signers.currentEpoch()) === current) await mine(1);
}

// ─── Payloads ────────────────────────────────────────────────────────────────────────────────────

let setupLoaded = false;
function loadSetup() {
  if (!setupLoaded) {
    kzg.loadTrustedSetup(0);
    setupLoaded = true;
  }
}

export interface TestPayload {
  blobs: Uint8Array[];
  commitmentList: Uint8Array[];
  commitments: string;
  length: bigint;
  id: string;
}

/** A blob with deterministic contents: every element's first byte is zero. */
export function makeBlob(label: string): Uint8Array {
  const blob = new Uint8Array(BYTES_PER_BLOB);
  const seed = ethers.getBytes(ethers.id(label));
  for (let i = 0; i < BYTES_PER_BLOB; i += 32) {
    blob.set(seed.subarray(1), i + 1);
    blob[i + 1] ^= i & 0xff;
    blob[i + 2] ^= (i >> 8) & 0xff;
  }
  return blob;
}

/** A payload of `blobs` real blobs, `length` bytes (default: the last blob half full). */
export function makePayload(label: string, blobs = 1, length?: bigint): TestPayload {
  loadSetup();
  const list = Array.from({ length: blobs }, (_, i) => makeBlob(`${label}:${i}`));
  const commitmentList = list.map((blob) => kzg.blobToKzgCommitment(blob));
  const commitments = ethers.hexlify(ethers.concat(commitmentList));
  const size = length ?? BigInt((blobs - 1) * BLOB_PAYLOAD_BYTES + BLOB_PAYLOAD_BYTES / 2);
  const id = ethers.solidityPackedKeccak256(["bytes", "uint64"], [commitments, size]);
  return { blobs: list, commitmentList, commitments, length: size, id };
}

export async function submitPayload(f: DAFixture, p: TestPayload) {
  const fee = (await f.entrance.params()).feePerBlob * BigInt(p.blobs.length);
  return f.entrance.connect(f.submitter).submit(p.commitments, p.length, { value: fee });
}

/** The KZG opening of `blob` at `z`: [proof, y]. */
export function openingAt(blob: Uint8Array, z: string): [Uint8Array, Uint8Array] {
  loadSetup();
  return kzg.computeKzgProof(blob, ethers.getBytes(z)) as [Uint8Array, Uint8Array];
}

// ─── Attestations ────────────────────────────────────────────────────────────────────────────────

/** A non-signer as `attest` takes it: its registered G1 key and its weight in the epoch. */
export interface NonSigner {
  pkG1: G1Point;
  weight: bigint;
}

export interface Attestation {
  bitmap: bigint;
  sigma: G1Point;
  apkG2: G2Point;
  /** Default (`attestWith`): the bitmap's signers as recorded on-chain, lowest bit first. */
  nonSigners?: NonSigner[];
  /** Default (`attestWith`): the witness of the contract's attestation message's hash to G1. */
  hashHint?: bigint[];
}

/** The aggregate signature of every operator not in `nonSigners` on `message`. */
export function aggregateOn(message: string, operators: Operator[], nonSigners: number[] = []): Attestation {
  const signing = operators.filter((_, i) => !nonSigners.includes(i));
  return {
    bitmap: nonSigners.reduce((bits, i) => bits | (1n << BigInt(i)), 0n),
    sigma: aggregateG1(signing.map((o) => sign(o.key.secret, message))),
    apkG2: aggregateG2(signing.map((o) => o.key.pkG2)),
  };
}

/** The attestation of `id` in `epoch` by `operators` (the epoch's signers, in order) except `nonSigners`. */
export function attestation(
  f: DAFixture,
  id: string,
  epoch: bigint,
  operators: Operator[],
  nonSigners: number[] = [],
): Attestation {
  return aggregateOn(attestationMessage(f.chainId, f.entranceAddress, id, epoch), operators, nonSigners);
}

/**
 * The non-signers of `bitmap` in `epoch` as `attest` takes them, from the chain (`signerAt`, `keyOf`), lowest bit
 * first; a bit with no signer (an unfrozen epoch, a bit beyond the count) gives a zero entry, for the contract to
 * refuse.
 */
export async function nonSignersOf(f: DAFixture, epoch: bigint, bitmap: bigint): Promise<NonSigner[]> {
  const list: NonSigner[] = [];
  for (let k = 0n; bitmap >> k !== 0n; k++) {
    if (((bitmap >> k) & 1n) === 0n) continue;
    try {
      const [operator, weight] = await f.signers.signerAt(epoch, k);
      const key = await f.signers.keyOf(operator);
      list.push({ pkG1: { X: key.X, Y: key.Y }, weight });
    } catch {
      list.push({ pkG1: { X: 0n, Y: 0n }, weight: 0n });
    }
  }
  return list;
}

export async function attestWith(f: DAFixture, id: string, epoch: bigint, a: Attestation) {
  const nonSigners = a.nonSigners ?? (await nonSignersOf(f, epoch, a.bitmap));
  const hashHint = a.hashHint ?? hashToG1Hint(attestationMessage(f.chainId, f.entranceAddress, id, epoch));
  return f.entrance.attest(id, epoch, a.bitmap, nonSigners, a.sigma, a.apkG2, hashHint);
}

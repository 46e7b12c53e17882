/**
 * Fixtures and proof builders for the iNFT tests (AgentNFT, OracleVerifier), to be used with `loadFixture` from
 * @nomicfoundation/hardhat-network-helpers.
 *
 * `deployInftFixture` deploys a fresh ModuleRegistry owned by the first signer ("governance"), NodeStaking (NATIVE
 * mode, the staking fixture's minimums), a free Market and a Flow, a TestSlasher with slashing authority, the
 * OracleVerifier and an AgentNFT, registers them under their names, and stakes the `oracle` signer in the ORACLE
 * role.
 *
 * Proofs are real: EIP-712 signatures by ethers Wallets holding the Hardhat development keys, so every party has a
 * public key (`SigningKey.publicKey` without its 0x04 prefix) whose address is its own. New data hashes are roots of
 * real Flow submissions (`submitRoot`). `f.proofs` signs in AgentNFT's domain (the token checks its own proofs),
 * `f.verifierProofs` in the OracleVerifier's.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Signature, Wallet, type TypedDataDomain } from "ethers";
import {
  TestSlasher__factory,
  type AgentNFT,
  type Flow,
  type ModuleRegistry,
  type NodeStaking,
  type OracleVerifier,
  type TestSlasher,
} from "../../typechain-types";
import type { IERC7857DataVerifier } from "../../typechain-types/contracts/inft/AgentNFT";
import { devAccount } from "../../offchain/devnet/accounts";
import { MIN_STAKES, Role } from "../helpers/staking-fixture";
import { deployInftModules } from "../helpers/modules";
import { submissionOf } from "../storage/flow-fixture";

export type AccessProofStruct = IERC7857DataVerifier.AccessProofStruct;
export type OwnershipProofStruct = IERC7857DataVerifier.OwnershipProofStruct;
export type TransferValidityProofStruct = IERC7857DataVerifier.TransferValidityProofStruct;

export const NAMES = {
  NodeStaking: ethers.encodeBytes32String("NodeStaking"),
  Flow: ethers.encodeBytes32String("Flow"),
  Market: ethers.encodeBytes32String("Market"),
  TestSlasher: ethers.encodeBytes32String("TestSlasher"),
  OracleVerifier: ethers.encodeBytes32String("OracleVerifier"),
  AgentNFT: ethers.encodeBytes32String("AgentNFT"),
} as const;

export const VERSION = "1.0.0";
export const OracleType = { TEE: 0, ZKP: 1 } as const;
export const MAX_PROOF_VALIDITY = 7 * 24 * 60 * 60;
/** How long ahead the builders set deadlines by default. */
export const PROOF_LIFETIME = 60 * 60;
/** The mint fee of the priced fixture. */
export const MINT_FEE = ethers.parseEther("0.01");
/** An ECIES sealed key: 65-byte ephemeral key, 12-byte IV, 32-byte encrypted key, 16-byte tag. */
export const SEALED_KEY_BYTES = 65 + 12 + 32 + 16;

/** The address of a public key as `targetPubkey` carries it: the low 20 bytes of its keccak256 (any length). */
export function addressOfPubkey(pubkey: string): string {
  return ethers.getAddress(ethers.dataSlice(ethers.keccak256(pubkey), 12));
}

export const ACCESS_TYPES = {
  AccessProof: [
    { name: "dataHash", type: "bytes32" },
    { name: "targetPubkey", type: "bytes" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const OWNERSHIP_TYPES = {
  OwnershipProof: [
    { name: "oracleType", type: "uint8" },
    { name: "oldDataHash", type: "bytes32" },
    { name: "newDataHash", type: "bytes32" },
    { name: "sealedKey", type: "bytes" },
    { name: "targetPubkey", type: "bytes" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** A participant: its Hardhat signer (to send transactions) and the same key as a Wallet (to sign typed data). */
export interface Party {
  signer: HardhatEthersSigner;
  wallet: Wallet;
  address: string;
  /** The 64-byte uncompressed public key, without the 0x04 prefix. */
  pubkey: string;
}

export interface InftFixture {
  registry: ModuleRegistry;
  staking: NodeStaking;
  flow: Flow;
  slasher: TestSlasher;
  verifier: OracleVerifier;
  verifierAddress: string;
  /** Builds proofs in the OracleVerifier's domain. */
  verifierProofs: ProofBuilder;
  nft: AgentNFT;
  nftAddress: string;
  chainId: bigint;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Staked and active in the ORACLE role. */
  oracle: Party;
  alice: Party;
  bob: Party;
  carol: Party;
  /** A key bob can name as his delegate. */
  assistant: Party;
  /** Funded, but staked in no role. */
  stranger: Party;
  mintFee: bigint;
  /** Builds proofs in AgentNFT's domain. */
  proofs: ProofBuilder;
}

/** The 64-byte public key of a wallet, as `targetPubkey` carries it. */
export function pubkeyOf(wallet: Wallet): string {
  return `0x${wallet.signingKey.publicKey.slice(4)}`;
}

function party(signer: HardhatEthersSigner, index: number): Party {
  const wallet = new Wallet(devAccount(index).privateKey);
  if (wallet.address !== signer.address) throw new Error(`dev key ${index} is not signer ${signer.address}`);
  return { signer, wallet, address: signer.address, pubkey: pubkeyOf(wallet) };
}

/** Deterministic bytes of the sealed-key size, distinct per label. */
export function sealedKeyFor(label: string | number): string {
  const seed = ethers.getBytes(ethers.id(`sealed:${label}`));
  const bytes = new Uint8Array(SEALED_KEY_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = seed[i % seed.length] ^ (i & 0xff);
  return ethers.hexlify(bytes);
}

let rootCounter = 0;

/** Submits a one-node file to the Flow and returns its data root (a hash the verifier accepts as new data). */
export async function submitRoot(flow: Flow, label: string = `root-${rootCounter++}`): Promise<string> {
  const submission = submissionOf([4], label);
  await (await flow.submit(submission)).wait();
  return submission.data.nodes[0].root as string;
}

/** A data root that was never submitted. */
export function unsubmittedRoot(label: string): string {
  return ethers.id(`never-submitted:${label}`);
}

export async function deadlineIn(seconds: number = PROOF_LIFETIME): Promise<bigint> {
  return BigInt((await time.latest()) + seconds);
}

export interface OwnershipFields {
  oracleType?: number;
  oldDataHash: string;
  newDataHash: string;
  sealedKey?: string;
  /** The 64-byte public key the oracle signs (the proof carries its keccak256). */
  targetPubkey: string;
  nonce?: bigint;
  deadline?: bigint;
}

/** What an access proof signs: by default, the fields of the ownership proof it travels with. */
export interface AccessFields {
  dataHash: string;
  targetPubkey: string;
  nonce: bigint;
  deadline: bigint;
}

/**
 * Builds signed proofs for one EIP-712 domain (AgentNFT's or the OracleVerifier's). Nonces belong to the receiver
 * (the address of the target key) and default to its next sequential nonce (as a receiver would hand them out: they
 * share bitmap words); deadlines default to `PROOF_LIFETIME` from the last block.
 */
export class ProofBuilder {
  private readonly nextNonce = new Map<string, bigint>();

  constructor(readonly domain: TypedDataDomain) {}

  /** The next sequential nonce of `receiver` (an address, or the public key it derives from). */
  nonceFor(receiver: string): bigint {
    const key = receiver.length === 42 ? ethers.getAddress(receiver) : addressOfPubkey(receiver);
    const nonce = this.nextNonce.get(key) ?? 0n;
    this.nextNonce.set(key, nonce + 1n);
    return nonce;
  }

  /** The oracle's attestation, signed over the typed data (with the full key) and carrying the key's hash. */
  async ownership(oracle: Wallet, fields: OwnershipFields): Promise<OwnershipProofStruct> {
    const value = {
      oracleType: fields.oracleType ?? OracleType.TEE,
      oldDataHash: fields.oldDataHash,
      newDataHash: fields.newDataHash,
      sealedKey: fields.sealedKey ?? sealedKeyFor(fields.newDataHash),
      targetPubkey: fields.targetPubkey,
      nonce: fields.nonce ?? this.nonceFor(fields.targetPubkey),
      deadline: fields.deadline ?? (await deadlineIn()),
    };
    const signature = Signature.from(await oracle.signTypedData(this.domain, OWNERSHIP_TYPES, value));
    const { targetPubkey, ...rest } = value;
    return {
      ...rest,
      targetPubkeyHash: ethers.keccak256(targetPubkey),
      r: signature.r,
      vs: signature.yParityAndS,
    };
  }

  /** A consent: `signer`'s signature over the typed data `AccessProof(fields)`. */
  async access(signer: Wallet, fields: AccessFields): Promise<AccessProofStruct> {
    const signature = Signature.from(await signer.signTypedData(this.domain, ACCESS_TYPES, fields));
    return { r: signature.r, vs: signature.yParityAndS };
  }

  /**
   * A transfer proof for one entry: the oracle's attestation (`ownership` gives its fields) and the consent of
   * `accessSigner` to the same old hash, key, nonce and deadline (`access` overrides what it signs).
   */
  async transfer(
    oracle: Wallet,
    accessSigner: Wallet,
    ownership: OwnershipFields,
    access: Partial<AccessFields> = {},
  ): Promise<TransferValidityProofStruct> {
    const ownershipProof = await this.ownership(oracle, ownership);
    const accessProof = await this.access(accessSigner, {
      dataHash: ownershipProof.oldDataHash as string,
      targetPubkey: ownership.targetPubkey,
      nonce: BigInt(ownershipProof.nonce),
      deadline: BigInt(ownershipProof.deadline),
      ...access,
    });
    return { accessProof, ownershipProof };
  }
}

async function deployInft(mintFee: bigint): Promise<InftFixture> {
  const signers = await ethers.getSigners();
  const [governance, treasury] = signers;
  const { registry, staking, flow, verifier, verifierAddress, nft, nftAddress } = await deployInftModules(
    governance,
    treasury,
    mintFee,
  );

  const slasher = await new TestSlasher__factory(governance).deploy();
  await (await registry.setModule(NAMES.TestSlasher, await slasher.getAddress(), VERSION)).wait();
  await (await registry.setSlasher(NAMES.TestSlasher, true)).wait();

  const oracle = party(signers[2], 2);
  await (await staking.connect(oracle.signer).stake(Role.ORACLE, { value: MIN_STAKES[Role.ORACLE] })).wait();

  const chainId = (await ethers.provider.getNetwork()).chainId;
  const proofs = new ProofBuilder({
    name: "zerog AgentNFT",
    version: "1",
    chainId,
    verifyingContract: nftAddress,
  });
  const verifierProofs = new ProofBuilder({
    name: "zerog OracleVerifier",
    version: "1",
    chainId,
    verifyingContract: verifierAddress,
  });
  return {
    registry,
    staking,
    flow,
    slasher,
    verifier,
    verifierAddress,
    verifierProofs,
    nft,
    nftAddress,
    chainId,
    governance,
    treasury,
    oracle,
    alice: party(signers[3], 3),
    bob: party(signers[4], 4),
    carol: party(signers[5], 5),
    assistant: party(signers[6], 6),
    stranger: party(signers[7], 7),
    mintFee,
    proofs,
  };
}

/** Minting is free (the `no-token` profile). */
export async function deployInftFixture(): Promise<InftFixture> {
  return deployInft(0n);
}

/** Minting and cloning cost `MINT_FEE`. */
export async function deployPricedInftFixture(): Promise<InftFixture> {
  return deployInft(MINT_FEE);
}

/** Ownership proofs for new entries of `owner`'s token: old hash zero, new hashes freshly submitted roots. */
export async function mintProofs(
  f: InftFixture,
  owner: Party,
  count: number,
): Promise<{ datas: { dataDescription: string; dataHash: string }[]; proofs: OwnershipProofStruct[] }> {
  const datas = [];
  const proofs = [];
  for (let i = 0; i < count; i++) {
    const dataHash = await submitRoot(f.flow);
    datas.push({ dataDescription: `entry ${i}`, dataHash });
    proofs.push(
      await f.proofs.ownership(f.oracle.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: dataHash,
        targetPubkey: owner.pubkey,
      }),
    );
  }
  return { datas, proofs };
}

/** Mints `owner` a token with `count` entries and returns its id. */
export async function mintAgent(f: InftFixture, owner: Party, count: number): Promise<bigint> {
  const { datas, proofs } = await mintProofs(f, owner, count);
  const tokenId = (await f.nft.totalMinted()) + 1n;
  await (await f.nft.connect(owner.signer).mint(owner.address, datas, proofs, { value: f.mintFee })).wait();
  return tokenId;
}

export interface HandOverOptions {
  /** Who signs the access proofs (default: the receiver). */
  accessSigner?: Wallet;
  /** The key the data is sealed to (default: the receiver's). */
  targetPubkey?: string;
  /** The new data hashes (default: freshly submitted roots). */
  newDataHashes?: string[];
}

/** Transfer (or clone) proofs that hand every entry of `tokenId` over to `receiver`, each re-encrypted afresh. */
export async function handOverProofs(
  f: InftFixture,
  tokenId: bigint,
  receiver: Party,
  options: HandOverOptions = {},
): Promise<TransferValidityProofStruct[]> {
  const datas = await f.nft.intelligentDatasOf(tokenId);
  const targetPubkey = options.targetPubkey ?? receiver.pubkey;
  const proofs: TransferValidityProofStruct[] = [];
  for (let i = 0; i < datas.length; i++) {
    const oldDataHash = datas[i].dataHash;
    const newDataHash = options.newDataHashes?.[i] ?? (await submitRoot(f.flow));
    proofs.push(
      await f.proofs.transfer(f.oracle.wallet, options.accessSigner ?? receiver.wallet, {
        oldDataHash,
        newDataHash,
        targetPubkey,
      }),
    );
  }
  return proofs;
}

/**
 * Fixtures for the Disputes and AlignmentRewards tests: a ModuleRegistry owned by the first signer ("governance"),
 * NodeStaking (NATIVE or PERMISSIONED, the staking fixture's minimums and slash parameters), InferenceServing (no
 * ledger: free services), a TestLicense registered as "AlignmentLicense", Disputes and AlignmentRewards behind
 * ZgProxy, registered under their names, Disputes with slashing authority. One provider is staked as PROVIDER with a
 * deterministic service whose response signer is `responseSigner`.
 */
import { ethers } from "hardhat";
import { impersonateAccount, mine, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseWallet, TypedDataDomain } from "ethers";
import {
  AlignmentRewards__factory,
  Disputes__factory,
  InferenceServing__factory,
  NodeStaking__factory,
  TestLicense__factory,
  type AlignmentRewards,
  type Disputes,
  type IDisputes,
  type InferenceServing,
  type ModuleRegistry,
  type NodeStaking,
  type TestLicense,
} from "../../typechain-types";
import { MIN_STAKES, Mode, Role, type ModeId } from "../helpers/staking-fixture";
import { deployStakingBase } from "../helpers/modules";
import { serviceParams, voucherDomain } from "../helpers/serving-fixture";

export const BOND = ethers.parseEther("0.1");
export const SLASH_AMOUNT = ethers.parseEther("0.2");
export const VOTING_BLOCKS = 20;
export const QUORUM = 3;
export const CLIP = 2;
export const EPOCH_BLOCKS = 20;

export const Kind = { REEXECUTION: 0, POLICY: 1 } as const;
export const Status = { NONE: 0, OPEN: 1, UPHELD: 2, REJECTED: 3 } as const;

export interface DisputeParams {
  bond: bigint;
  votingBlocks: number;
  quorum: number;
  clip: number;
  slashAmount: bigint;
}

export const DEFAULT_PARAMS: Readonly<DisputeParams> = {
  bond: BOND,
  votingBlocks: VOTING_BLOCKS,
  quorum: QUORUM,
  clip: CLIP,
  slashAmount: SLASH_AMOUNT,
};

export const NO_TOKEN_PARAMS: Readonly<DisputeParams> = { ...DEFAULT_PARAMS, bond: 0n, slashAmount: 0n };

export const RESPONSE_TYPES = {
  Response: [
    { name: "user", type: "address" },
    { name: "provider", type: "address" },
    { name: "modelHash", type: "bytes32" },
    { name: "requestHash", type: "bytes32" },
    { name: "responseHash", type: "bytes32" },
    { name: "inputTokens", type: "uint256" },
    { name: "outputTokens", type: "uint256" },
    { name: "fee", type: "uint256" },
    { name: "seq", type: "uint256" },
    { name: "cumulative", type: "uint256" },
  ],
};

export type Statement = IDisputes.ResponseStatementStruct;

export interface AlignmentFixture {
  registry: ModuleRegistry;
  staking: NodeStaking;
  serving: InferenceServing;
  servingAddress: string;
  license: TestLicense;
  disputes: Disputes;
  disputesAddress: string;
  rewards: AlignmentRewards;
  rewardsAddress: string;
  disputesImplementation: Disputes;
  rewardsImplementation: AlignmentRewards;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  provider: HardhatEthersSigner;
  /** The provider's registered response signer. */
  responseSigner: BaseWallet;
  user: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  domain: TypedDataDomain;
  mode: ModeId;
}

export async function deployAlignment(
  mode: ModeId = Mode.NATIVE,
  params: DisputeParams = mode === Mode.NATIVE ? DEFAULT_PARAMS : NO_TOKEN_PARAMS,
): Promise<AlignmentFixture> {
  const [governance, treasury, provider, user, stranger] = await ethers.getSigners();
  const { registry, registryAddress, stakingAddress, proxy } = await deployStakingBase(
    governance,
    treasury,
    mode,
  );
  const servingImplementation = await new InferenceServing__factory(governance).deploy();
  const servingAddress = await proxy(
    servingImplementation,
    servingImplementation.interface.encodeFunctionData("initialize", [registryAddress]),
  );
  const license = await new TestLicense__factory(governance).deploy();
  const disputesImplementation = await new Disputes__factory(governance).deploy();
  const disputesAddress = await proxy(
    disputesImplementation,
    disputesImplementation.interface.encodeFunctionData("initialize", [registryAddress, params]),
  );
  const rewardsImplementation = await new AlignmentRewards__factory(governance).deploy();
  const rewardsAddress = await proxy(
    rewardsImplementation,
    rewardsImplementation.interface.encodeFunctionData("initialize", [registryAddress, EPOCH_BLOCKS]),
  );
  for (const [name, address] of [
    ["NodeStaking", stakingAddress],
    ["InferenceServing", servingAddress],
    ["AlignmentLicense", await license.getAddress()],
    ["Disputes", disputesAddress],
    ["AlignmentRewards", rewardsAddress],
  ]) {
    await (await registry.setModule(ethers.encodeBytes32String(name), address, "1.0.0")).wait();
  }
  await (await registry.setSlasher(ethers.encodeBytes32String("Disputes"), true)).wait();

  const staking = NodeStaking__factory.connect(stakingAddress, governance);
  const serving = InferenceServing__factory.connect(servingAddress, governance);
  if (mode === Mode.PERMISSIONED) {
    await (await staking.setAdmitted(provider.address, Role.PROVIDER, true)).wait();
    await (await staking.connect(provider).stake(Role.PROVIDER)).wait();
  } else {
    await (await staking.connect(provider).stake(Role.PROVIDER, { value: MIN_STAKES[Role.PROVIDER] })).wait();
  }
  const responseSigner = new ethers.Wallet(ethers.id("alignment:response-signer"));
  await (
    await serving
      .connect(provider)
      .register(serviceParams(responseSigner.address, { inputPrice: 0n, outputPrice: 0n }))
  ).wait();
  const { chainId } = await ethers.provider.getNetwork();
  return {
    registry,
    staking,
    serving,
    servingAddress,
    license,
    disputes: Disputes__factory.connect(disputesAddress, governance),
    disputesAddress,
    rewards: AlignmentRewards__factory.connect(rewardsAddress, governance),
    rewardsAddress,
    disputesImplementation,
    rewardsImplementation,
    governance,
    treasury,
    provider,
    responseSigner,
    user,
    stranger,
    domain: voucherDomain(servingAddress, chainId),
    mode,
  };
}

export const deployNative = () => deployAlignment(Mode.NATIVE);
export const deployPermissioned = () => deployAlignment(Mode.PERMISSIONED);

/** A fresh funded account. */
export async function freshAccount(): Promise<HardhatEthersSigner> {
  const address = ethers.Wallet.createRandom().address;
  await impersonateAccount(address);
  await setBalance(address, ethers.parseEther("1000"));
  return ethers.getSigner(address);
}

export interface Holder {
  account: HardhatEthersSigner;
  licenseId: bigint;
}

/** `n` licenses, each minted to its own fresh account (ids are unique across the run). */
export async function holders(f: AlignmentFixture, n: number, firstId?: bigint): Promise<Holder[]> {
  const list: Holder[] = [];
  let id = firstId ?? (await f.license.totalSupply()) + 1n;
  for (let i = 0; i < n; i++, id++) {
    const account = await freshAccount();
    await (await f.license.mint(account.address, id)).wait();
    list.push({ account, licenseId: id });
  }
  return list;
}

/** A statement of the fixture's provider; `label` varies its hashes. */
export function statement(f: AlignmentFixture, label: string, overrides: Partial<Statement> = {}): Statement {
  return {
    user: f.user.address,
    provider: f.provider.address,
    modelHash: ethers.id("zg-builtin-1 weights"),
    requestHash: ethers.id(`request:${label}`),
    responseHash: ethers.id(`response:${label}`),
    inputTokens: 12n,
    outputTokens: 34n,
    fee: 0n,
    seq: 1n,
    cumulative: 0n,
    ...overrides,
  };
}

/** `signer`'s (default: the provider's response signer) EIP-712 signature of `s` in InferenceServing's domain. */
export async function signStatement(f: AlignmentFixture, s: Statement, signer?: BaseWallet): Promise<string> {
  return (signer ?? f.responseSigner).signTypedData(f.domain, RESPONSE_TYPES, s);
}

export const EVIDENCE = ethers.id("evidence-root");

/** Files a dispute of `kind` about `s` (signed by the response signer) from `h`, with the current bond. */
export async function file(
  f: AlignmentFixture,
  h: Holder,
  s: Statement,
  kind: number = Kind.REEXECUTION,
): Promise<bigint> {
  const bond = (await f.disputes.params()).bond;
  const signature = await signStatement(f, s);
  await (
    await f.disputes
      .connect(h.account)
      .fileDispute(h.licenseId, kind, s, signature, EVIDENCE, 1, { value: bond })
  ).wait();
  return f.disputes.disputeCount();
}

/** Votes `scores[i]` for `voters[i]`. */
export async function voteAll(f: AlignmentFixture, id: bigint, voters: Holder[], scores: number[]) {
  for (let i = 0; i < scores.length; i++) {
    await (await f.disputes.connect(voters[i].account).vote(id, voters[i].licenseId, scores[i])).wait();
  }
}

/** Mines past dispute `id`'s voting window. */
export async function pastVoting(f: AlignmentFixture, id: bigint) {
  const { votingEnds } = await f.disputes.disputeOf(id);
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (now <= votingEnds) await mine(Number(votingEnds - now) + 1);
}

/** Mines to the first block of the next rewards epoch. */
export async function nextEpoch(f: AlignmentFixture) {
  const start = await f.rewards.nextEpochStart();
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (now < start) await mine(Number(start - now));
}

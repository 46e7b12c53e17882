/**
 * Fixtures for the ServingLedger and InferenceServing tests, to be used with `loadFixture` from
 * @nomicfoundation/hardhat-network-helpers.
 *
 * - `deployLedgerFixture`: a ModuleRegistry owned by the first signer ("governance"), a ServingLedger behind a
 *   ZgProxy, and a TestCharger registered as "InferenceServing", so that tests charge with chosen amounts.
 * - `deployServingFixture`: the staking fixture (registry + NodeStaking), a ServingLedger and an InferenceServing,
 *   each behind a ZgProxy and registered, and two providers staked in the PROVIDER role.
 * - `deployFreeServingFixture`: the same without a ServingLedger (the `no-token` shape: free services only).
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseWallet, Signer, TypedDataDomain } from "ethers";
import {
  InferenceServing__factory,
  ModuleRegistry__factory,
  ServingLedger__factory,
  TestCharger__factory,
  ZgProxy__factory,
  type IInferenceServing,
  type InferenceServing,
  type ModuleRegistry,
  type ServingLedger,
  type TestCharger,
} from "../../typechain-types";
import { MIN_STAKES, Role, VERSION, deployStakingFixture, type StakingFixture } from "./staking-fixture";

export const LOCK_TIME = 86_400n;

export const SERVING_NAMES = {
  ServingLedger: ethers.encodeBytes32String("ServingLedger"),
  InferenceServing: ethers.encodeBytes32String("InferenceServing"),
} as const;

/** `IInferenceServing.Rejection`, by enum index. */
export const Rejection = {
  None: 0,
  BadSignature: 1,
  StaleNonce: 2,
  AmountBelowSettled: 3,
  OutOfRange: 4,
} as const;
export type RejectionId = (typeof Rejection)[keyof typeof Rejection];

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "user", type: "address" },
    { name: "provider", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "nonce", type: "uint256" },
  ],
};

export interface Voucher {
  user: string;
  provider: string;
  amount: bigint;
  nonce: bigint;
}

/** The EIP-712 domain of an InferenceServing deployment. */
export function voucherDomain(verifyingContract: string, chainId: bigint | number = 31337n): TypedDataDomain {
  return { name: "zerog InferenceServing", version: "1", chainId, verifyingContract };
}

/** A voucher signed by `signer` in `domain`, ready for `settle` (the provider is the caller of `settle`). */
export async function signVoucher(
  signer: Signer | BaseWallet,
  domain: TypedDataDomain,
  voucher: Voucher,
): Promise<IInferenceServing.SignedVoucherStruct> {
  const signature = await signer.signTypedData(domain, VOUCHER_TYPES, voucher);
  return { user: voucher.user, amount: voucher.amount, nonce: voucher.nonce, signature };
}

/** A valid service description; `overrides` replace fields. */
export function serviceParams(
  signer: string,
  overrides: Partial<IInferenceServing.ServiceParamsStruct> = {},
): IInferenceServing.ServiceParamsStruct {
  return {
    model: "zg-builtin-1",
    modelHash: ethers.id("zg-builtin-1 weights"),
    url: "http://127.0.0.1:8080/v1",
    inputPrice: 10n,
    outputPrice: 20n,
    region: ethers.encodeBytes32String("eu"),
    signer,
    deterministic: true,
    ...overrides,
  };
}

/** Deploys a ServingLedger implementation and a proxy initialized with `registry` and `lockTime`. */
export async function deployLedger(
  governance: HardhatEthersSigner,
  registry: string,
  lockTime: bigint = LOCK_TIME,
): Promise<{ ledger: ServingLedger; ledgerAddress: string; implementation: ServingLedger }> {
  const implementation = await new ServingLedger__factory(governance).deploy();
  const initData = implementation.interface.encodeFunctionData("initialize", [registry, lockTime]);
  const proxy = await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), initData);
  const ledgerAddress = await proxy.getAddress();
  return { ledger: ServingLedger__factory.connect(ledgerAddress, governance), ledgerAddress, implementation };
}

/** Deploys an InferenceServing implementation and a proxy initialized with `registry`. */
export async function deployServing(
  governance: HardhatEthersSigner,
  registry: string,
): Promise<{ serving: InferenceServing; servingAddress: string; implementation: InferenceServing }> {
  const implementation = await new InferenceServing__factory(governance).deploy();
  const initData = implementation.interface.encodeFunctionData("initialize", [registry]);
  const proxy = await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), initData);
  const servingAddress = await proxy.getAddress();
  return {
    serving: InferenceServing__factory.connect(servingAddress, governance),
    servingAddress,
    implementation,
  };
}

export interface LedgerFixture {
  registry: ModuleRegistry;
  registryAddress: string;
  ledger: ServingLedger;
  ledgerAddress: string;
  implementation: ServingLedger;
  /** Registered as "InferenceServing": charges on behalf of the serving module. */
  charger: TestCharger;
  chargerAddress: string;
  governance: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  provider: HardhatEthersSigner;
  provider2: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

/** A registry, a ServingLedger with a one-day lock time, and a TestCharger registered as "InferenceServing". */
export async function deployLedgerFixture(): Promise<LedgerFixture> {
  const [governance, alice, bob, provider, provider2, stranger] = await ethers.getSigners();
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();
  const { ledger, ledgerAddress, implementation } = await deployLedger(governance, registryAddress);
  const charger = await new TestCharger__factory(governance).deploy();
  const chargerAddress = await charger.getAddress();
  await (await registry.setModule(SERVING_NAMES.ServingLedger, ledgerAddress, VERSION)).wait();
  await (await registry.setModule(SERVING_NAMES.InferenceServing, chargerAddress, VERSION)).wait();
  return {
    registry,
    registryAddress,
    ledger,
    ledgerAddress,
    implementation,
    charger,
    chargerAddress,
    governance,
    alice,
    bob,
    provider,
    provider2,
    stranger,
  };
}

export interface ServingFixture {
  staking: StakingFixture;
  registry: ModuleRegistry;
  registryAddress: string;
  /** Undefined in the free (no-ledger) variant. */
  ledger: ServingLedger | undefined;
  ledgerAddress: string | undefined;
  serving: InferenceServing;
  servingAddress: string;
  implementation: InferenceServing;
  domain: TypedDataDomain;
  governance: HardhatEthersSigner;
  /** Staked and active in the PROVIDER role. */
  provider: HardhatEthersSigner;
  /** Staked and active in the PROVIDER role. */
  provider2: HardhatEthersSigner;
  user: HardhatEthersSigner;
  user2: HardhatEthersSigner;
  /** An account with no role anywhere. */
  stranger: HardhatEthersSigner;
}

async function deployServingStack(withLedger: boolean): Promise<ServingFixture> {
  const staking = await deployStakingFixture();
  const { registry, governance, stranger } = staking;
  const signers = await ethers.getSigners();
  const [provider, provider2, user, user2] = signers.slice(7, 11);
  const registryAddress = await registry.getAddress();
  let ledger: ServingLedger | undefined;
  let ledgerAddress: string | undefined;
  if (withLedger) {
    ({ ledger, ledgerAddress } = await deployLedger(governance, registryAddress));
    await (await registry.setModule(SERVING_NAMES.ServingLedger, ledgerAddress, VERSION)).wait();
  }
  const { serving, servingAddress, implementation } = await deployServing(governance, registryAddress);
  await (await registry.setModule(SERVING_NAMES.InferenceServing, servingAddress, VERSION)).wait();
  for (const p of [provider, provider2]) {
    await (
      await staking.staking.connect(p).stake(Role.PROVIDER, { value: MIN_STAKES[Role.PROVIDER] })
    ).wait();
  }
  const { chainId } = await ethers.provider.getNetwork();
  return {
    staking,
    registry,
    registryAddress,
    ledger,
    ledgerAddress,
    serving,
    servingAddress,
    implementation,
    domain: voucherDomain(servingAddress, chainId),
    governance,
    provider,
    provider2,
    user,
    user2,
    stranger,
  };
}

/** NodeStaking (NATIVE), a ServingLedger and an InferenceServing, with two staked providers. */
export async function deployServingFixture(): Promise<ServingFixture> {
  return deployServingStack(true);
}

/** The same without a ServingLedger: only free services can be registered and nothing is settled. */
export async function deployFreeServingFixture(): Promise<ServingFixture> {
  return deployServingStack(false);
}

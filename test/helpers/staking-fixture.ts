/**
 * Fixtures for the NodeStaking tests, to be used with `loadFixture` from @nomicfoundation/hardhat-network-helpers.
 *
 * Every fixture deploys a fresh ModuleRegistry owned by the first signer ("governance"), a NodeStaking
 * implementation behind a ZgProxy (initialised in the proxy's constructor), registers the proxy under
 * "NodeStaking", and registers a TestSlasher module under "TestSlasher" with slashing authority.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ModuleRegistry__factory,
  NodeStaking__factory,
  TestSlasher__factory,
  ZgProxy__factory,
  type ModuleRegistry,
  type NodeStaking,
  type TestSlasher,
} from "../../typechain-types";

/** The roles of `INodeStaking.Role`, by their enum index. */
export const Role = {
  STORAGE: 0,
  DA_SIGNER: 1,
  PROVIDER: 2,
  ORACLE: 3,
  ALIGNMENT: 4,
} as const;
export type RoleId = (typeof Role)[keyof typeof Role];

/** The modes of `INodeStaking.Mode`, by their enum index. */
export const Mode = {
  NATIVE: 0,
  PERMISSIONED: 1,
} as const;
export type ModeId = (typeof Mode)[keyof typeof Mode];

/** Minimum bond per role, indexed by `Role`. */
export const MIN_STAKES: readonly [bigint, bigint, bigint, bigint, bigint] = [
  ethers.parseEther("1"), // STORAGE
  ethers.parseEther("2"), // DA_SIGNER
  ethers.parseEther("0.5"), // PROVIDER
  ethers.parseEther("1"), // ORACLE
  ethers.parseEther("5"), // ALIGNMENT
];

export const DAY = 24n * 60n * 60n;
export const UNBONDING_DELAY = 7n * DAY;
export const REPORTER_SHARE_BPS = 1000n;
export const JAIL_PERIOD = DAY;
export const BPS = 10_000n;

export const NAMES = {
  NodeStaking: ethers.encodeBytes32String("NodeStaking"),
  TestSlasher: ethers.encodeBytes32String("TestSlasher"),
} as const;

export const VERSION = "1.0.0";

export interface StakingFixture {
  registry: ModuleRegistry;
  /** The NodeStaking interface at the proxy's address. */
  staking: NodeStaking;
  stakingAddress: string;
  /** The first implementation behind the proxy. */
  implementation: NodeStaking;
  slasher: TestSlasher;
  slasherAddress: string;
  governance: HardhatEthersSigner;
  /** The treasury signer; `slashParams.treasury` is zero (burn) in the burn variant. */
  treasury: HardhatEthersSigner;
  reporter: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  /** An account with no role anywhere. */
  stranger: HardhatEthersSigner;
  mode: ModeId;
  /** The treasury address the proxy was initialised with (zero in the burn variant). */
  treasuryAddress: string;
  initData: string;
}

async function deployStaking(mode: ModeId, burn: boolean): Promise<StakingFixture> {
  const [governance, treasury, reporter, alice, bob, carol, stranger] = await ethers.getSigners();

  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  await registry.waitForDeployment();

  const implementation = await new NodeStaking__factory(governance).deploy();
  await implementation.waitForDeployment();

  const treasuryAddress = burn ? ethers.ZeroAddress : treasury.address;
  const initData = implementation.interface.encodeFunctionData("initialize", [
    await registry.getAddress(),
    mode,
    [...MIN_STAKES],
    UNBONDING_DELAY,
    { reporterShareBps: REPORTER_SHARE_BPS, jailPeriod: JAIL_PERIOD, treasury: treasuryAddress },
  ]);
  const proxy = await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), initData);
  await proxy.waitForDeployment();
  const stakingAddress = await proxy.getAddress();
  const staking = NodeStaking__factory.connect(stakingAddress, governance);

  const slasher = await new TestSlasher__factory(governance).deploy();
  await slasher.waitForDeployment();
  const slasherAddress = await slasher.getAddress();

  await (await registry.setModule(NAMES.NodeStaking, stakingAddress, VERSION)).wait();
  await (await registry.setModule(NAMES.TestSlasher, slasherAddress, VERSION)).wait();
  await (await registry.setSlasher(NAMES.TestSlasher, true)).wait();

  return {
    registry,
    staking,
    stakingAddress,
    implementation,
    slasher,
    slasherAddress,
    governance,
    treasury,
    reporter,
    alice,
    bob,
    carol,
    stranger,
    mode,
    treasuryAddress,
    initData,
  };
}

/** NATIVE mode, the rest of every slash credited to the `treasury` signer. */
export async function deployStakingFixture(): Promise<StakingFixture> {
  return deployStaking(Mode.NATIVE, false);
}

/** NATIVE mode with treasury zero: the rest of every slash is burned. */
export async function deployBurnStakingFixture(): Promise<StakingFixture> {
  return deployStaking(Mode.NATIVE, true);
}

/** PERMISSIONED (no-token) mode: governance admits operators and no coin moves. */
export async function deployPermissionedStakingFixture(): Promise<StakingFixture> {
  return deployStaking(Mode.PERMISSIONED, false);
}

/** A distinct, non-zero evidence hash per label. */
export function evidence(label: string | number): string {
  return ethers.id(`evidence:${label}`);
}

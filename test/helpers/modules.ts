import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ethers } from "hardhat";
import {
  Flow__factory,
  Market__factory,
  ModuleRegistry__factory,
  NodeStaking__factory,
  ZgProxy__factory,
  type Flow,
  type Market,
  type ModuleRegistry,
  type NodeStaking,
} from "../../typechain-types";
import { JAIL_PERIOD, MIN_STAKES, REPORTER_SHARE_BPS, UNBONDING_DELAY } from "./staking-fixture";

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
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();
  const proxy = async (implementation: { getAddress(): Promise<string> }, init: string) =>
    (await new ZgProxy__factory(governance).deploy(await implementation.getAddress(), init)).getAddress();

  const stakingImplementation = await new NodeStaking__factory(governance).deploy();
  const stakingAddress = await proxy(
    stakingImplementation,
    stakingImplementation.interface.encodeFunctionData("initialize", [
      registryAddress,
      0,
      [...MIN_STAKES],
      UNBONDING_DELAY,
      { reporterShareBps: REPORTER_SHARE_BPS, jailPeriod: JAIL_PERIOD, treasury: treasury.address },
    ]),
  );
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
    await (await registry.setModule(ethers.encodeBytes32String(name), address, "1.0.0")).wait();
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

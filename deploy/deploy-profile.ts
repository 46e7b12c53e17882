import { rmSync } from "node:fs";
import path from "node:path";
import { parseEther, ZeroAddress } from "ethers";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import {
  deploymentFile,
  readDeployment,
  writeDeployment,
  type DeploymentRecord,
} from "../offchain/core/deployments";
import { loadProfile, type StakingProfile } from "../offchain/core/profiles";
import { ROLES } from "../offchain/staking/client";
import CoreModule from "./modules/Core";
import INFTModule from "./modules/INFT";
import { InferenceServingModule, ServingLedgerModule } from "./modules/Serving";
import StakingModule from "./modules/Staking";
import StorageModule from "./modules/Storage";
import StorageChallengesModule from "./modules/StorageChallenges";

function stakingParameters(staking: StakingProfile) {
  return {
    mode: staking.mode === "native" ? 0 : 1,
    minStakes: ROLES.map((role) => parseEther(staking.minStake[role]).toString()),
    unbondingDelay: staking.unbondingDelaySeconds,
    slashParams: {
      reporterShareBps: staking.reporterShareBps,
      jailPeriod: staking.jailPeriodSeconds,
      treasury: staking.treasury ?? ZeroAddress,
    },
  };
}

/**
 * Deploys a profile: the registry, then each module the profile names, each registering itself.
 * Re-running against the same chain resumes or no-ops (Ignition's journal), except on the ephemeral
 * local chain (31337), which always starts fresh. Writes the deployment record the SDK reads.
 */
export async function deployProfile(
  hre: HardhatRuntimeEnvironment,
  profileName: string,
  out?: string,
): Promise<DeploymentRecord> {
  const profile = loadProfile(profileName);
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const deploymentId = `${profile.name}-${chainId}`;
  if (chainId === 31337) {
    rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), {
      recursive: true,
      force: true,
    });
  }
  const firstBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
  const options = { deploymentId, displayUi: false };

  // One composed module per profile, so every part shares the one registry in a single deployment.
  const parameters: DeploymentParameters = {};
  const composed = buildModule(`Profile_${profile.name.replace(/-/g, "_")}`, (m) => {
    const { registry } = m.useModule(CoreModule);
    if (profile.modules.staking) {
      m.useModule(StakingModule);
      parameters.Staking = stakingParameters(profile.modules.staking);
    }
    if (profile.modules.storage) {
      m.useModule(StorageModule);
      parameters.Storage = { pricePerSector: profile.modules.storage.pricePerSector };
    }
    const challenges = profile.modules.storageChallenges;
    if (challenges) {
      m.useModule(StorageChallengesModule);
      parameters.StorageChallenges = {
        epochBlocks: challenges.epochBlocks,
        responseWindow: challenges.responseWindow,
        rewardBps: challenges.rewardBps,
        dataLifetime: challenges.dataLifetimeSeconds,
        slashAmount: parseEther(challenges.slashAmount).toString(),
      };
    }
    if (profile.modules.inft) {
      m.useModule(INFTModule);
      parameters.INFT = { mintFee: parseEther(profile.modules.inft.mintFee).toString() };
    }
    const serving = profile.modules.serving;
    if (serving) {
      m.useModule(InferenceServingModule);
      // Without a ledger (the no-token profile) services are free and nothing is settled.
      if (serving.ledger) {
        m.useModule(ServingLedgerModule);
        parameters.ServingLedger = { lockTime: serving.lockTimeSeconds };
      }
    }
    return { registry };
  });
  const { registry } = await hre.ignition.deploy(composed, { ...options, parameters });

  const registryAddress = await registry.getAddress();
  const previous = readDeployment(chainId);
  const modules: DeploymentRecord["modules"] = {};
  for (const raw of (await registry.moduleNames()) as string[]) {
    const name = hre.ethers.decodeBytes32String(raw);
    modules[name] = { address: await registry.getModule(raw), version: await registry.moduleVersion(raw) };
  }
  const record: DeploymentRecord = {
    chainId,
    network: hre.network.name,
    profile: profile.name,
    registry: registryAddress,
    startBlock: previous?.registry === registryAddress ? previous.startBlock : firstBlock,
    modules,
  };
  writeDeployment(record, out ?? deploymentFile(chainId));
  return record;
}

import { rmSync } from "node:fs";
import path from "node:path";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import CoreModule from "../offchain/core/ignition";
import type { IgnitionPart, ModuleManifest } from "../offchain/core/module";
import {
  deploymentFile,
  readDeployment,
  writeDeployment,
  type DeploymentRecord,
} from "../offchain/core/deployments";
import { MODULES } from "../offchain/modules";
import { loadProfile, profileModules } from "../offchain/profiles";

/**
 * Deploys a profile: the registry, then each module the profile names, each registering itself.
 * Re-running against the same chain resumes or no-ops (Ignition's journal), except on the ephemeral
 * local chain (31337), which always starts fresh. Writes the deployment record the SDK reads.
 */
export async function deployProfile(
  hre: HardhatRuntimeEnvironment,
  profileName: string,
  out?: string,
  manifests: readonly ModuleManifest[] = MODULES,
  /** The network name the record gives clients (the devnet deploys in-process but is reached as "localhost"). */
  networkName: string = hre.network.name,
): Promise<DeploymentRecord> {
  const profile = loadProfile(profileName, manifests);
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const deploymentId = `${profile.name}-${chainId}`;
  if (chainId === 31337) {
    rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), {
      recursive: true,
      force: true,
    });
  }
  const firstBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
  // A local chain mines each transaction at once: poll for receipts often and wait for one confirmation, not
  // Ignition's default of five confirmations polled every second (most of a devnet's start-up otherwise).
  const local = chainId === 31337;
  const options = {
    deploymentId,
    displayUi: false,
    ...(local ? { config: { blockPollingInterval: 50, requiredConfirmations: 1 } } : {}),
  };

  // One composed module per profile, so every part shares the one registry in a single deployment.
  const parameters: DeploymentParameters = {};
  const parts: IgnitionPart["module"][] = [];
  for (const module of profileModules(profile, manifests)) {
    for (const part of await module.deploy(profile.modules[module.name])) {
      parts.push(part.module);
      parameters[part.module.id] = part.parameters as DeploymentParameters[string];
    }
  }
  const composed = buildModule(`Profile_${profile.name.replace(/-/g, "_")}`, (m) => {
    const { registry } = m.useModule(CoreModule);
    for (const part of parts) m.useModule(part);
    return { registry };
  });
  const { registry } = await hre.ignition.deploy(composed, { ...options, parameters });

  const registryAddress = await registry.getAddress();
  // After every module registered: each module's idempotent last steps (alignment's ownership handover).
  const [signer] = await hre.ethers.getSigners();
  for (const module of profileModules(profile, manifests)) {
    await module.afterDeploy?.(profile.modules[module.name], { registry: registryAddress, signer, chainId });
  }
  const previous = readDeployment(chainId);
  const modules: DeploymentRecord["modules"] = {};
  for (const raw of (await registry.moduleNames()) as string[]) {
    const name = hre.ethers.decodeBytes32String(raw);
    modules[name] = { address: await registry.getModule(raw), version: await registry.moduleVersion(raw) };
  }
  const record: DeploymentRecord = {
    chainId,
    network: networkName,
    profile: profile.name,
    registry: registryAddress,
    startBlock: previous?.registry === registryAddress ? previous.startBlock : firstBlock,
    modules,
  };
  writeDeployment(record, out ?? deploymentFile(chainId));
  return record;
}

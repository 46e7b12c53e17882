import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { impersonateAccount, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deployProfile } from "../../deploy/deploy-profile";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { alignment } from "../../offchain/alignment/module";
import { loadProfile, profileModules } from "../../offchain/profiles";

export interface TestRpc {
  url: string;
  close(): Promise<void>;
}

/** Serves the in-process Hardhat network over HTTP on 127.0.0.1, so that workers and CLI processes reach it. */
export async function startRpc(): Promise<TestRpc> {
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `zg-${prefix}-`));
}

/**
 * Deploys a profile on the in-process network with Ignition, recording it in a fresh deployments folder
 * that `ZG_DEPLOYMENTS_DIR` points at for the rest of the suite (child processes inherit it).
 */
export async function deployForTest(profile: string): Promise<DeploymentRecord> {
  const dir = tempDir("deployments");
  process.env.ZG_DEPLOYMENTS_DIR = dir;
  return deployProfile(hre, profile, path.join(dir, "31337.json"));
}

/** Hardhat's funded development accounts (index 0 deploys and governs). */
export async function accounts() {
  return hre.ethers.getSigners();
}

/** The private keys of Hardhat's development accounts, from the devnet's own derivation. */
export { devAccount } from "../../offchain/devnet/accounts";

/** An impersonated account funded with 100 coin, whose code a test can later set to reject coin (`setCode`). */
export async function impersonatedAccount(): Promise<HardhatEthersSigner> {
  const address = hre.ethers.Wallet.createRandom().address;
  await impersonateAccount(address);
  await setBalance(address, hre.ethers.parseEther("100"));
  return hre.ethers.getSigner(address);
}

/**
 * The registry names of every contract the `full` profile's modules declare, sorted: what `testnet` deploys, with
 * decentralized governance.
 */
export const ALL_MODULE_CONTRACTS: readonly string[] = profileModules(loadProfile("full"))
  .flatMap((module) => Object.values(module.contracts).map((contract) => contract.name))
  .sort();

/** What `full` deploys: every contract but the Governor and its timelock (the deployer's key governs there). */
export const FULL_PROFILE_MODULES: readonly string[] = ALL_MODULE_CONTRACTS.filter(
  (name) => name !== alignment.contracts.governor.name && name !== alignment.contracts.timelock.name,
);

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./paths";

/** What `zg deploy` writes and the SDK reads to find a chain's ModuleRegistry. */
export interface DeploymentRecord {
  chainId: number;
  network: string;
  profile: string;
  registry: string;
  /** The block the registry was deployed in: workers start following events here. */
  startBlock: number;
  modules: Record<string, { address: string; version: string }>;
}

/** `deployments/` in the checkout, or `ZG_DEPLOYMENTS_DIR`. */
export function deploymentsDir(): string {
  // An empty variable counts as unset, as everywhere else in the SDK.
  return process.env.ZG_DEPLOYMENTS_DIR || path.join(packageRoot(), "deployments");
}

export function deploymentFile(chainId: number | bigint): string {
  return path.join(deploymentsDir(), `${chainId}.json`);
}

export function readDeployment(chainId: number | bigint): DeploymentRecord | undefined {
  const file = deploymentFile(chainId);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as DeploymentRecord;
}

/** Writes the record atomically (write then rename), so readers never see half a file. */
export function writeDeployment(record: DeploymentRecord, file = deploymentFile(record.chainId)): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}

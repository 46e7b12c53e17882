import type { Command } from "commander";
import type { Signer } from "ethers";
import type { IgnitionModule } from "@nomicfoundation/ignition-core";
import type { z, ZodTypeAny } from "zod";
import type { ZgChain } from "./chain";
import type { DeploymentRecord } from "./deployments";
import type { RoleName } from "./roles";
import type { TraceSource } from "./trace";
import type { WorkerService } from "./worker";

/**
 * A module's manifest (`offchain/<module>/module.ts`): everything the rest of the stack knows about the module.
 * Profiles, deploy, `zg node`, the CLI, the devnet, its demo and the test helpers read manifests from the one
 * ordered list in `offchain/modules.ts` and name no module themselves.
 */
export interface ModuleManifest<P extends ZodTypeAny = ZodTypeAny> {
  /** The module's one name: its folders, its profile section, its place in the list. */
  readonly name: string;
  /** One line for `zg --help`, `zg modules` and the docs. */
  readonly summary: string;
  /** The contracts it registers in the ModuleRegistry (registry name and version), by SDK handle. */
  readonly contracts: Readonly<Record<string, ContractEntry>>;
  /** Modules that must be deployed with it (a profile naming it without them is refused). */
  readonly requires: readonly string[];
  /** Its profile section: a zod schema whose defaults fill what a profile leaves out. */
  readonly profile: P;
  /** The Ignition modules that deploy it, with their parameters, for a validated profile section. */
  deploy(section: z.output<P>): Promise<IgnitionPart[]>;
  /**
   * Runs after every module of the profile is deployed and registered, in list order, on every deploy (a re-run
   * included): it must be idempotent, finishing what an interrupted run left and doing nothing when all is done.
   * For what Ignition's dependency order cannot express (alignment hands the registry to its timelock last).
   */
  afterDeploy?(section: z.output<P>, context: AfterDeployContext): Promise<void>;
  /** The operator roles its workers stake in. */
  readonly roles: readonly RoleName[];
  /** The services it runs inside operator workers (`zg node <worker>`). */
  readonly workers: readonly WorkerEntry[];
  /** Adds its command group(s) to `zg`; must stay cheap (commands import their code when they run). */
  cli?(program: Command): void;
  /** What it adds to `zg devnet`. */
  readonly devnet?: DevnetPart;
  /**
   * Its part in `zg trace` and the explorer: the events it contributes, the items it owns and how they link to
   * other modules' items, and its explorer panels (loaded only when a trace or the explorer runs).
   */
  trace?(): Promise<TraceSource>;
  /** Its steps in the devnet demo, run in list order when the module is deployed. */
  readonly demo: readonly DemoStep[];
}

export interface ContractEntry {
  /** The registry name (bytes32 string): also the contract's Solidity name. */
  readonly name: string;
  readonly version: string;
}

/** What a module's `afterDeploy` gets: the deployment, and the deployer's signer (no Hardhat runtime). */
export interface AfterDeployContext {
  /** The ModuleRegistry's address. */
  registry: string;
  /** The deployer (the account Ignition deployed with), connected to the chain. */
  signer: Signer;
  chainId: number;
}

/** One Ignition module of a deployment and the parameters it reads (`m.getParameter`). */
export interface IgnitionPart {
  // Ignition's module type is generic over its contract names; the profile deployer only composes them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  module: IgnitionModule<string, string, any>;
  parameters: Record<string, unknown>;
}

/** A service a module runs inside a worker: loaded only when that worker starts. */
export interface WorkerEntry {
  /** The worker kind (`zg node <worker>`); services of several modules with one kind share one process. */
  readonly worker: string;
  /** What the service does, for `zg node --help`. */
  readonly description: string;
  /** Loads the service (its code is imported only here). */
  load(): Promise<WorkerService>;
}

/** A devnet account as the devnet hands it to a module. */
export interface DevnetAccount {
  address: string;
  privateKey: string;
}

export interface DevnetOperator extends DevnetAccount {
  role: RoleName;
  /** The devnet worker this operator runs. */
  worker: string;
  bonded: string;
}

export interface DevnetWorker {
  name: string;
  kind: string;
  url: string;
  health: string;
  metrics: string;
  log: string;
  /** What the worker serves besides /health and /metrics, for the banner. */
  api?: string;
}

export interface DevnetState {
  rpcUrl: string;
  chainId: number;
  dataDir: string;
  deployment: DeploymentRecord;
  operators: DevnetOperator[];
  workers: DevnetWorker[];
  /** The devnet's own status page: every worker's state (running, restarting, failed, stopped) and health. */
  statusUrl: string;
  /** The explorer page of this devnet (`zg explorer` against its chain). */
  explorerUrl: string;
  /** A funded account for users (never an operator); devnet only: its key is public. */
  user: DevnetAccount;
  /** Copy-paste commands for the user, from every deployed module. */
  tryIt: string[];
}

/** What a module's devnet part sees while the devnet is planned. */
export interface DevnetPlanContext {
  deployment: DeploymentRecord;
  /** Whether a module of the list is in this deployment (by its manifest name). */
  deployed(module: string): boolean;
}

/**
 * A worker a module wants on the devnet. Plans of several modules with the same name are one worker: their roles
 * are joined and their config fields merged (the oracle host serves inference and iNFT as one process).
 */
export interface DevnetWorkerPlan {
  name: string;
  kind: string;
  /** Roles the worker's account stakes in (none for a worker that signs nothing). */
  roles: RoleName[];
  /** Config fields besides the chain connection, data dir and HTTP address the devnet sets itself. */
  config(port: number): Record<string, unknown>;
  /** What it serves besides /health and /metrics, for the banner (e.g. "0G storage JSON-RPC"). */
  api?: string;
}

/** What a module's copy-paste commands for the devnet banner may refer to. */
export interface DevnetTryContext {
  state: DevnetState;
  /** The funded user account the banner prints (its key is in ZG_PRIVATE_KEY for these commands). */
  user: DevnetAccount;
}

export interface DevnetPart {
  workers?(context: DevnetPlanContext): DevnetWorkerPlan[];
  /**
   * Shell lines a user copies from the banner to try the module with the devnet's funded user, run from the
   * checkout after `zg() { node bin/zg.js "$@"; }` and `export ZG_PRIVATE_KEY=<the user's key>`.
   */
  tryIt?(context: DevnetTryContext): string[];
  /** Runs after deployment, before any worker starts, with the accounts the devnet gave each planned worker. */
  setup?(context: DevnetSetupContext): Promise<DevnetOperator[]>;
}

export interface DevnetSetupContext extends DevnetPlanContext {
  /** A connection to the devnet signing with `privateKey`. */
  connect(privateKey: string): Promise<ZgChain>;
  /** The governance account (devnet account 0). */
  governance: DevnetAccount;
  /** Each planned worker's account and the roles it must stake. */
  accounts: { worker: string; roles: RoleName[]; account: DevnetAccount }[];
}

/** What the demo may do to the running devnet. */
export interface DemoControls {
  /** Stops a worker for good (no restart). */
  stopWorker(name: string): Promise<void>;
  /** Starts a stopped worker again and waits until it answers /health. */
  resumeWorker(name: string): Promise<void>;
  /**
   * Starts a worker for one demo step only (not listed, not in the status page), signing with `privateKey`; the
   * step removes it with `removeWorker` when done, so destructive demonstrations leave the listed workers intact.
   */
  startExtraWorker(plan: DevnetWorkerPlan, privateKey?: string): Promise<DevnetWorker>;
  /** Stops an extra worker for good and forgets it. */
  removeWorker(name: string): Promise<void>;
}

export interface DemoContext {
  state: DevnetState;
  controls: DemoControls;
  /** A connection signing as the first operator of `role`, as the demo user, or as governance. */
  connectAs(role: RoleName | "USER" | "GOVERNANCE"): Promise<ZgChain>;
  /** A connection signing as a devnet account no one has used yet (funded from genesis). */
  newAccount(): Promise<ZgChain>;
}

/** Thrown by a demo step that cannot show its capability on this deployment: the demo reports it as skipped. */
export class DemoSkipped extends Error {}

/** One demonstrated capability; it returns what it showed. */
export interface DemoStep {
  title: string;
  /** A contract (registry name) the step needs besides its module's first: skipped when it is not deployed. */
  needs?: string;
  run(context: DemoContext): Promise<string>;
}

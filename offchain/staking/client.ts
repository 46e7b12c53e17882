import { formatEther, type BigNumberish } from "ethers";
import { NodeStaking__factory, type NodeStaking } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { ZgError } from "../core/errors";
import { ROLES, type RoleName } from "../core/roles";
import { staking } from "./module";

export { ROLES, type RoleName } from "../core/roles";

/** The enum id of a role given by name (any case, `-` or `_`); a one-line error lists the roles. */
export function roleId(role: string): number {
  const index = ROLES.indexOf(role.toUpperCase().replace("-", "_") as RoleName);
  if (index < 0) throw new ZgError(`unknown role '${role}' (roles: ${ROLES.join(", ")})`, "BAD_INPUT");
  return index;
}

/** A role as a user typed it (any case, `-` or `_`), as its canonical name. */
export function parseRole(value: string): RoleName {
  return roleName(roleId(value));
}

/** The name of a role given by its enum id. */
export function roleName(id: BigNumberish): RoleName {
  const name = ROLES[Number(id)];
  if (!name) throw new ZgError(`unknown role id ${String(id)}`, "BAD_INPUT");
  return name;
}

export type StakingMode = "native" | "permissioned";

/** An operator's standing in one role, as the CLI and workers show it. */
export interface PositionStatus {
  operator: string;
  role: RoleName;
  active: boolean;
  member: boolean;
  admitted: boolean;
  bonded: bigint;
  unbonding: bigint;
  unbondingReleaseAt: number;
  jailedUntil: number;
  endpoint: string;
  region: string;
}

/** What an operator announced for one role (`announce`). */
export interface NodeInfo {
  endpoint: string;
  region: string;
  /** Role-specific ABI-encoded details ("0x" when none). */
  metadata: string;
}

/** Node details announced with `announce`. */
export interface NodeAnnouncement {
  endpoint: string;
  /** Region code, at most 32 bytes (e.g. "eu"). */
  region?: string;
  /** Role-specific ABI-encoded details. */
  metadata?: string;
}

/** The staking SDK: what operators and the CLI use to bond, unbond, withdraw and inspect positions. */
export class StakingClient {
  private constructor(
    private readonly chain: ZgChain,
    readonly contract: NodeStaking,
    readonly mode: StakingMode,
  ) {}

  static async connect(chain: ZgChain): Promise<StakingClient> {
    const contract = NodeStaking__factory.connect(
      await chain.moduleAddress(staking.contracts.staking.name),
      chain.runner,
    );
    const mode = (await contract.mode()) === 0n ? "native" : "permissioned";
    return new StakingClient(chain, contract, mode);
  }

  /** Bonds `amount` wei for `role` (native mode) or joins the role (permissioned mode, amount 0). */
  async deposit(role: RoleName, amount: bigint) {
    if (this.mode === "permissioned" && amount !== 0n) {
      throw new ZgError(
        "this deployment runs without a token (no-token profile): stake with no amount",
        "BAD_INPUT",
      );
    }
    if (this.mode === "native") {
      if (amount <= 0n) throw new ZgError("the amount must be positive", "BAD_INPUT");
      await this.requireBalance(amount);
    }
    return this.chain.send(`stake ${role}`, () => this.contract.stake(roleId(role), { value: amount }));
  }

  /**
   * Joins `role` as this client's operator the way the deployment admits operators: with the role's minimum bond
   * (native mode), or admitted by `governance` and joined with no coin (permissioned mode).
   */
  async joinAtMinimum(role: RoleName, governance: StakingClient) {
    if (this.mode === "permissioned") {
      await governance.setAdmitted(this.chain.address as string, role, true);
      return this.deposit(role, 0n);
    }
    return this.deposit(role, await this.minStake(role));
  }

  /** Starts unbonding part of a bond (the rest must stay at or above the role's minimum). */
  async unbond(role: RoleName, amount: bigint) {
    if (amount <= 0n) throw new ZgError("the amount must be positive", "BAD_INPUT");
    return this.chain.send(`unbond ${role}`, () => this.contract.requestUnbond(roleId(role), amount));
  }

  /** Leaves the role; the whole bond starts unbonding. */
  async exit(role: RoleName) {
    return this.chain.send(`exit ${role}`, () => this.contract.exit(roleId(role)));
  }

  /** Pays out coin whose unbonding delay has passed. */
  async withdraw(role: RoleName) {
    return this.chain.send(`withdraw ${role}`, () => this.contract.withdraw(roleId(role)));
  }

  /** Announces the node's endpoint, region and role-specific metadata. */
  async announce(role: RoleName, node: NodeAnnouncement) {
    const region = regionBytes(node.region ?? "");
    return this.chain.send(`announce ${role} node`, () =>
      this.contract.setNodeInfo(roleId(role), {
        endpoint: node.endpoint,
        region,
        metadata: node.metadata ?? "0x",
      }),
    );
  }

  /**
   * Announces `node` for `role` as `operator` (this client's signer) unless the chain already holds exactly it:
   * "announced", "unchanged", or "not-member" when the operator is not staked for the role (nothing is sent).
   */
  async announceIfChanged(
    operator: string,
    role: RoleName,
    node: NodeAnnouncement,
  ): Promise<"announced" | "unchanged" | "not-member"> {
    if (!(await this.status(operator, role)).member) return "not-member";
    const current = await this.nodeInfo(operator, role);
    if (
      current.endpoint === node.endpoint &&
      current.region === (node.region ?? "") &&
      current.metadata === (node.metadata ?? "0x")
    )
      return "unchanged";
    await this.announce(role, node);
    return "announced";
  }

  /** Governance: admits or removes an operator for a role (no-token deployments). */
  async setAdmitted(operator: string, role: RoleName, admitted: boolean) {
    return this.chain.send(`${admitted ? "admit" : "remove"} ${operator} for ${role}`, () =>
      this.contract.setAdmitted(operator, roleId(role), admitted),
    );
  }

  /** The minimum bond of a role, in wei. */
  async minStake(role: RoleName): Promise<bigint> {
    return this.contract.minStake(roleId(role));
  }

  /** Claims reporter rewards or treasury share credited by slashes. */
  async claim() {
    return this.chain.send("claim", () => this.contract.claim());
  }

  /** What the operator announced for a role: endpoint, region and role-specific metadata. */
  async nodeInfo(operator: string, role: RoleName): Promise<NodeInfo> {
    const info = await this.contract.nodeInfoOf(operator, roleId(role));
    return { endpoint: info.endpoint, region: regionString(info.region), metadata: info.metadata };
  }

  /** The operator's status in one role. */
  async status(operator: string, role: RoleName): Promise<PositionStatus> {
    const id = roleId(role);
    const [position, active, info] = await Promise.all([
      this.contract.positionOf(operator, id),
      this.contract.isActive(operator, id),
      this.nodeInfo(operator, role),
    ]);
    return {
      operator,
      role,
      active,
      member: position.member,
      admitted: position.admitted,
      bonded: position.bonded,
      unbonding: position.unbonding,
      unbondingReleaseAt: Number(position.unbondingReleaseAt),
      jailedUntil: Number(position.jailedUntil),
      endpoint: info.endpoint,
      region: info.region,
    };
  }

  /** Every member of a role, active or not (unbonding, jailed). */
  async members(role: RoleName): Promise<string[]> {
    return [...(await this.contract.membersOf(roleId(role)))];
  }

  /** The active members of a role with what they announced: how clients discover nodes. */
  async activeNodes(role: RoleName): Promise<PositionStatus[]> {
    const members = await this.contract.activeMembersOf(roleId(role));
    return Promise.all(members.map((operator) => this.status(operator, role)));
  }

  private async requireBalance(amount: bigint): Promise<void> {
    const address = this.chain.address;
    if (!address) return;
    const balance = await this.chain.provider.getBalance(address);
    if (balance < amount) {
      throw new ZgError(
        `account ${address} holds ${formatEther(balance)} but the stake is ${formatEther(amount)}`,
        "INSUFFICIENT_FUNDS",
      );
    }
  }
}

/** A region code as the bytes32 the contract stores (UTF-8, right-padded with zeros). */
export function regionBytes(region: string): string {
  const bytes = Buffer.from(region, "utf8");
  if (bytes.length > 32) throw new ZgError(`region '${region}' is longer than 32 bytes`, "BAD_INPUT");
  return `0x${Buffer.concat([bytes, Buffer.alloc(32 - bytes.length)]).toString("hex")}`;
}

export function regionString(value: string): string {
  return Buffer.from(value.slice(2), "hex").toString("utf8").replace(/\0+$/, "");
}

import type { BigNumberish } from "ethers";
import { ZgError } from "./errors";

/**
 * The operator roles of NodeStaking, in the order of its `Role` enum: the vocabulary every module's manifest uses
 * to say which operators its workers need.
 */
export const ROLES = ["STORAGE", "DA_SIGNER", "PROVIDER", "ORACLE", "ALIGNMENT"] as const;
export type RoleName = (typeof ROLES)[number];

/** The enum index of a role given by name (any case, `-` or `_`); a one-line error lists the roles. */
export function roleId(role: string): number {
  const index = ROLES.indexOf(role.toUpperCase().replace("-", "_") as RoleName);
  if (index < 0) throw new ZgError(`unknown role '${role}' (roles: ${ROLES.join(", ")})`, "BAD_INPUT");
  return index;
}

/** The name of a role given by its enum index. */
export function roleName(id: BigNumberish): RoleName {
  const name = ROLES[Number(id)];
  if (!name) throw new ZgError(`unknown role id ${String(id)}`, "BAD_INPUT");
  return name;
}

/**
 * The operator roles of NodeStaking, in the order of its `Role` enum: the vocabulary every module's manifest uses
 * to say which operators its workers need. (The staking SDK converts names and enum ids.)
 */
export const ROLES = ["STORAGE", "DA_SIGNER", "PROVIDER", "ORACLE", "ALIGNMENT"] as const;
export type RoleName = (typeof ROLES)[number];

import { z } from "zod";
import { addressSchema, coinAmountSchema } from "../core/schemas";
import type { DevnetOperator, ModuleManifest } from "../core/module";
import { ROLES } from "../core/roles";
import { registerStakingCommands } from "./cli";

const profile = z
  .object({
    /** "native": operators bond the chain's coin; "permissioned": governance admits them, no coin moves. */
    mode: z.enum(["native", "permissioned"]),
    minStake: z
      .object(
        Object.fromEntries(ROLES.map((role) => [role, coinAmountSchema])) as Record<
          (typeof ROLES)[number],
          typeof coinAmountSchema
        >,
      )
      .strict(),
    unbondingDelaySeconds: z.number().int().min(0).default(604_800),
    reporterShareBps: z.number().int().min(0).max(10_000).default(1000),
    jailPeriodSeconds: z.number().int().min(0).default(86_400),
    treasury: addressSchema.nullable().default(null),
  })
  .strict();

/** Operator stake per role, slashing and jailing (NodeStaking): every operator-run module needs it. */
export const staking = {
  name: "staking",
  summary: "operator stake per role, unbonding, slashing and jailing (NodeStaking)",
  contracts: { staking: { name: "NodeStaking", version: "1.0.0" } },
  requires: [],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { parseEther, ZeroAddress } = await import("ethers");
    const { default: module } = await import("./ignition");
    return [
      {
        module,
        parameters: {
          mode: section.mode === "native" ? 0 : 1,
          minStakes: ROLES.map((role) => parseEther(section.minStake[role]).toString()),
          unbondingDelay: section.unbondingDelaySeconds,
          slashParams: {
            reporterShareBps: section.reporterShareBps,
            jailPeriod: section.jailPeriodSeconds,
            treasury: section.treasury ?? ZeroAddress,
          },
        },
      },
    ];
  },
  roles: [],
  workers: [
    {
      worker: "watcher",
      description: "follows NodeStaking events and keeps every position and per-role totals",
      load: async () => (await import("./watcher")).stakingWatcher,
    },
  ],
  cli: registerStakingCommands,
  devnet: {
    workers: () => [{ name: "watcher", kind: "watcher", roles: [], config: () => ({}) }],
    tryIt: ({ state }) =>
      state.operators.slice(0, 1).map((o) => `zg stake status --role ${o.role} --operator ${o.address}`),
    async setup(context): Promise<DevnetOperator[]> {
      return (await import("./devnet")).stakeDevnetOperators(context);
    },
  },
  trace: async () => (await import("./trace")).stakingTrace,
  demo: [
    {
      title: "every role has an active, staked operator",
      run: async (context) => (await import("./demo")).showOperators(context),
    },
    {
      title: "the watcher rebuilt every role's stake from events",
      run: async (context) => (await import("./demo")).showWatcher(context),
    },
    {
      title: "an operator leaves part (or all) of its role and the watcher follows",
      run: async (context) => (await import("./demo")).showUnbonding(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;

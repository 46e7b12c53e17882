import { z } from "zod";
import { coinAmountSchema } from "../core/schemas";
import type { IgnitionPart, ModuleManifest } from "../core/module";
import { registerAlignmentCommands } from "./cli";
import { alignmentDevnet } from "./devnet";

const profile = z
  .object({
    license: z
      .object({
        /** The most licenses that can ever exist. */
        maxSupply: z.number().int().min(1).max(10_000_000),
        /** Licenses cannot change hands for this long after deployment (minting always works). */
        soulboundSeconds: z
          .number()
          .int()
          .min(0)
          .max(10 * 365 * 86_400),
      })
      .strict(),
    /**
     * Decentralized governance: deploys the Governor and its timelock and makes the timelock the owner of the
     * registry (and so of every module's parameters). Left out, the deployer's key governs.
     */
    governance: z
      .object({
        votingDelayBlocks: z.number().int().min(0).max(1_000_000).default(1),
        votingPeriodBlocks: z.number().int().min(1).max(10_000_000),
        /** Licenses (whole votes) needed to propose. */
        proposalThreshold: z.number().int().min(0).default(1),
        quorumPercent: z.number().int().min(1).max(100).default(4),
        timelockDelaySeconds: z
          .number()
          .int()
          .min(0)
          .max(30 * 86_400),
      })
      .strict()
      .optional(),
    disputes: z
      .object({
        /** Coin a filer posts; lost to the voters when the dispute is rejected. "0" without a token. */
        bond: coinAmountSchema,
        /** Blocks a dispute is open for votes. */
        votingBlocks: z.number().int().min(1).max(10_000_000),
        /** Licenses that must vote for a dispute to be upheld. */
        quorum: z.number().int().min(1).max(10_000_000),
        /** Voters whose score is within this distance of the outcome share the voter reward (0–10). */
        clip: z.number().int().min(0).max(10).default(2),
        /** Coin taken from a provider an upheld dispute finds at fault (no-token deployments jail instead). */
        slashAmount: coinAmountSchema,
      })
      .strict(),
    rewards: z
      .object({
        /** Blocks per liveness epoch. */
        epochBlocks: z.number().int().min(2).max(10_000_000),
      })
      .strict(),
  })
  .strict();

/** Alignment: licenses, governance that owns every module, the policy, disputes with clipped votes, liveness rewards. */
export const alignment = {
  name: "alignment",
  summary:
    "alignment: licenses, decentralized governance, the policy, disputes with clipped votes, liveness rewards",
  contracts: {
    license: { name: "AlignmentLicense", version: "1.0.0" },
    governor: { name: "AlignmentGovernor", version: "1.0.0" },
    timelock: { name: "AlignmentTimelock", version: "1.0.0" },
    policy: { name: "AlignmentPolicy", version: "1.0.0" },
    disputes: { name: "Disputes", version: "1.0.0" },
    rewards: { name: "AlignmentRewards", version: "1.0.0" },
  },
  requires: ["staking", "storage", "serving"],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { parseEther } = await import("ethers");
    const { LicenseModule, GovernanceModule } = await import("./ignition");
    const { DisputesModule } = await import("./ignition-disputes");
    const parts: IgnitionPart[] = [
      {
        module: LicenseModule,
        parameters: {
          maxSupply: section.license.maxSupply,
          soulboundSeconds: section.license.soulboundSeconds,
        },
      },
      {
        module: DisputesModule,
        parameters: {
          bond: parseEther(section.disputes.bond).toString(),
          votingBlocks: section.disputes.votingBlocks,
          quorum: section.disputes.quorum,
          clip: section.disputes.clip,
          slashAmount: parseEther(section.disputes.slashAmount).toString(),
          epochBlocks: section.rewards.epochBlocks,
        },
      },
    ];
    // Last: once the timelock owns the registry, nothing else can be registered without a proposal.
    if (section.governance) parts.push({ module: GovernanceModule, parameters: { ...section.governance } });
    return parts;
  },
  /**
   * With governance: hands the registry to the timelock once every module of the profile is registered (no
   * Ignition dependency can say "after every other module"); idempotent, so a re-run of deploy only verifies.
   */
  async afterDeploy(section, context) {
    if (!section.governance) return;
    const { handOverToTimelock } = await import("./handover");
    await handOverToTimelock(context.registry, context.signer, section.governance.timelockDelaySeconds);
  },
  roles: ["ALIGNMENT"],
  workers: [
    {
      worker: "alignment",
      description:
        "audits providers' receipts (re-execution and the policy), files and votes on disputes, attests liveness",
      load: async () => (await import("./node")).alignmentNode,
    },
  ],
  cli: registerAlignmentCommands,
  devnet: alignmentDevnet,
  trace: async () => (await import("./trace")).alignmentTrace,
  demo: [
    {
      title:
        "governance publishes the alignment policy in storage, and every alignment node attests liveness",
      run: async (context) => (await import("./demo")).showPolicyAndLiveness(context),
    },
    {
      title:
        "a provider that leaks a key in one answer is disputed, voted on and slashed; the honest one is untouched",
      run: async (context) => (await import("./demo")).showDispute(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;

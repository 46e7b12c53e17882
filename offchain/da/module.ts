import { z } from "zod";
import { coinAmountSchema } from "../core/schemas";
import type { ModuleManifest } from "../core/module";
import { registerDACommands } from "./cli";

const weiSchema = z.string().regex(/^\d{1,30}$/, "must be a whole number of wei");

const profile = z
  .object({
    /** Blocks per signer epoch: the signer set and weights are frozen for one epoch. */
    epochBlocks: z.number().int().min(2).max(1_000_000),
    /** Wei per blob paid at submission; "0" in no-token deployments. */
    feePerBlob: weiSchema,
    /** Blocks after submission within which a payload must be attested, else its fee can be refunded. */
    attestWindow: z.number().int().min(1).max(10_000_000).default(7200),
    /** Blocks after attestation within which a signer can be challenged for a payload. */
    challengeWindow: z.number().int().min(1).max(10_000_000),
    /** Blocks a challenged signer has to answer (below 256: the answer needs the challenge block's hash). */
    responseWindow: z.number().int().min(2).max(255),
    /** Coin a challenger posts; forfeited to the signer when it answers. "0" in no-token deployments. */
    challengeBond: coinAmountSchema,
    /** Coin taken from a signer that leaves a challenge unanswered (no-token deployments jail instead). */
    slashAmount: coinAmountSchema,
  })
  .strict();

/** DA nodes on the devnet (the sampler comes on top). */
const DEVNET_DA_NODES = 4;

/** Data availability: KZG blob commitments, a BLS quorum on-chain, DA nodes, sampling and availability challenges. */
export const da = {
  name: "da",
  summary: "data availability: KZG blobs, a BLS quorum on-chain, DA nodes, light-client sampling, challenges",
  contracts: {
    signers: { name: "DASigners", version: "1.0.0" },
    entrance: { name: "DAEntrance", version: "1.0.0" },
  },
  requires: ["staking"],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { parseEther } = await import("ethers");
    const { DAModule } = await import("./ignition");
    return [
      {
        module: DAModule,
        parameters: {
          epochBlocks: section.epochBlocks,
          feePerBlob: section.feePerBlob,
          attestWindow: section.attestWindow,
          challengeWindow: section.challengeWindow,
          responseWindow: section.responseWindow,
          challengeBond: parseEther(section.challengeBond).toString(),
          slashAmount: parseEther(section.slashAmount).toString(),
        },
      },
    ];
  },
  roles: ["DA_SIGNER"],
  workers: [
    {
      worker: "da",
      description:
        "holds its custody cells of every payload, verified against the commitments, signs attestations, serves cells, answers availability challenges",
      load: async () => (await import("./node")).daNode,
    },
    {
      worker: "sampler",
      description:
        "samples random cells of every attested payload from the signers, challenges a signer that cannot serve its cells",
      load: async () => (await import("./sampler")).sampler,
    },
  ],
  cli: registerDACommands,
  devnet: {
    tryIt: () => [
      `DA=$(zg --json da submit README.md | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id')`,
      'zg da sample "$DA" && zg da get "$DA" "$(mktemp -u)"',
    ],
    workers: () => [
      ...Array.from({ length: DEVNET_DA_NODES }, (_, n) => ({
        name: `da-${n}`,
        kind: "da",
        roles: ["DA_SIGNER" as const],
        api: "DA dispersal and cells (/v1/da)",
        config: (port: number) => ({ publicUrl: `http://127.0.0.1:${port}` }),
      })),
      {
        name: "sampler",
        kind: "sampler",
        // A challenger must be an operator where no coin moves (no-token): the sampler stakes as a DA operator
        // without a BLS key, so it is never one of the signers it checks.
        roles: ["DA_SIGNER" as const],
        config: () => ({ samples: 16, resampleEveryMs: 2000 }),
      },
    ],
  },
  trace: async () => (await import("./trace")).daTrace,
  demo: [
    {
      title:
        "a file made available: dispersed to the DA nodes, attested by a BLS quorum, sampled and read back",
      run: async (context) => (await import("./demo")).showAvailability(context),
    },
    {
      title: "a DA node that lost the cells it signed for is caught by the sampler and slashed",
      run: async (context) => (await import("./demo")).showWithholding(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;

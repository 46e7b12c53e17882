import { z } from "zod";
import { coinAmountSchema } from "../core/schemas";
import type { IgnitionPart, ModuleManifest } from "../core/module";
import { registerStorageCommands } from "./cli";

const challengesProfile = z
  .object({
    epochBlocks: z.number().int().min(2).max(1_000_000),
    responseWindow: z.number().int().min(1).max(255),
    rewardBps: z.number().int().min(0).max(10_000).default(1000),
    dataLifetimeSeconds: z.number().int().min(1).default(2_678_400),
    slashAmount: coinAmountSchema,
  })
  .strict()
  .refine((c) => c.responseWindow <= c.epochBlocks, {
    message: "responseWindow must not exceed epochBlocks",
  });

const profile = z
  .object({
    /** Wei per 256-byte sector; "0" for no fees (no-token deployments). */
    pricePerSector: z.string().regex(/^\d{1,30}$/, "must be a whole number of wei"),
    /** The storage-proof game (StorageChallenges); left out, nodes are never challenged. */
    challenges: challengesProfile.optional(),
  })
  .strict();

/**
 * What every devnet storage node is configured with: six nodes share one machine, so each hashes on its own thread
 * (worker threads per node cost more than they free there: bench/storage-e2e.ts measures it).
 */
export const DEVNET_NODE_CONFIG = { hashThreads: 0 };

/** Devnet storage nodes: four quarter shards and two half shards, so 4+2 parity survives any two losses. */
export const DEVNET_NODES: { shard: { shardId: number; numShard: number }; region: string }[] = [
  { shard: { shardId: 0, numShard: 4 }, region: "eu" },
  { shard: { shardId: 1, numShard: 4 }, region: "eu" },
  { shard: { shardId: 2, numShard: 4 }, region: "eu" },
  { shard: { shardId: 3, numShard: 4 }, region: "us" },
  { shard: { shardId: 0, numShard: 2 }, region: "us" },
  { shard: { shardId: 1, numShard: 2 }, region: "us" },
];

/** The 0G-compatible storage log (Flow, Market), its storage nodes and the storage-proof game. */
export const storage = {
  name: "storage",
  summary: "0G-compatible storage log, storage nodes, erasure coding and storage-proof challenges",
  contracts: {
    flow: { name: "Flow", version: "1.0.0" },
    market: { name: "Market", version: "1.0.0" },
    challenges: { name: "StorageChallenges", version: "1.0.0" },
  },
  requires: ["staking"],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { parseEther } = await import("ethers");
    const { StorageLogModule, StorageChallengesModule } = await import("./ignition");
    const parts: IgnitionPart[] = [
      { module: StorageLogModule, parameters: { pricePerSector: section.pricePerSector } },
    ];
    const challenges = section.challenges;
    if (challenges) {
      parts.push({
        module: StorageChallengesModule,
        parameters: {
          epochBlocks: challenges.epochBlocks,
          responseWindow: challenges.responseWindow,
          rewardBps: challenges.rewardBps,
          dataLifetime: challenges.dataLifetimeSeconds,
          slashAmount: parseEther(challenges.slashAmount).toString(),
        },
      });
    }
    return parts;
  },
  roles: ["STORAGE"],
  workers: [
    {
      worker: "storage",
      description:
        "stores its shard of every file, serves the 0G storage JSON-RPC, answers storage challenges",
      load: async () => (await import("./node")).storageNode,
    },
  ],
  cli: registerStorageCommands,
  devnet: {
    tryIt: () => [
      "zg storage nodes",
      "zg storage upload README.md",
      'zg storage download "$(zg storage root README.md)" "$(mktemp -u)"',
    ],
    workers: () =>
      DEVNET_NODES.map((node, n) => ({
        name: `storage-${n}`,
        kind: "storage",
        roles: ["STORAGE"],
        api: "0G storage JSON-RPC",
        config: (port: number) => ({
          ...DEVNET_NODE_CONFIG,
          shard: node.shard,
          region: node.region,
          publicUrl: `http://127.0.0.1:${port}`,
        }),
      })),
  },
  trace: async () => (await import("./trace")).storageTrace,
  demo: [
    {
      title: "a file uploaded with 4+2 parity survives the loss of two storage nodes",
      run: async (context) => (await import("./demo")).showParity(context),
    },
    {
      title: "a storage node that deleted its data is slashed, while the nodes that hold theirs answer",
      needs: "StorageChallenges",
      run: async (context) => (await import("./demo")).showChallenges(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;

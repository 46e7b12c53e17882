import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { addressSchema, validate } from "./config";
import { ZgError } from "./errors";
import { packageRoot } from "./paths";

const coinAmount = z
  .string()
  .regex(/^\d+(\.\d{1,18})?$/, 'must be a decimal amount of coin, e.g. "10" or "0.5"');

const stakingProfileSchema = z
  .object({
    mode: z.enum(["native", "permissioned"]),
    minStake: z
      .object({
        STORAGE: coinAmount,
        DA_SIGNER: coinAmount,
        PROVIDER: coinAmount,
        ORACLE: coinAmount,
        ALIGNMENT: coinAmount,
      })
      .strict(),
    unbondingDelaySeconds: z.number().int().min(0),
    reporterShareBps: z.number().int().min(0).max(10_000),
    jailPeriodSeconds: z.number().int().min(0),
    treasury: addressSchema.nullable(),
  })
  .strict();

const storageProfileSchema = z
  .object({
    /** Wei per 256-byte sector; "0" for no fees (no-token deployments). */
    pricePerSector: z.string().regex(/^\d{1,30}$/, "must be a whole number of wei"),
  })
  .strict();

const challengesProfileSchema = z
  .object({
    epochBlocks: z.number().int().min(2).max(1_000_000),
    responseWindow: z.number().int().min(1).max(255),
    rewardBps: z.number().int().min(0).max(10_000),
    dataLifetimeSeconds: z.number().int().min(1),
    slashAmount: coinAmount,
  })
  .strict()
  .refine((c) => c.responseWindow <= c.epochBlocks, {
    message: "responseWindow must not exceed epochBlocks",
  });

const inftProfileSchema = z
  .object({
    /** Coin per mint or clone of an agent token; "0" for none (no-token deployments). */
    mintFee: coinAmount,
  })
  .strict();

/**
 * Inference serving: InferenceServing always, and the ServingLedger that pays for services when `ledger` is true
 * (with the refund lock time). Without a ledger (no-token deployments) services must be free.
 */
const servingProfileSchema = z.discriminatedUnion("ledger", [
  z
    .object({
      ledger: z.literal(true),
      /** Seconds a refund stays locked: the provider's window to settle what it is owed. */
      lockTimeSeconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 24 * 60 * 60),
    })
    .strict(),
  z.object({ ledger: z.literal(false) }).strict(),
]);

/** A deployment profile (`deploy/profiles/<name>.json`): which modules, with which parameters. */
export const profileSchema = z
  .object({
    description: z.string().min(1),
    modules: z
      .object({
        staking: stakingProfileSchema.optional(),
        storage: storageProfileSchema.optional(),
        storageChallenges: challengesProfileSchema.optional(),
        inft: inftProfileSchema.optional(),

        serving: servingProfileSchema.optional(),
      })
      .strict(),
  })
  .strict();

export type Profile = z.output<typeof profileSchema> & { name: string };
export type StakingProfile = z.output<typeof stakingProfileSchema>;
export type StorageProfile = z.output<typeof storageProfileSchema>;
export type ChallengesProfile = z.output<typeof challengesProfileSchema>;
export type InftProfile = z.output<typeof inftProfileSchema>;

export type ServingProfile = z.output<typeof servingProfileSchema>;

export function profilesDir(): string {
  return path.join(packageRoot(), "deploy", "profiles");
}

export function profileNames(): string[] {
  return readdirSync(profilesDir())
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -5))
    .sort();
}

/** Loads and validates a profile by name; an unknown name lists the ones that exist. */
export function loadProfile(name: string): Profile {
  const file = path.join(profilesDir(), `${name}.json`);
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
    throw new ZgError(`unknown profile '${name}' (profiles: ${profileNames().join(", ")})`, "BAD_INPUT");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ZgError(`profile ${file} is not valid JSON: ${(error as Error).message}`, "BAD_CONFIG");
  }
  return { ...validate(profileSchema, raw, `profile ${name}`), name };
}

import { randomInt } from "node:crypto";
import type { Result } from "ethers";
import {
  DAEntrance__factory,
  DASigners__factory,
  type DAEntrance,
  type DASigners,
} from "../../typechain-types";
import type { FoundEvent, ZgChain } from "../core/chain";
import { firstLine, ZgError } from "../core/errors";
import { StakingClient } from "../staking/client";
import { DANodeApi } from "./api";
import { aggregateG1, aggregateG2, attestationMessage, hashToG1Hint, verify } from "./bls";
import {
  blobsToPayload,
  decodeCommitments,
  Encoder,
  encodeCommitments,
  recoverBlob,
  verifyCells,
} from "./blob";
import { da } from "./module";
import {
  CELLS_PER_BLOB,
  CELLS_TO_RECOVER,
  custodyCells,
  holdsCell,
  type ExtendedBlob,
  type G1Point,
  type G2Point,
} from "./types";

/** A DA event as the SDK reads it: its decoded arguments and its block. */
export interface DAEvent {
  args: Result;
  blockNumber: number;
}

/** Where the DA SDK finds what the contracts keep in logs only (see `DAClient.connect`). */
export interface DAEventLookup {
  /** The `Submitted` event of payload `id`, if any. */
  submitted(id: string): Promise<DAEvent | undefined>;
  /** The `Attested` event of payload `id`, if any. */
  attested(id: string): Promise<DAEvent | undefined>;
  /** The arguments of `operator`'s `SignerRegistered` event (its G2 key), if any. */
  registered(operator: string): Promise<Result | undefined>;
}

/** One signer of an epoch, as frozen on-chain, with the endpoint it announced. */
export interface EpochSigner {
  index: number;
  operator: string;
  weight: bigint;
  pkG1: G1Point;
  pkG2: G2Point;
  endpoint: string;
}

/** An epoch's frozen signer set. */
export interface EpochSet {
  epoch: bigint;
  signers: EpochSigner[];
  totalWeight: bigint;
}

/** A payload as the chain records it. */
export interface PayloadInfo {
  id: string;
  submitter: string;
  blobs: number;
  length: number;
  commitments: Uint8Array[];
  fee: bigint;
  submittedBlock: number;
  /** Set once a quorum attested it. */
  attestation?: { epoch: bigint; nonSigners: number[]; block: number };
}

/** Progress of a DA operation: `done` of `total` in its phase. */
export type DAProgress = (event: {
  phase: "encode" | "submit" | "disperse" | "attest" | "download";
  done: number;
  total: number;
}) => void;

export interface SubmitResult {
  id: string;
  blobs: number;
  length: number;
  epoch: bigint;
  /** Signers that signed, and those that did not, with why. */
  signed: string[];
  missing: { operator: string; reason: string }[];
  /** Whether this call paid for the submission (false when resuming one already on-chain). */
  submitted: boolean;
  /** Whether this call attested it (false when it was attested already). */
  attested: boolean;
}

/** One cell a sampler could not get verified from a signer that holds it by custody. */
export interface SampleFailure {
  blob: number;
  cell: number;
  signer: EpochSigner;
  reason: string;
}

export interface SampleReport {
  id: string;
  samplesPerBlob: number;
  /** Per blob: the cells verified. */
  verified: number[][];
  failures: SampleFailure[];
  /** Cells no signer could serve. */
  unavailable: { blob: number; cell: number }[];
  /** The least confidence over the blobs: 1 − 2^−s when every sampled cell verified, else 0. */
  confidence: number;
}

/** `IDAEntrance.ChallengeStatus` values. */
/** Epochs a submission tries to collect its signatures in before it gives up (see `submit`). */
const EPOCH_ATTEMPTS = 3;
const CHALLENGE_ANSWERED = 2n;
const CHALLENGE_SLASHED = 3n;

/** Confidence that a blob is available after `verified` random cells of its 2× extension verified. */
export function confidenceOf(verified: number): number {
  return 1 - 2 ** -verified;
}

/**
 * The DA SDK: submit a payload (encode, pay, disperse to the epoch's signers, aggregate their signatures,
 * attest), read it back from any half of each blob's cells, sample it as a light client, and read its status.
 */
export class DAClient {
  private readonly epochs = new Map<bigint, EpochSet>();

  private constructor(
    private readonly chain: ZgChain,
    readonly entrance: DAEntrance,
    readonly signers: DASigners,
    private readonly staking: StakingClient,
    private readonly events: DAEventLookup,
  ) {}

  /**
   * The DA SDK on `chain`. `events` finds the facts the contracts keep in logs only; by default the chain's logs
   * since the deployment started, read in ranges the endpoint accepts (`ZgChain.findEvents`).
   */
  static async connect(chain: ZgChain, events?: DAEventLookup): Promise<DAClient> {
    const entrance = DAEntrance__factory.connect(
      await chain.moduleAddress(da.contracts.entrance.name),
      chain.runner,
    );
    const signers = DASigners__factory.connect(
      await chain.moduleAddress(da.contracts.signers.name),
      chain.runner,
    );
    const first = ([event]: FoundEvent[]): DAEvent | undefined =>
      event && { args: event.args, blockNumber: event.blockNumber };
    const lookup: DAEventLookup = events ?? {
      submitted: async (id) => first(await chain.findEvents(entrance, entrance.filters.Submitted(id))),
      attested: async (id) => first(await chain.findEvents(entrance, entrance.filters.Attested(id))),
      registered: async (operator) =>
        first(await chain.findEvents(signers, signers.filters.SignerRegistered(operator)))?.args,
    };
    return new DAClient(chain, entrance, signers, await StakingClient.connect(chain), lookup);
  }

  async currentEpoch(): Promise<bigint> {
    return this.signers.currentEpoch();
  }

  /**
   * The current epoch's signer set, freezing it first when nobody has yet. `freezeEpoch` freezes the epoch of its
   * block: when an epoch ends between the read and the transaction, or someone else freezes it first, it looks
   * again.
   */
  async frozenCurrentEpoch(): Promise<EpochSet> {
    for (let attempt = 1; ; attempt++) {
      const epoch = await this.currentEpoch();
      if ((await this.signers.epochInfo(epoch)).frozen) return this.epoch(epoch);
      if (attempt === EPOCH_ATTEMPTS)
        throw new ZgError(`DA epoch ${epoch} is not frozen after ${EPOCH_ATTEMPTS} tries`, "NETWORK");
      await this.chain
        .send(`freeze DA epoch ${epoch}`, () => this.signers.freezeEpoch())
        .catch((error: unknown) => {
          if (!firstLine(error).includes("DASignersAlreadyFrozen")) throw error;
        });
    }
  }

  /** A frozen epoch's signers with their keys and endpoints (kept: a frozen epoch never changes). */
  async epoch(epoch: bigint): Promise<EpochSet> {
    const known = this.epochs.get(epoch);
    if (known) return known;
    const info = await this.signers.epochInfo(epoch);
    if (!info.frozen) throw new ZgError(`DA epoch ${epoch} is not frozen`, "NOT_FOUND");
    const frozen = await this.signers.epochSigners(epoch);
    const signers = await Promise.all(
      frozen.map(async ({ operator, weight }, index): Promise<EpochSigner> => {
        const [pkG1, registered, node] = await Promise.all([
          this.signers.keyOf(operator),
          // The G2 key is in the registration event only (the contract keeps the G1 key and the aggregate).
          this.events.registered(operator),
          this.staking.nodeInfo(operator, "DA_SIGNER"),
        ]);
        const pkG2 = registered?.pkG2 as { X: [bigint, bigint]; Y: [bigint, bigint] } | undefined;
        if (!pkG2) throw new ZgError(`DA signer ${operator} has no registration event`, "NOT_FOUND");
        return {
          index,
          operator,
          weight,
          pkG1: { X: pkG1.X, Y: pkG1.Y },
          pkG2: { X: [pkG2.X[0], pkG2.X[1]], Y: [pkG2.Y[0], pkG2.Y[1]] },
          endpoint: node.endpoint,
        };
      }),
    );
    const set: EpochSet = { epoch, signers, totalWeight: info.totalWeight };
    this.epochs.set(epoch, set);
    return set;
  }

  /** What the chain records of payload `id`; a NOT_FOUND error when it was never submitted. */
  async payload(id: string): Promise<PayloadInfo> {
    const submitted = await this.events.submitted(id);
    if (!submitted) throw new ZgError(`no DA payload ${id} was submitted on this chain`, "NOT_FOUND");
    // By position: the event's `length` argument hides the typed names.
    const [, submitter, blobs, length, fee, commitments] = submitted.args as unknown as [
      string,
      string,
      bigint,
      bigint,
      bigint,
      string,
    ];
    const info: PayloadInfo = {
      id,
      submitter,
      blobs: Number(blobs),
      length: Number(length),
      commitments: decodeCommitments(commitments),
      fee,
      submittedBlock: submitted.blockNumber,
    };
    const attested = await this.events.attested(id);
    if (attested)
      info.attestation = {
        epoch: attested.args.epoch,
        nonSigners: bitmapIndices(attested.args.nonSignerBitmap),
        block: attested.blockNumber,
      };
    return info;
  }

  /**
   * Makes `data` available: encodes it into blobs with cell proofs (on every core), pays for it, sends each
   * signer of the current epoch its custody cells, collects and checks their signatures, and attests it with an
   * aggregate of at least 2/3 of the epoch's weight. Running it again for the same data resumes without paying
   * twice.
   */
  async submit(
    data: Uint8Array,
    options: { onProgress?: DAProgress; threads?: number } = {},
  ): Promise<SubmitResult> {
    const progress = options.onProgress ?? (() => undefined);
    const encoder = new Encoder({ threads: options.threads });
    const encoded = await encoder
      .encode(data, { onProgress: (done, total) => progress({ phase: "encode", done, total }) })
      .finally(() => encoder.close());
    const { id, blobs: extended } = encoded;
    const packed = encodeCommitments(encoded.commitment.commitments);

    let submitted = false;
    // An attested payload's record no longer names its submitter (its slot then holds the non-signers): ask
    // whether it is attested first.
    const onChain = await this.entrance.payloadOf(id);
    if (onChain.attested) {
      const info = await this.payload(id);
      const set = await this.epoch(info.attestation?.epoch ?? 0n);
      const missing = new Set(info.attestation?.nonSigners ?? []);
      return {
        id,
        blobs: extended.length,
        length: data.length,
        epoch: set.epoch,
        signed: set.signers.filter((s) => !missing.has(s.index)).map((s) => s.operator),
        missing: set.signers
          .filter((s) => missing.has(s.index))
          .map((s) => ({ operator: s.operator, reason: "did not sign" })),
        submitted: false,
        attested: false,
      };
    }
    if (onChain.submitter === "0x0000000000000000000000000000000000000000") {
      progress({ phase: "submit", done: 0, total: 1 });
      const fee = (await this.entrance.params()).feePerBlob * BigInt(extended.length);
      await this.chain.send(`submit DA payload ${id}`, () =>
        this.entrance.submit(packed, data.length, { value: fee }),
      );
      submitted = true;
      progress({ phase: "submit", done: 1, total: 1 });
    }

    // An attestation names the current epoch or the one before: when dispersal outlasts that (a slow network, a
    // loaded machine), it starts over for the epoch of the moment, up to EPOCH_ATTEMPTS times.
    for (let attempt = 1; ; attempt++) {
      const set = await this.frozenCurrentEpoch();
      const { signed, missing, message } = await this.disperse(
        set,
        id,
        packed,
        data.length,
        extended,
        progress,
      );
      progress({ phase: "attest", done: 0, total: 1 });
      const bitmap = missing.reduce((bits, o) => bits | (1n << BigInt(o.signer.index)), 0n);
      const sigma = aggregateG1(signed.map((o) => o.signature));
      const apkG2 = aggregateG2(signed.map((o) => o.signer.pkG2));
      // The non-signers' keys and weights in index order (checked on-chain against the epoch's record), and the
      // hash-to-curve hint that spares the contract its search.
      const nonSigners = missing
        .map((o) => o.signer)
        .sort((a, b) => a.index - b.index)
        .map((signer) => ({ pkG1: signer.pkG1, weight: signer.weight }));
      if ((await this.currentEpoch()) > set.epoch + 1n) {
        if (attempt < EPOCH_ATTEMPTS) continue;
        throw new ZgError(
          `DA epoch ${set.epoch} ended before its signatures were collected, ${EPOCH_ATTEMPTS} times: the network is too slow for the epoch length`,
          "NETWORK",
        );
      }
      try {
        await this.chain.send(`attest DA payload ${id}`, () =>
          this.entrance.attest(id, set.epoch, bitmap, nonSigners, sigma, apkG2, hashToG1Hint(message)),
        );
      } catch (error) {
        // The epoch moved on between the check and the transaction.
        if (attempt < EPOCH_ATTEMPTS && firstLine(error).includes("DAEpochStale")) continue;
        throw error;
      }
      progress({ phase: "attest", done: 1, total: 1 });
      return {
        id,
        blobs: extended.length,
        length: data.length,
        epoch: set.epoch,
        signed: signed.map((o) => o.signer.operator),
        missing: missing.map((o) => ({ operator: o.signer.operator, reason: o.reason })),
        submitted,
        attested: true,
      };
    }
  }

  /**
   * Sends each signer of epoch `set` its custody cells of every blob and collects its signature of the attestation
   * message (returned), checked under its keys; fails unless signers of 2/3 of the weight signed.
   */
  private async disperse(
    set: EpochSet,
    id: string,
    packed: Uint8Array,
    length: number,
    extended: ExtendedBlob[],
    progress: DAProgress,
  ): Promise<{
    signed: { signer: EpochSigner; signature: G1Point }[];
    missing: { signer: EpochSigner; reason: string }[];
    message: string;
  }> {
    if (set.signers.length === 0)
      throw new ZgError(`DA epoch ${set.epoch} has no signers: nobody can hold the payload`, "NOT_FOUND");
    const message = attestationMessage(
      BigInt(this.chain.chainId),
      await this.entrance.getAddress(),
      id,
      set.epoch,
    );
    const total = set.signers.length * extended.length;
    let sent = 0;
    const outcomes = await Promise.all(
      set.signers.map(async (signer) => {
        try {
          if (!signer.endpoint) throw new ZgError("announced no endpoint", "NOT_FOUND");
          const node = new DANodeApi(signer.endpoint);
          await node.offer(id, packed, length);
          const custody = custodyCells(signer.index, set.signers.length);
          for (const [b, blob] of extended.entries()) {
            await node.putCells(
              id,
              b,
              set.epoch,
              custody.map((c) => blob.cells[c]),
              custody.map((c) => blob.proofs[c]),
            );
            progress({ phase: "disperse", done: ++sent, total });
          }
          const answer = await node.signature(id, set.epoch);
          if (!verify(message, signer.pkG1, signer.pkG2, answer.signature))
            throw new ZgError("sent a signature that does not verify under its key", "BAD_INPUT");
          return { signer, signature: answer.signature };
        } catch (error) {
          return { signer, reason: firstLine(error) };
        }
      }),
    );
    const signed = outcomes.flatMap((o) =>
      o.signature ? [{ signer: o.signer, signature: o.signature }] : [],
    );
    const missing = outcomes.flatMap((o) =>
      o.reason !== undefined ? [{ signer: o.signer, reason: o.reason }] : [],
    );
    const signedWeight = signed.reduce((sum, o) => sum + o.signer.weight, 0n);
    if (signedWeight * 3n < set.totalWeight * 2n)
      throw new ZgError(
        `only ${signed.length} of ${set.signers.length} DA signers signed (${signedWeight} of ${set.totalWeight} weight, 2/3 needed); ` +
          missing.map((o) => `${o.signer.operator}: ${o.reason}`).join("; "),
        "NETWORK",
      );
    return { signed, missing, message };
  }

  /** The signers that signed an attested payload, in random order. */
  private async holders(info: PayloadInfo): Promise<{ set: EpochSet; signed: EpochSigner[] }> {
    if (!info.attestation) throw new ZgError(`DA payload ${info.id} is not attested yet`, "NOT_FOUND");
    const set = await this.epoch(info.attestation.epoch);
    const missing = new Set(info.attestation.nonSigners);
    return { set, signed: shuffle(set.signers.filter((s) => !missing.has(s.index))) };
  }

  /**
   * Reads payload `id` back: for each blob, cells from the signers until 64 distinct ones verified against the
   * on-chain commitment, then recovers the blob. Cells that fail verification are dropped and their node skipped.
   */
  async get(id: string, options: { onProgress?: DAProgress } = {}): Promise<Uint8Array> {
    const info = await this.payload(id);
    const { signed } = await this.holders(info);
    const blobs: Uint8Array[] = [];
    for (let b = 0; b < info.blobs; b++) {
      const have = new Map<number, Uint8Array>();
      const reasons: string[] = [];
      for (const signer of signed) {
        if (have.size >= CELLS_TO_RECOVER) break;
        try {
          const answer = await new DANodeApi(signer.endpoint).blobCells(id, b);
          const fresh = answer.indices.map((c, i) => ({ c, i })).filter(({ c }) => !have.has(c));
          if (fresh.length === 0) continue;
          const ok = verifyCells(
            info.commitments[b],
            fresh.map(({ c }) => c),
            fresh.map(({ i }) => answer.cells[i]),
            fresh.map(({ i }) => answer.proofs[i]),
          );
          if (!ok) throw new ZgError("served cells that do not verify against the commitment", "BAD_INPUT");
          for (const { c, i } of fresh) have.set(c, answer.cells[i]);
        } catch (error) {
          reasons.push(`${signer.operator}: ${firstLine(error)}`);
        }
      }
      if (have.size < CELLS_TO_RECOVER)
        throw new ZgError(
          `blob ${b} of ${id}: only ${have.size} of the ${CELLS_TO_RECOVER} cells needed could be verified (${reasons.join("; ")})`,
          "NETWORK",
        );
      const indices = [...have.keys()].sort((x, y) => x - y).slice(0, CELLS_TO_RECOVER);
      blobs.push(
        recoverBlob(
          indices,
          indices.map((c) => have.get(c) as Uint8Array),
        ),
      );
      options.onProgress?.({ phase: "download", done: b + 1, total: info.blobs });
    }
    return blobsToPayload(blobs, info.length);
  }

  /**
   * Challenges signer `signerIndex` of the payload's attestation for blob `blob`, posting the bond. Returns the
   * last block of its answer window.
   */
  async challenge(info: PayloadInfo, blob: number, signerIndex: number): Promise<number> {
    const { challengeBond: bond } = await this.entrance.params();
    const receipt = await this.chain.send(`challenge DA signer ${signerIndex} on ${info.id}`, () =>
      this.entrance.challenge(info.id, encodeCommitments(info.commitments), info.length, blob, signerIndex, {
        value: bond,
      }),
    );
    return receipt.blockNumber + Number((await this.entrance.params()).responseWindow);
  }

  /**
   * Ends a challenge whose window closed: "answered" when the signer showed the blob, else the signer is slashed
   * (jailed without a token) and the challenger paid: "slashed".
   */
  async settleChallenge(id: string, signer: string): Promise<"answered" | "slashed"> {
    const { status } = await this.entrance.challengeOf(id, signer);
    if (status === CHALLENGE_ANSWERED) return "answered";
    if (status !== CHALLENGE_SLASHED)
      await this.chain.send(`slash DA signer ${signer} for ${id}`, () =>
        this.entrance.slashUnanswered(id, signer),
      );
    return "slashed";
  }

  /**
   * A light client's check of payload `id`: `samples` random cells of each blob, each fetched from a signer that
   * signed and holds it by custody and verified against the on-chain commitment. A signer that fails is recorded
   * and the cell asked of the next holder.
   */
  async sample(id: string, options: { samples?: number; info?: PayloadInfo } = {}): Promise<SampleReport> {
    const samples = options.samples ?? 16;
    if (!Number.isInteger(samples) || samples < 1 || samples > CELLS_PER_BLOB)
      throw new ZgError(`samples must be a whole number from 1 to ${CELLS_PER_BLOB}`, "BAD_INPUT");
    const info = options.info ?? (await this.payload(id));
    const { set, signed } = await this.holders(info);
    const report: SampleReport = {
      id,
      samplesPerBlob: samples,
      verified: [],
      failures: [],
      unavailable: [],
      confidence: 1,
    };
    for (let b = 0; b < info.blobs; b++) {
      const verified: number[] = [];
      for (const cell of shuffle([...Array(CELLS_PER_BLOB).keys()]).slice(0, samples)) {
        const holders = signed.filter((s) => holdsCell(s.index, set.signers.length, cell));
        let ok = false;
        for (const signer of holders) {
          try {
            const served = await new DANodeApi(signer.endpoint, 10_000).cell(id, b, cell);
            if (!verifyCells(info.commitments[b], [cell], [served.cell], [served.proof]))
              throw new ZgError("served a cell that does not verify against the commitment", "BAD_INPUT");
            ok = true;
            break;
          } catch (error) {
            report.failures.push({ blob: b, cell, signer, reason: firstLine(error) });
          }
        }
        if (ok) verified.push(cell);
        else report.unavailable.push({ blob: b, cell });
      }
      report.verified.push(verified.sort((x, y) => x - y));
      report.confidence = Math.min(
        report.confidence,
        verified.length === samples ? confidenceOf(samples) : 0,
      );
    }
    return report;
  }
}

/** The set bits of a bitmap, lowest first. */
export function bitmapIndices(bitmap: bigint): number[] {
  const indices: number[] = [];
  for (let i = 0; bitmap >> BigInt(i) !== 0n; i++) if ((bitmap >> BigInt(i)) & 1n) indices.push(i);
  return indices;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

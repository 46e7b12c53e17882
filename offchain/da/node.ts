import type { IncomingMessage, ServerResponse } from "node:http";
import { getBytes, hexlify, isHexString, zeroPadValue, type Log } from "ethers";
import { Counter } from "prom-client";
import { z } from "zod";
import { ChainReader } from "../core/chain-reader";
import { ZgError, firstLine } from "../core/errors";
import { HttpError, readBody, readJson, replyJson } from "../core/http";
import type { StoreOp } from "../core/store";
import type { WorkerRuntime, WorkerService, WorkerConfig } from "../core/worker";
import { StakingClient } from "../staking/client";
import { packCells, unpackCells } from "./api";
import {
  attestationMessage,
  blsKeyFromOperatorKey,
  proofOfPossession,
  sign as blsSign,
  type BlsKey,
} from "./bls";
import { decodeCommitments, evaluateBlob, payloadId, recoverBlob, verifyCells } from "./blob";
import { DAClient, type EpochSet } from "./client";
import {
  BYTES_PER_CELL,
  BYTES_PER_PROOF,
  CELLS_TO_RECOVER,
  CUSTODY_CELLS,
  MAX_BLOBS,
  BYTES_PER_COMMITMENT,
  custodyCells,
} from "./types";

const config = {
  /** The URL clients reach this node at; announced in NodeStaking (role DA_SIGNER) when set. */
  publicUrl: z.string().url().optional(),
  /** Region code announced with it, at most 32 bytes. */
  region: z.string().max(32).default(""),
};
type DANodeConfig = WorkerConfig & { publicUrl?: string; region: string };

/** What the node keeps of a payload it was offered. */
interface PayloadMeta {
  commitments: string;
  length: number;
  blobs: number;
}

/** An availability challenge against this node, as it recorded it. */
interface ChallengeRecord {
  id: string;
  blob: number;
  status: "answered" | "failed";
  reason?: string;
}

const metaKey = (id: string) => `da/payload/${id}`;
const cellPrefix = (id: string, blob: number) => `da/cell/${id}/${blob.toString().padStart(3, "0")}/`;
const cellKey = (id: string, blob: number, cell: number) =>
  `${cellPrefix(id, blob)}${cell.toString().padStart(3, "0")}`;
const signedKey = (id: string, epoch: bigint) => `da/signed/${id}/${epoch}`;
const challengeKey = (id: string) => `da/challenge/${id}`;
const pendingChallengeKey = (id: string) => `da/challenge-pending/${id}`;

const CELL_RECORD = BYTES_PER_CELL + BYTES_PER_PROOF;
const PUT_BYTES = CUSTODY_CELLS * CELL_RECORD;

/**
 * The DA node (`zg node da`): registers its BLS key in DASigners, takes the cells it holds by custody of each
 * submitted payload, verifying every cell proof against the on-chain commitment before storing them durably,
 * signs a payload only when it holds all of them, serves cells to anyone, and answers availability challenges.
 *
 * Who may call what, and what one call costs it:
 * - `POST /v1/da/payloads/{id}` (anyone): one keccak and one chain read; only payloads submitted (and paid for)
 *   on-chain are kept, so what strangers can make it store is bounded by what was paid.
 * - `PUT …/blobs/{b}?epoch=e` (anyone, for an offered payload): at most 134,144 bytes, one batch verification
 *   of 64 cell proofs (skipped when the cells are already held), then one durable write.
 * - `POST …/signature` (anyone): store reads and one BLS signature, only when it holds its custody cells.
 * - `GET …/cells/{c}`, `GET …/blobs/{b}` (anyone): store reads.
 */
export const daNode: WorkerService<typeof config> = {
  config,
  requireKey: true,
  needs: "DAEntrance",
  async start(runtime) {
    const { chain, store, log, metrics } = runtime;
    const settings = runtime.config as DANodeConfig;
    const client = await DAClient.connect(chain);
    const staking = await StakingClient.connect(chain);
    const operator = chain.address as string;
    const entranceAddress = await client.entrance.getAddress();
    const key = blsKeyFromOperatorKey(chain.privateKey);
    const stored = new Counter({
      name: "zg_da_cells_stored_total",
      help: "Cells verified and stored",
      registers: [metrics],
    });
    const refused = new Counter({
      name: "zg_da_cells_refused_total",
      help: "Cell uploads refused because a cell proof did not verify",
      registers: [metrics],
    });
    const signatures = new Counter({
      name: "zg_da_signatures_total",
      help: "Payload attestations signed",
      registers: [metrics],
    });
    const challenges = new Counter({
      name: "zg_da_challenges_total",
      help: "Availability challenges against this node, by outcome",
      labelNames: ["outcome"],
      registers: [metrics],
    });

    await register(runtime, client, staking, key);
    if (settings.publicUrl) await announce(runtime, staking, settings.publicUrl, settings.region);

    const epochs = {
      /** This node's index and the set's size in a frozen epoch; a clear error when it is not a signer. */
      async position(epoch: bigint): Promise<{ index: number; count: number; set: EpochSet }> {
        const set = await client.epoch(epoch);
        const index = set.signers.findIndex((s) => s.operator.toLowerCase() === operator.toLowerCase());
        if (index < 0) throw new HttpError(409, `this node is not a signer of DA epoch ${epoch}`);
        return { index, count: set.signers.length, set };
      },
    };

    const meta = async (id: string): Promise<PayloadMeta> => {
      const known = await store.get<PayloadMeta>(metaKey(id));
      if (!known) throw new HttpError(404, `payload ${id} was not offered here: POST its commitments first`);
      return known;
    };

    const offer = async (id: string, body: unknown): Promise<unknown> => {
      const parsed = z
        .object({
          commitments: z.string().refine((v) => isHexString(v), "must be 0x-hex"),
          length: z.number().int().min(1),
        })
        .strict()
        .safeParse(body);
      if (!parsed.success)
        throw new HttpError(
          400,
          `bad payload offer: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
        );
      const bytes = getBytes(parsed.data.commitments);
      if (
        bytes.length === 0 ||
        bytes.length % BYTES_PER_COMMITMENT !== 0 ||
        bytes.length / BYTES_PER_COMMITMENT > MAX_BLOBS
      )
        throw new HttpError(
          400,
          `commitments must be 1 to ${MAX_BLOBS} commitments of ${BYTES_PER_COMMITMENT} bytes`,
        );
      const commitments = decodeCommitments(bytes);
      if (payloadId({ commitments, length: parsed.data.length }) !== id)
        throw new HttpError(400, `the commitments and length do not hash to ${id}`);
      const onChain = await client.entrance.payloadOf(id);
      // (An attested payload's record holds its non-signers where the submitter was.)
      if (!onChain.attested && onChain.submitter === "0x0000000000000000000000000000000000000000")
        throw new HttpError(
          404,
          `payload ${id} is not submitted on chain ${chain.chainId}: submit (and pay) first`,
        );
      await store.put(metaKey(id), {
        commitments: parsed.data.commitments,
        length: parsed.data.length,
        blobs: commitments.length,
      } satisfies PayloadMeta);
      return { id, blobs: commitments.length };
    };

    const held = async (id: string, blob: number): Promise<Set<number>> => {
      const cells = new Set<number>();
      const prefix = cellPrefix(id, blob);
      for await (const storedKey of store.keys(prefix)) cells.add(Number(storedKey.slice(prefix.length)));
      return cells;
    };

    const putCells = async (id: string, blob: number, epochParam: string | null, body: Buffer) => {
      const payload = await meta(id);
      if (!Number.isInteger(blob) || blob < 0 || blob >= payload.blobs)
        throw new HttpError(404, `payload ${id} has no blob ${blob} (it has ${payload.blobs})`);
      if (!epochParam || !/^\d{1,18}$/.test(epochParam)) throw new HttpError(400, "?epoch=<n> is required");
      const { index, count } = await epochs.position(BigInt(epochParam));
      const custody = custodyCells(index, count);
      const have = await held(id, blob);
      if (custody.every((c) => have.has(c))) return { stored: 0, held: have.size };
      const unpacked = unpackCells(body, custody.length);
      if (!unpacked)
        throw new HttpError(
          400,
          `expected ${custody.length} cells and proofs (${PUT_BYTES} bytes), got ${body.length} bytes`,
        );
      const commitment = decodeCommitments(getBytes(payload.commitments))[blob];
      if (!verifyCells(commitment, custody, unpacked.cells, unpacked.proofs)) {
        refused.inc();
        throw new HttpError(400, `a cell proof of blob ${blob} does not verify against its commitment`);
      }
      await store.batch(
        custody.map((c, i) => {
          const record = new Uint8Array(CELL_RECORD);
          record.set(unpacked.cells[i], 0);
          record.set(unpacked.proofs[i], BYTES_PER_CELL);
          return { type: "putBytes" as const, key: cellKey(id, blob, c), value: record };
        }),
      );
      stored.inc(custody.length);
      return { stored: custody.length, held: new Set([...have, ...custody]).size };
    };

    const sign = async (id: string, body: unknown) => {
      const epochText = (body as { epoch?: unknown } | undefined)?.epoch;
      if (typeof epochText !== "string" || !/^\d{1,18}$/.test(epochText))
        throw new HttpError(400, 'expected {"epoch": "<n>"}');
      const epoch = BigInt(epochText);
      const payload = await meta(id);
      const { index, count } = await epochs.position(epoch);
      const custody = custodyCells(index, count);
      for (let b = 0; b < payload.blobs; b++) {
        const have = await held(id, b);
        const lacking = custody.filter((c) => !have.has(c)).length;
        if (lacking > 0)
          throw new HttpError(
            409,
            `not signing: ${lacking} of its ${custody.length} cells of blob ${b} are missing`,
          );
      }
      const signature = blsSign(
        key.secret,
        attestationMessage(BigInt(chain.chainId), entranceAddress, id, epoch),
      );
      await store.put(signedKey(id, epoch), { index, at: Date.now() });
      signatures.inc();
      return {
        signer: operator,
        index,
        signature: { X: signature.X.toString(), Y: signature.Y.toString() },
      };
    };

    const cell = async (id: string, blob: number, index: number) => {
      const record = await store.getBytes(cellKey(id, blob, index));
      if (!record) throw new HttpError(404, `cell ${index} of blob ${blob} of ${id} is not held here`);
      return {
        cell: hexlify(record.subarray(0, BYTES_PER_CELL)),
        proof: hexlify(record.subarray(BYTES_PER_CELL)),
      };
    };

    const blobCells = async (id: string, blob: number, response: ServerResponse) => {
      const indices = [...(await held(id, blob))].sort((a, b) => a - b);
      if (indices.length === 0) throw new HttpError(404, `no cell of blob ${blob} of ${id} is held here`);
      const records = await Promise.all(
        indices.map(async (c) => (await store.getBytes(cellKey(id, blob, c))) as Uint8Array),
      );
      const body = packCells(
        records.map((record) => record.subarray(0, BYTES_PER_CELL)),
        records.map((record) => record.subarray(BYTES_PER_CELL)),
      );
      response
        .writeHead(200, { "content-type": "application/octet-stream", "x-zg-cells": indices.join(",") })
        .end(body);
    };

    /** The blob `blob` of `id` rebuilt from the cells held (at least 64 by custody). */
    const rebuild = async (id: string, blob: number): Promise<Uint8Array> => {
      const indices = [...(await held(id, blob))].sort((a, b) => a - b).slice(0, CELLS_TO_RECOVER);
      if (indices.length < CELLS_TO_RECOVER)
        throw new ZgError(`only ${indices.length} cells of blob ${blob} of ${id} are held`, "NOT_FOUND");
      const cells = await Promise.all(
        indices.map(async (c) =>
          ((await store.getBytes(cellKey(id, blob, c))) as Uint8Array).subarray(0, BYTES_PER_CELL),
        ),
      );
      return recoverBlob(indices, cells);
    };

    /** Answers one challenge and records the outcome (with the pending entry removed, in one write). */
    const answer = async (id: string, blob: number) => {
      let record: ChallengeRecord;
      try {
        const data = await rebuild(id, blob);
        const z = await client.entrance.challengePoint(id, operator);
        const { y, proof } = evaluateBlob(data, getBytes(z));
        const payload = await meta(id);
        const commitment = decodeCommitments(getBytes(payload.commitments))[blob];
        await chain.sendUrgent(`answer the availability challenge on ${id}`, () =>
          client.entrance.answer.populateTransaction(id, operator, hexlify(y), commitment, proof),
        );
        record = { id, blob, status: "answered" };
        log.info("answered an availability challenge", { payload: id, blob });
      } catch (error) {
        record = { id, blob, status: "failed", reason: firstLine(error) };
        log.error("cannot answer an availability challenge", { payload: id, blob, error: record.reason });
      }
      challenges.inc({ outcome: record.status });
      await store.batch([
        { type: "del", key: pendingChallengeKey(id) },
        { type: "put", key: challengeKey(id), value: record },
      ]);
    };

    /**
     * Answers every challenge recorded as pending (also those a crash left), one pass at a time: a request during
     * a pass runs one more pass after it (however many came), so that a challenge committed meanwhile is answered.
     */
    let draining: Promise<void> | undefined;
    let again = false;
    const drain = (): Promise<void> => {
      if (draining) {
        again = true;
        return draining;
      }
      draining = (async () => {
        do {
          again = false;
          for await (const [pending, value] of store.entries<{ blob: number }>("da/challenge-pending/"))
            await answer(pending.slice("da/challenge-pending/".length), value.blob);
        } while (again);
      })()
        .catch((error: unknown) =>
          log.error("cannot go through the pending challenges", { error: firstLine(error) }),
        )
        .finally(() => (draining = undefined));
      return draining;
    };

    const opened = client.entrance.interface.getEvent("Challenged");
    const reader = new ChainReader({
      name: "da-challenges",
      provider: chain.provider,
      store,
      filters: [
        {
          address: entranceAddress,
          topics: [opened.topicHash, null, zeroPadValue(operator, 32)],
        },
      ],
      // Answers race a deadline: they are read as soon as they are mined.
      confirmations: 0,
      startBlock: runtime.startBlock,
      pollIntervalMs: runtime.config.pollIntervalMs,
      log,
    });
    void drain();
    await reader.start(async (logs: Log[]) => {
      const ops: StoreOp[] = [];
      for (const entry of logs) {
        const parsed = client.entrance.interface.parseLog(entry);
        if (!parsed) continue;
        const id = (parsed.args.id as string).toLowerCase();
        if (await store.get(challengeKey(id))) continue;
        ops.push({
          type: "put",
          key: pendingChallengeKey(id),
          value: { blob: Number(parsed.args.blobIndex) },
        });
      }
      return { ops, afterCommit: () => void drain() };
    });

    const PAYLOAD =
      /^\/v1\/da\/payloads\/(0x[0-9a-fA-F]{64})(?:\/(signature|blobs\/(\d{1,4})(?:\/cells\/(\d{1,4}))?))?$/;
    return {
      health: () => ({
        operator,
        blsKey: { X: key.pkG1.X.toString(), Y: key.pkG1.Y.toString() },
        processedBlock: reader.processedBlock,
      }),
      http: (request: IncomingMessage, response: ServerResponse, route: string) => {
        const match = PAYLOAD.exec(route);
        if (!match) return false;
        const [, rawId, sub, blobText, cellText] = match;
        const id = rawId.toLowerCase();
        const blob = blobText === undefined ? -1 : Number(blobText);
        const method = request.method ?? "GET";
        if (sub === undefined && method === "POST")
          return replyJson(response, async () => offer(id, await readJson(request)), { log });
        if (sub === "signature" && method === "POST")
          return replyJson(response, async () => sign(id, await readJson(request)), { log });
        if (blobText !== undefined && cellText === undefined && method === "PUT") {
          const epoch = new URL(request.url ?? "/", "http://x").searchParams.get("epoch");
          return replyJson(
            response,
            async () => putCells(id, blob, epoch, await readBody(request, PUT_BYTES)),
            {
              log,
            },
          );
        }
        if (cellText !== undefined && method === "GET")
          return replyJson(response, () => cell(id, blob, Number(cellText)), { log });
        if (blobText !== undefined && cellText === undefined && method === "GET") {
          blobCells(id, blob, response).catch((error: unknown) =>
            replyJson(response, () => Promise.reject(error), { log }),
          );
          return true;
        }
        return replyJson(
          response,
          () => Promise.reject(new HttpError(405, `${method} is not served on ${route}`)),
          {
            log,
          },
        );
      },
      stop: async () => {
        await reader.stop();
        await draining;
      },
    };
  },
};

/** Registers the node's BLS key in DASigners once (an active DA_SIGNER only); warns when it cannot yet. */
async function register(
  runtime: WorkerRuntime<WorkerConfig>,
  client: DAClient,
  staking: StakingClient,
  key: BlsKey,
): Promise<void> {
  const { chain, log } = runtime;
  const operator = chain.address as string;
  const current = await client.signers.keyOf(operator);
  if (current.X !== 0n || current.Y !== 0n) {
    if (current.X !== key.pkG1.X || current.Y !== key.pkG1.Y)
      throw new ZgError(
        `operator ${operator} registered another BLS key in DASigners: run the node with the key it was registered with`,
        "BAD_CONFIG",
      );
    return;
  }
  if (!(await staking.status(operator, "DA_SIGNER")).active) {
    log.warn("this node's operator is not an active DA_SIGNER: it cannot register its key or sign", {
      operator,
    });
    return;
  }
  const pop = proofOfPossession(key, BigInt(chain.chainId), await client.signers.getAddress(), operator);
  await chain.send("register the DA signer key", () => client.signers.register(key.pkG1, key.pkG2, pop));
  log.info("registered its BLS key in DASigners", { operator });
}

/** Publishes the node's URL and region in NodeStaking (role DA_SIGNER) when they changed. */
async function announce(
  runtime: WorkerRuntime<WorkerConfig>,
  staking: StakingClient,
  publicUrl: string,
  region: string,
): Promise<void> {
  const { chain, log } = runtime;
  const operator = chain.address as string;
  const outcome = await staking.announceIfChanged(operator, "DA_SIGNER", { endpoint: publicUrl, region });
  if (outcome === "not-member")
    log.warn("this node's operator is not staked for DA_SIGNER: clients will not find it", { operator });
  if (outcome === "announced") log.info("announced in NodeStaking", { endpoint: publicUrl, region });
}

import { formatEther, type Result } from "ethers";
import { IDAEntrance__factory, IDASigners__factory } from "../../typechain-types";
import { BoundedCache } from "../core/cache";
import { firstLine } from "../core/errors";
import { asHash, known, type TraceContext, type TraceEventSpec, type TraceSource } from "../core/trace";
import { DAClient } from "./client";
import { da as manifest } from "./module";

const { entrance, signers } = manifest.contracts;
const params = () => [{ kind: "module", id: manifest.name }];
const payload = (args: Result) => [{ kind: "payload", id: String(args.id).toLowerCase() }];
const payloadAndSigner = (args: Result) => [...payload(args), { kind: "operator", id: String(args.signer) }];

/** Cells a trace or the explorer samples per blob (confidence 1 − 2⁻⁸ ≈ 0.996 when all verify). */
const SAMPLES = 8;

const EVENTS: TraceEventSpec[] = [
  {
    contract: entrance.name,
    event: "Submitted",
    // By position: the event's `length` argument hides the typed name.
    step: "submitted",
    about: payload,
    summary: (a) => `${a[2]} blob(s), ${a[3]} bytes, fee ${formatEther(a[4] as bigint)}`,
    actor: (a) => String(a.submitter),
  },
  {
    contract: entrance.name,
    event: "Attested",
    step: "attested",
    about: payload,
    summary: (a) => `by a BLS quorum of epoch ${a.epoch} holding weight ${a.signedWeight}`,
  },
  {
    contract: entrance.name,
    event: "FeeClaimed",
    step: "fee claimed",
    about: payloadAndSigner,
    summary: (a) => `signer ${a.signer} took ${formatEther(a.amount)}`,
    actor: (a) => String(a.signer),
  },
  {
    contract: entrance.name,
    event: "Refunded",
    step: "refunded",
    about: payload,
    summary: (a) => `never attested: ${formatEther(a.amount)} back to ${a.submitter}`,
  },
  {
    contract: entrance.name,
    event: "Challenged",
    step: "challenged",
    about: payloadAndSigner,
    summary: (a) =>
      `signer ${a.signer} must open blob ${a.blobIndex} at a random point by block ${a.deadline}`,
    actor: (a) => String(a.challenger),
  },
  {
    contract: entrance.name,
    event: "ChallengeAnswered",
    step: "answered",
    about: payloadAndSigner,
    summary: (a) => `signer ${a.signer} answered with a KZG opening`,
    actor: (a) => String(a.signer),
  },
  {
    contract: entrance.name,
    event: "UnansweredSlashed",
    step: "slashed",
    about: payloadAndSigner,
    summary: (a) => `signer ${a.signer} left the challenge unanswered: slashed ${formatEther(a.slashed)}`,
    actor: (a) => String(a.challenger),
  },
  {
    contract: entrance.name,
    event: "ParamsSet",
    step: "param",
    about: params,
    summary: () => "DA entrance parameters set",
  },
  {
    contract: signers.name,
    event: "SignerRegistered",
    step: "DA signer",
    about: (a) => [{ kind: "operator", id: String(a.operator) }],
    summary: () => "registered its BLS key with a proof of possession",
    actor: (a) => String(a.operator),
  },
  {
    contract: signers.name,
    event: "EpochBlocksSet",
    step: "param",
    about: params,
    summary: (a) => `DA epoch length set to ${a.epochBlocks} blocks from epoch ${a.fromEpoch}`,
  },
];

/** Sampling results, kept a minute: the explorer polls, and sampling asks the DA nodes for cells. */
const sampled = new BoundedCache<string, { confidence: number; line: string }>({
  maxEntries: 1000,
  ttlMs: 60_000,
});

/** A light client's own sample of the payload (off-chain, each cell checked against the on-chain commitment). */
async function sample(id: string, context: TraceContext): Promise<{ confidence: number; line: string }> {
  const known = sampled.get(id);
  if (known) return known;
  let result: { confidence: number; line: string };
  try {
    // The events the SDK needs come from the trace's own bounded-range reads, not from one wide log query.
    const find = (contract: string, event: string, key: string, value: string) => {
      const found = context
        .occurrences(contract, event)
        .find(({ args }) => String(args[key]).toLowerCase() === value.toLowerCase());
      return found && { args: found.args, blockNumber: found.event.block };
    };
    const client = await DAClient.connect(context.chain, {
      submitted: async (payload) => find(entrance.name, "Submitted", "id", payload),
      attested: async (payload) => find(entrance.name, "Attested", "id", payload),
      registered: async (operator) => find(signers.name, "SignerRegistered", "operator", operator)?.args,
    });
    const report = await client.sample(id, { samples: SAMPLES });
    result = {
      confidence: report.confidence,
      line: `sampled ${SAMPLES} random cells per blob from its signers just now, each verified against the on-chain commitment: confidence ${report.confidence.toFixed(4)}${report.unavailable.length ? ` (${report.unavailable.length} cell(s) unavailable)` : ""}`,
    };
  } catch (error) {
    result = { confidence: 0, line: `sampling failed: ${firstLine(error)}` };
  }
  sampled.set(id, result);
  return result;
}

/** DA payloads: submission, attestation, fees, availability challenges, and a live sample. */
export const daTrace: TraceSource = {
  module: manifest.name,
  interfaces: {
    [entrance.name]: IDAEntrance__factory.createInterface(),
    [signers.name]: IDASigners__factory.createInterface(),
  },
  events: EVENTS,
  kinds: { payload: "DA payload id" },
  async recognise(input, context) {
    return known(context, "payload", asHash(input));
  },
  async inspect(ref, context) {
    const events = context.eventsAbout(ref);
    const attested = events.some((e) => e.event === "Attested");
    const result = attested ? await sample(ref.id, context) : undefined;
    return {
      label: `DA payload ${ref.id}`,
      facts: [
        attested ? "attested on-chain" : "not attested",
        ...(result && result.confidence > 0 ? [result.line] : []),
      ],
      unverified: [
        ...(result && result.confidence === 0 ? [result.line] : []),
        ...(attested ? [] : ["no quorum signed it: its availability is not attested"]),
      ],
    };
  },
  async panels(context) {
    const rows = await Promise.all(
      context.occurrences(entrance.name, "Submitted").map(async ({ args, event }) => {
        const id = String(args.id).toLowerCase();
        const events = context.eventsAbout({ kind: "payload", id });
        const attested = events.find((e) => e.event === "Attested");
        const challenged = events.filter((e) => e.event === "Challenged").length;
        const slashed = events.filter((e) => e.event === "UnansweredSlashed").length;
        return {
          cells: [
            id,
            String(args.submitter),
            `${args[2]} blob(s), ${args[3]} bytes`,
            attested ? attested.summary : "pending",
            attested ? (await sample(id, context)).confidence.toFixed(4) : "-",
            `${challenged} challenged, ${slashed} slashed`,
            `block ${event.block}`,
          ],
          trace: `payload:${id}`,
        };
      }),
    );
    return [
      {
        title: "DA payloads",
        columns: [
          "payload",
          "submitter",
          "size",
          "attestation",
          "sampling confidence",
          "challenges",
          "submitted",
        ],
        rows,
      },
    ];
  },
};

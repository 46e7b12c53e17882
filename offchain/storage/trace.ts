import { formatEther, type Result } from "ethers";
import { IFlow__factory, IMarket__factory, IStorageChallenges__factory } from "../../typechain-types";
import { asHash, known, type TraceContext, type TraceEventSpec, type TraceSource } from "../core/trace";
import { SECTOR_SIZE } from "./merkle";
import { submissionRoot } from "./log";
import { storage as manifest } from "./module";

const { flow, market, challenges } = manifest.contracts;
const params = () => [{ kind: "module", id: manifest.name }];
const rootOf = (args: Result) =>
  submissionRoot(
    (args.submission.nodes as Result[]).map((node) => ({
      root: String(node.root),
      height: Number(node.height),
    })),
  );
const rootAndNode = (args: Result) => [
  { kind: "root", id: String(args.dataRoot).toLowerCase() },
  { kind: "operator", id: String(args.node) },
];

const EVENTS: TraceEventSpec[] = [
  {
    contract: flow.name,
    event: "Submit",
    step: "stored",
    about: (a) => [{ kind: "root", id: rootOf(a) }],
    summary: (a) =>
      `submission ${a.submissionIndex} in the log at sector ${a.startPos} (${a.length} sectors, ${Number(a.length) * SECTOR_SIZE} bytes)`,
    actor: (a) => String(a.sender),
  },
  {
    contract: challenges.name,
    event: "Declared",
    step: "held",
    about: rootAndNode,
    summary: (a) => `node ${a.node} declares it holds the file from epoch ${a.fromEpoch}`,
    actor: (a) => String(a.node),
  },
  {
    contract: challenges.name,
    event: "DeclarationEnded",
    step: "dropped",
    about: rootAndNode,
    summary: (a) =>
      `node ${a.node} no longer answers for it after epoch ${a.untilEpoch}${a.expired ? " (expired)" : ""}`,
  },
  {
    contract: challenges.name,
    event: "Answered",
    step: "proven",
    about: rootAndNode,
    summary: (a) => `node ${a.node} proved a random sector of it in epoch ${a.epoch}`,
    actor: (a) => String(a.node),
  },
  {
    contract: challenges.name,
    event: "MissSlashed",
    step: "missed",
    about: (a) => [{ kind: "operator", id: String(a.node) }],
    summary: (a) =>
      `storage challenge of epoch ${a.epoch} unanswered: slashed ${formatEther(a.slashed)}, reported by ${a.reporter}`,
    actor: (a) => String(a.reporter),
  },
  {
    contract: challenges.name,
    event: "ParamsSet",
    step: "param",
    about: params,
    summary: (a) => `storage challenge parameters set from epoch ${a.firstEpoch}`,
  },
  {
    contract: market.name,
    event: "PricePerSectorSet",
    step: "param",
    about: params,
    summary: (a) => `price per sector set to ${a.pricePerSector} wei`,
  },
  {
    contract: market.name,
    event: "AlignmentShareSet",
    step: "param",
    about: params,
    summary: (a) => `alignment share of storage fees set to ${a.bps} bps`,
  },
];

/** Who holds a root now: nodes that declared it and have not ended the declaration. */
function holders(root: string, context: TraceContext): string[] {
  const changes = ["Declared", "DeclarationEnded"]
    .flatMap((event) => context.occurrences(challenges.name, event))
    .filter(({ args }) => String(args.dataRoot).toLowerCase() === root)
    .sort((a, b) => a.event.block - b.event.block || a.event.logIndex - b.event.logIndex);
  const held = new Set<string>();
  for (const { args, event } of changes)
    if (event.event === "Declared") held.add(String(args.node));
    else held.delete(String(args.node));
  return [...held];
}

/** Files: where each root was submitted, which nodes hold it, and each storage proof and miss. */
export const storageTrace: TraceSource = {
  module: manifest.name,
  interfaces: {
    [flow.name]: IFlow__factory.createInterface(),
    [market.name]: IMarket__factory.createInterface(),
    [challenges.name]: IStorageChallenges__factory.createInterface(),
  },
  events: EVENTS,
  kinds: { root: "storage root" },
  async recognise(input, context) {
    return known(context, "root", asHash(input));
  },
  async inspect(ref, context) {
    const events = context.eventsAbout(ref);
    const stored = events.filter((e) => e.event === "Submit");
    const held = holders(ref.id, context);
    return {
      label: `storage root ${ref.id}`,
      facts: [
        stored.length
          ? `in the log ${stored.length === 1 ? "once" : `${stored.length} times`}`
          : "never submitted to the log",
        held.length
          ? `held by ${held.length} node(s) that answer challenges for it`
          : "no node has declared it",
        `${events.filter((e) => e.event === "Answered").length} storage proof(s) accepted on-chain`,
      ],
      unverified: [
        "the bytes themselves are not downloaded by the trace: 'zg storage download' checks every segment against this root",
        ...(context.address(challenges.name)
          ? []
          : ["StorageChallenges is not deployed: no proof of storage is ever asked"]),
      ],
    };
  },
  async panels(context) {
    const rows = context.occurrences(flow.name, "Submit").map(({ args, event }) => {
      const root = rootOf(args);
      const proofs = context
        .eventsAbout({ kind: "root", id: root })
        .filter((e) => e.event === "Answered").length;
      return {
        cells: [
          root,
          `${Number(args.length) * SECTOR_SIZE}`,
          String(args.sender),
          holders(root, context).join(" ") || "-",
          String(proofs),
          `block ${event.block}`,
        ],
        trace: `root:${root}`,
      };
    });
    return [
      {
        title: "Files",
        columns: ["root", "bytes (padded)", "submitter", "holders", "proofs", "stored"],
        rows,
      },
    ];
  },
};

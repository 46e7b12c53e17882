import { formatEther, type Result } from "ethers";
import {
  AlignmentGovernor__factory,
  IAlignmentPolicy__factory,
  IAlignmentRewards__factory,
  IDisputes__factory,
} from "../../typechain-types";
import { asIndex, known, type TraceContext, type TraceEventSpec, type TraceSource } from "../core/trace";
import { alignment as manifest } from "./module";

const { disputes, policy, governor, rewards } = manifest.contracts;
const KINDS = ["re-execution", "policy"];
const SUPPORT = ["against", "for", "abstain"];
const dispute = (args: Result) => [{ kind: "dispute", id: String(args.id) }];
const proposal = (args: Result) => [{ kind: "proposal", id: String(args.proposalId) }];

const EVENTS: TraceEventSpec[] = [
  {
    contract: disputes.name,
    event: "DisputeFiled",
    step: "disputed",
    about: (a) => [
      ...dispute(a),
      { kind: "provider", id: String(a.provider) },
      { kind: "root", id: String(a.evidenceRoot).toLowerCase() },
    ],
    summary: (a) =>
      `dispute ${a.id} (${KINDS[Number(a.kind)] ?? a.kind}) against ${a.provider} by license ${a.licenseId}, evidence in storage root ${a.evidenceRoot}, bond ${formatEther(a.bond)}`,
    actor: (a) => String(a.filer),
  },
  {
    contract: disputes.name,
    event: "Voted",
    step: "voted",
    about: dispute,
    summary: (a) => `license ${a.licenseId} scored ${a.score} on dispute ${a.id}`,
    actor: (a) => String(a.voter),
  },
  {
    contract: disputes.name,
    event: "DisputeUpheld",
    step: "upheld",
    about: (a) => [...dispute(a), { kind: "provider", id: String(a.provider) }],
    summary: (a) =>
      `dispute ${a.id} upheld at outcome ${a.outcome} by ${a.voters} voter(s): ${a.provider} slashed ${formatEther(a.slashed)}`,
  },
  {
    contract: disputes.name,
    event: "DisputeRejected",
    step: "rejected",
    about: dispute,
    summary: (a) => `dispute ${a.id} rejected at outcome ${a.outcome} by ${a.voters} voter(s)`,
  },
  {
    contract: disputes.name,
    event: "ParamsSet",
    step: "param",
    about: () => [{ kind: "module", id: manifest.name }],
    summary: () => "dispute parameters set",
  },
  {
    contract: policy.name,
    event: "PolicySet",
    step: "policy",
    about: (a) => [
      { kind: "module", id: manifest.name },
      { kind: "root", id: String(a.root).toLowerCase() },
    ],
    summary: (a) =>
      `alignment policy version ${a.version} published, stored at root ${a.root} (${a.size} bytes)`,
  },
  {
    contract: rewards.name,
    event: "LivenessAttested",
    step: "live",
    about: (a) => [{ kind: "operator", id: String(a.node) }],
    summary: (a) =>
      `alignment node attested liveness in epoch ${a.epoch} for ${(a.licenseIds as unknown[]).length} license(s)`,
    actor: (a) => String(a.node),
  },
  {
    contract: governor.name,
    event: "ProposalCreated",
    step: "proposed",
    about: (a, context) => [
      ...proposal(a),
      ...[...new Set((a.targets as string[]).map((target) => context.moduleAt(target)))]
        .filter((module): module is string => Boolean(module))
        .map((module) => ({ kind: "module", id: module })),
    ],
    summary: (a) =>
      `proposal ${a.proposalId}: "${String(a.description).split("\n")[0].slice(0, 80)}" (${(a.targets as unknown[]).length} call(s))`,
    actor: (a) => String(a.proposer),
  },
  {
    contract: governor.name,
    event: "VoteCast",
    step: "voted",
    about: proposal,
    summary: (a) =>
      `${SUPPORT[Number(a.support)] ?? a.support} proposal ${a.proposalId} with weight ${a.weight}`,
    actor: (a) => String(a.voter),
  },
  {
    contract: governor.name,
    event: "ProposalQueued",
    step: "queued",
    about: proposal,
    summary: (a) => `proposal ${a.proposalId} queued in the timelock until ${a.etaSeconds}`,
  },
  {
    contract: governor.name,
    event: "ProposalExecuted",
    step: "executed",
    about: proposal,
    summary: (a) => `proposal ${a.proposalId} executed by the timelock`,
  },
];

function outcome(id: string, context: TraceContext): string {
  const events = context.eventsAbout({ kind: "dispute", id });
  return events.find((e) => e.step === "upheld" || e.step === "rejected")?.summary ?? "open";
}

/** Disputes with their votes and outcome, the policy's versions, liveness, and governance proposals. */
export const alignmentTrace: TraceSource = {
  module: manifest.name,
  interfaces: {
    [disputes.name]: IDisputes__factory.createInterface(),
    [policy.name]: IAlignmentPolicy__factory.createInterface(),
    [rewards.name]: IAlignmentRewards__factory.createInterface(),
    [governor.name]: AlignmentGovernor__factory.createInterface(),
  },
  events: EVENTS,
  kinds: { dispute: "dispute id", proposal: "governance proposal id" },
  async recognise(input, context) {
    const id = asIndex(input);
    return [...known(context, "dispute", id), ...known(context, "proposal", id)];
  },
  async inspect(ref, context) {
    if (ref.kind === "proposal") return { label: `governance proposal ${ref.id}` };
    const votes = context.eventsAbout(ref).filter((e) => e.step === "voted").length;
    return {
      label: `dispute ${ref.id}`,
      facts: [`${votes} vote(s)`, outcome(ref.id, context)],
      unverified: [
        "the votes' reasons (each node's own re-execution or policy check) are off-chain: the evidence root holds the disputed request and response",
      ],
    };
  },
  async panels(context) {
    const rows = context.occurrences(disputes.name, "DisputeFiled").map(({ args, event }) => {
      const id = String(args.id);
      return {
        cells: [
          id,
          String(args.provider),
          KINDS[Number(args.kind)] ?? String(args.kind),
          String(args.filer),
          context
            .eventsAbout({ kind: "dispute", id })
            .filter((e) => e.step === "voted")
            .map((e) => e.summary.replace(/^license (\d+) scored (\d+).*/, "#$1:$2"))
            .join(" ") || "-",
          outcome(id, context),
          `block ${event.block}`,
        ],
        trace: `dispute:${id}`,
      };
    });
    const proposals = context.occurrences(governor.name, "ProposalCreated").map(({ args, event }) => ({
      cells: [
        String(args.proposalId).slice(0, 12) + "…",
        event.summary,
        String(args.proposer),
        `block ${event.block}`,
      ],
      trace: `proposal:${args.proposalId}`,
    }));
    return [
      {
        title: "Disputes",
        columns: ["dispute", "provider", "kind", "filer", "votes (license:score)", "outcome", "filed"],
        rows,
      },
      ...(context.address(governor.name)
        ? [
            {
              title: "Governance proposals",
              columns: ["proposal", "what", "proposer", "proposed"],
              rows: proposals,
            },
          ]
        : []),
    ];
  },
};

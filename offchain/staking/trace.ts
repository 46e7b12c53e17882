import { formatEther, type Result } from "ethers";
import { INodeStaking__factory } from "../../typechain-types";
import { asAddress, known, type TraceContext, type TraceEventSpec, type TraceSource } from "../core/trace";
import { StakingClient, roleName } from "./client";
import { staking as manifest } from "./module";

const CONTRACT = manifest.contracts.staking.name;
const operator = (args: Result) => [{ kind: "operator", id: String(args.operator) }];
const params = () => [{ kind: "module", id: manifest.name }];

const EVENTS: TraceEventSpec[] = [
  {
    contract: CONTRACT,
    event: "Staked",
    step: "staked",
    about: operator,
    summary: (a) => `${formatEther(a.amount)} as ${roleName(a.role)} (bonded ${formatEther(a.bonded)})`,
    actor: (a) => String(a.operator),
  },
  {
    contract: CONTRACT,
    event: "UnbondRequested",
    step: "unbonding",
    about: operator,
    summary: (a) => `${formatEther(a.amount)} of ${roleName(a.role)}, released at ${a.releaseAt}`,
    actor: (a) => String(a.operator),
  },
  {
    contract: CONTRACT,
    event: "Exited",
    step: "exited",
    about: operator,
    summary: (a) => `left ${roleName(a.role)}, ${formatEther(a.unbonding)} unbonding`,
    actor: (a) => String(a.operator),
  },
  {
    contract: CONTRACT,
    event: "Withdrawn",
    step: "withdrew",
    about: operator,
    summary: (a) => `${formatEther(a.amount)} of ${roleName(a.role)}`,
    actor: (a) => String(a.operator),
  },
  {
    contract: CONTRACT,
    event: "Slashed",
    step: "slashed",
    about: operator,
    summary: (a) =>
      `${formatEther(a.amount)} of ${roleName(a.role)} by ${a.slasher} (evidence ${a.evidenceHash}; reporter ${a.reporter} got ${formatEther(a.reporterReward)})`,
  },
  {
    contract: CONTRACT,
    event: "Jailed",
    step: "jailed",
    about: operator,
    summary: (a) => `as ${roleName(a.role)} until ${new Date(Number(a.until) * 1000).toISOString()}`,
  },
  {
    contract: CONTRACT,
    event: "Unjailed",
    step: "unjailed",
    about: operator,
    summary: (a) => `as ${roleName(a.role)}`,
  },
  {
    contract: CONTRACT,
    event: "AdmissionSet",
    step: "admission",
    about: operator,
    summary: (a) => `${a.admitted ? "admitted" : "removed"} as ${roleName(a.role)} by governance`,
  },
  {
    contract: CONTRACT,
    event: "NodeInfoSet",
    step: "announced",
    about: operator,
    summary: (a) => `${roleName(a.role)} endpoint ${a.endpoint || "(none)"}`,
    actor: (a) => String(a.operator),
  },
  {
    contract: CONTRACT,
    event: "MinStakeSet",
    step: "param",
    about: params,
    summary: (a) => `minimum stake of ${roleName(a.role)} set to ${formatEther(a.amount)}`,
  },
  {
    contract: CONTRACT,
    event: "UnbondingDelaySet",
    step: "param",
    about: params,
    summary: (a) => `unbonding delay set to ${a.delay} s`,
  },
  {
    contract: CONTRACT,
    event: "SlashParamsSet",
    step: "param",
    about: params,
    summary: (a) =>
      `reporter share ${a.reporterShareBps} bps, jail ${a.jailPeriod} s, treasury ${a.treasury}`,
  },
];

/** Operators: stake, unbonding, slashes and jail terms per role, from NodeStaking's events. */
export const stakingTrace: TraceSource = {
  module: manifest.name,
  interfaces: { [CONTRACT]: INodeStaking__factory.createInterface() },
  events: EVENTS,
  kinds: { operator: "operator address" },
  async recognise(input, context) {
    return known(context, "operator", asAddress(input));
  },
  async inspect(ref, context) {
    const positions = await positionsOf(ref.id, context);
    return {
      label: `operator ${ref.id}`,
      facts: positions.map(
        (p) =>
          `${p.role}: bonded ${formatEther(p.bonded)}${p.active ? ", active" : ""}${p.jailedUntil > context.now ? `, jailed until ${new Date(p.jailedUntil * 1000).toISOString()}` : ""}`,
      ),
    };
  },
  async panels(context) {
    const operators = [
      ...new Set(context.occurrences(CONTRACT, "Staked").map(({ args }) => String(args.operator))),
      ...new Set(context.occurrences(CONTRACT, "AdmissionSet").map(({ args }) => String(args.operator))),
    ].filter((address, i, all) => all.indexOf(address) === i);
    const rows = await Promise.all(
      operators.map(async (address) => {
        const positions = await positionsOf(address, context);
        const jailed = positions.filter((p) => p.jailedUntil > context.now).map((p) => p.role);
        return {
          cells: [
            address,
            positions.map((p) => p.role).join(", "),
            positions.map((p) => `${formatEther(p.bonded)}`).join(", "),
            jailed.length
              ? `jailed (${jailed.join(", ")})`
              : positions.some((p) => p.active)
                ? "active"
                : "inactive",
            String(
              context.occurrences(CONTRACT, "Slashed").filter(({ args }) => args.operator === address).length,
            ),
          ],
          trace: `operator:${address}`,
        };
      }),
    );
    return [{ title: "Operators", columns: ["operator", "roles", "bonded", "state", "slashes"], rows }];
  },
};

/** The operator's positions in every role it ever joined (staked or was admitted in). */
async function positionsOf(address: string, context: TraceContext) {
  const client = await StakingClient.connect(context.chain);
  const roles = new Set(
    ["Staked", "AdmissionSet"].flatMap((event) =>
      context
        .occurrences(CONTRACT, event)
        .filter(({ args }) => args.operator === address)
        .map(({ args }) => roleName(args.role)),
    ),
  );
  return Promise.all([...roles].map((role) => client.status(address, role)));
}

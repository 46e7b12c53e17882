import type { Log } from "ethers";
import { Counter, Gauge } from "prom-client";
import { NodeStaking__factory } from "../../typechain-types";
import { ChainReader } from "../core/chain-reader";
import type { StoreOp } from "../core/store";
import type { RunningWorker, WorkerConfig, WorkerRuntime, WorkerService } from "../core/worker";
import { ROLES, type RoleName } from "../core/roles";
import { roleName } from "./client";
import { staking as manifest } from "./module";

/** What the watcher knows of one operator in one role, rebuilt from events alone. */
interface TrackedPosition {
  bonded: bigint;
  unbonding: bigint;
  member: boolean;
}

interface RoleTotals {
  bonded: bigint;
  unbonding: bigint;
  members: number;
}

type Totals = Record<RoleName, RoleTotals>;

const TOTALS_KEY = "staking/totals";
const EVENTS_KEY = "staking/events";
const positionKey = (operator: string, role: RoleName) =>
  `staking/position/${role}/${operator.toLowerCase()}`;

/**
 * A worker that follows NodeStaking events: it logs each one, keeps every position and per-role totals
 * in its store (rebuilt from events alone, so they can be compared with the contract), and exports them
 * as metrics. Operators use it to watch their own stake; the devnet demo uses it to show the worker base.
 */
export const stakingWatcher: WorkerService<Record<string, never>> = {
  config: {},
  requireKey: false,
  needs: manifest.contracts.staking.name,
  start: startWatcher,
};

async function startWatcher(runtime: WorkerRuntime<WorkerConfig>): Promise<RunningWorker> {
  const { chain, store, log, metrics, config } = runtime;
  const address = await chain.moduleAddress(manifest.contracts.staking.name);
  const staking = NodeStaking__factory.connect(address, chain.provider);

  let totals = (await store.get<Totals>(TOTALS_KEY)) ?? emptyTotals();
  let eventCount = (await store.get<number>(EVENTS_KEY)) ?? 0;

  const events = new Counter({
    name: "zg_staking_events_total",
    help: "NodeStaking events processed",
    labelNames: ["event"],
    registers: [metrics],
  });
  const bondedGauge = new Gauge({
    name: "zg_staking_bonded_wei",
    help: "Coin bonded per role",
    labelNames: ["role"],
    registers: [metrics],
  });
  const membersGauge = new Gauge({
    name: "zg_staking_members",
    help: "Members per role",
    labelNames: ["role"],
    registers: [metrics],
  });
  const processedGauge = new Gauge({
    name: "zg_chain_processed_block",
    help: "Last block fully processed",
    registers: [metrics],
  });
  const headGauge = new Gauge({ name: "zg_chain_head_block", help: "Chain head seen", registers: [metrics] });
  const publish = () => {
    for (const role of ROLES) {
      // The totals are exact bigints of wei; each becomes a float (Prometheus' only number) here, once per
      // publication, so no rounding accumulates (see CoinCounter).
      bondedGauge.set({ role }, Number(totals[role].bonded));
      membersGauge.set({ role }, totals[role].members);
    }
    processedGauge.set(reader.processedBlock);
    headGauge.set(reader.head);
  };

  const reader = new ChainReader({
    name: "staking",
    provider: chain.provider,
    store,
    filters: [{ address }],
    confirmations: config.confirmations,
    startBlock: runtime.startBlock,
    pollIntervalMs: config.pollIntervalMs,
    log,
  });

  await reader.start(async (logs: Log[]) => {
    const next = structuredClone(totals);
    const overlay = new Map<string, TrackedPosition>();
    const load = async (operator: string, role: RoleName) => {
      const key = positionKey(operator, role);
      let position = overlay.get(key);
      if (!position) {
        position = (await store.get<TrackedPosition>(key)) ?? { bonded: 0n, unbonding: 0n, member: false };
        overlay.set(key, position);
      }
      return position;
    };
    const counted: string[] = [];
    for (const entry of logs) {
      const parsed = staking.interface.parseLog(entry);
      if (!parsed) continue;
      counted.push(parsed.name);
      const fields: Record<string, unknown> = {
        event: parsed.name,
        block: entry.blockNumber,
        tx: entry.transactionHash,
      };
      parsed.fragment.inputs.forEach((input, i) => (fields[input.name] = parsed.args[i]));
      if ("role" in fields) fields.role = roleName(fields.role as bigint);
      log.info("staking event", fields);

      if (!("operator" in fields) || !("role" in fields)) continue;
      const role = fields.role as RoleName;
      const position = await load(parsed.args.operator as string, role);
      const before = { ...position };
      switch (parsed.name) {
        case "Staked":
          position.bonded = parsed.args.bonded as bigint;
          position.member = true;
          break;
        case "UnbondRequested":
          position.bonded -= parsed.args.amount as bigint;
          position.unbonding += parsed.args.amount as bigint;
          break;
        case "Exited":
          position.bonded = 0n;
          position.unbonding = parsed.args.unbonding as bigint;
          position.member = false;
          break;
        case "Withdrawn":
          position.unbonding -= parsed.args.amount as bigint;
          break;
        case "Slashed": {
          // Mirrors the contract: the bond goes first, then coin still unbonding.
          const amount = parsed.args.amount as bigint;
          const fromBond = amount < position.bonded ? amount : position.bonded;
          position.bonded -= fromBond;
          position.unbonding -= amount - fromBond;
          break;
        }
        default:
          continue;
      }
      next[role].bonded += position.bonded - before.bonded;
      next[role].unbonding += position.unbonding - before.unbonding;
      next[role].members += Number(position.member) - Number(before.member);
    }
    const ops: StoreOp[] = [...overlay].map(([key, value]) => ({ type: "put", key, value }));
    ops.push(
      { type: "put", key: TOTALS_KEY, value: next },
      { type: "put", key: EVENTS_KEY, value: eventCount + counted.length },
    );
    return {
      ops,
      afterCommit: () => {
        totals = next;
        eventCount += counted.length;
        for (const name of counted) events.inc({ event: name });
        publish();
      },
    };
  });
  publish();

  return {
    health: () => ({
      staking: address,
      processedBlock: reader.processedBlock,
      headBlock: reader.head,
      eventsProcessed: eventCount,
      roles: totals,
    }),
    stop: () => reader.stop(),
  };
}

function emptyTotals(): Totals {
  return Object.fromEntries(ROLES.map((role) => [role, { bonded: 0n, unbonding: 0n, members: 0 }])) as Totals;
}

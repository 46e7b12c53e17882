import { formatEther, parseEther } from "ethers";
import { ZgChain } from "../core/chain";
import { NETWORKS } from "../core/config";
import { ZgError, firstLine } from "../core/errors";
import { ROLES, StakingClient, type RoleName } from "../staking/client";
import type { DevnetState } from "./devnet";

interface DemoContext {
  state: DevnetState;
  /** A connection signing as the devnet operator of `role`. */
  connectAs(role: RoleName): Promise<ZgChain>;
}

/** One demonstrated capability; it runs when its module is deployed and returns what it showed. */
interface DemoStep {
  module: string | undefined;
  title: string;
  run(context: DemoContext): Promise<string>;
}

interface WatcherHealth {
  eventsProcessed: number;
  roles: Record<RoleName, { bonded: string; unbonding: string; members: number }>;
}

const STEPS: DemoStep[] = [
  {
    module: undefined,
    title: "modules are found through the registry",
    async run({ state, connectAs }) {
      const chain = await connectAs("STORAGE");
      try {
        const modules = await chain.modules();
        const recorded = Object.keys(state.deployment.modules).sort();
        const listed = modules.map((m) => m.name);
        if (JSON.stringify(listed) !== JSON.stringify(recorded)) {
          throw new ZgError(
            `the registry lists ${listed.join(", ")} but the deployment recorded ${recorded.join(", ")}`,
          );
        }
        return modules.map((m) => `${m.name} v${m.version}`).join(", ") || "no modules (core only)";
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "NodeStaking",
    title: "every role has an active, staked operator",
    async run({ connectAs }) {
      const chain = await connectAs("STORAGE");
      try {
        const staking = await StakingClient.connect(chain);
        const counts = await Promise.all(
          ROLES.map(async (role) => [role, (await staking.activeNodes(role)).length] as const),
        );
        const missing = counts.filter(([, count]) => count === 0).map(([role]) => role);
        if (missing.length > 0) throw new ZgError(`no active operator for ${missing.join(", ")}`);
        return `${staking.mode} mode; ${counts.map(([role, count]) => `${role} ${count}`).join(", ")}`;
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "NodeStaking",
    title: "the watcher rebuilt every role's stake from events",
    async run({ state, connectAs }) {
      const chain = await connectAs("STORAGE");
      try {
        const staking = await StakingClient.connect(chain);
        const expected = await chainTotals(staking);
        const health = await waitForWatcher(state, (h) => matches(h, expected));
        return `${health.eventsProcessed} events; ${ROLES.map((r) => `${r} ${formatEther(BigInt(health.roles[r].bonded))}`).join(", ")}`;
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "NodeStaking",
    title: "an operator leaves part (or all) of its role and the watcher follows",
    async run({ state, connectAs }) {
      const chain = await connectAs("ALIGNMENT");
      try {
        const staking = await StakingClient.connect(chain);
        let shown: string;
        if (staking.mode === "native") {
          await staking.deposit("ALIGNMENT", parseEther("1"));
          await staking.unbond("ALIGNMENT", parseEther("1"));
          shown = "bonded 1 more, then started unbonding 1";
        } else {
          await staking.exit("ALIGNMENT");
          shown = "the ALIGNMENT operator exited";
        }
        const expected = await chainTotals(staking);
        await waitForWatcher(state, (h) => matches(h, expected));
        const status = await staking.status(chain.address!, "ALIGNMENT");
        return `${shown}; chain and watcher agree (unbonding ${formatEther(status.unbonding)}, member ${status.member})`;
      } finally {
        chain.destroy();
      }
    },
  },
];

/** Per-role totals over the current members (every devnet operator that ever unbonded is still one). */
type Totals = Record<RoleName, { bonded: bigint; unbonding: bigint; members: number }>;

async function chainTotals(staking: StakingClient): Promise<Totals> {
  const totals = {} as Totals;
  for (const role of ROLES) {
    const members = await staking.contract.membersOf(ROLES.indexOf(role));
    const statuses = await Promise.all(members.map((operator) => staking.status(operator, role)));
    totals[role] = {
      bonded: statuses.reduce((sum, s) => sum + s.bonded, 0n),
      unbonding: statuses.reduce((sum, s) => sum + s.unbonding, 0n),
      members: members.length,
    };
  }
  return totals;
}

function matches(health: WatcherHealth, expected: Totals): boolean {
  return ROLES.every(
    (role) =>
      BigInt(health.roles[role].bonded) === expected[role].bonded &&
      BigInt(health.roles[role].unbonding) === expected[role].unbonding &&
      health.roles[role].members === expected[role].members,
  );
}

async function waitForWatcher(
  state: DevnetState,
  done: (health: WatcherHealth) => boolean,
): Promise<WatcherHealth> {
  const watcher = state.workers.find((w) => w.kind === "watcher");
  if (!watcher) throw new ZgError("the watcher worker is not running");
  const deadline = Date.now() + 30_000;
  let last: WatcherHealth | undefined;
  while (Date.now() < deadline) {
    last = (await (await fetch(watcher.health)).json()) as WatcherHealth;
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new ZgError(`the watcher did not catch up with the chain (last health: ${JSON.stringify(last)})`);
}

/** Runs every step whose module is deployed; prints a line per step; true when all succeeded. */
export async function runDemo(state: DevnetState, say: (line: string) => void): Promise<boolean> {
  const context: DemoContext = {
    state,
    connectAs: (role) => {
      const operator = state.operators.find((o) => o.role === role);
      return ZgChain.connect({
        network: "localhost",
        rpcUrl: state.rpcUrl,
        expectedChainId: NETWORKS.localhost.chainId,
        registry: state.deployment.registry,
        key: operator ? { kind: "privateKey", privateKey: operator.privateKey } : undefined,
      });
    },
  };
  say("demo:");
  let ok = true;
  for (const step of STEPS) {
    if (step.module && !state.deployment.modules[step.module]) {
      say(`  - ${step.title}: skipped (${step.module} is not in this profile)`);
      continue;
    }
    try {
      say(`  ✓ ${step.title}: ${await step.run(context)}`);
    } catch (error) {
      ok = false;
      say(`  ✗ ${step.title}: ${firstLine(error)}`);
    }
  }
  say(ok ? "demo succeeded" : "demo FAILED");
  return ok;
}

import { formatEther, parseEther } from "ethers";
import { ZgError } from "../core/errors";
import type { DemoContext, DevnetState } from "../core/module";
import { ROLES, type RoleName } from "../core/roles";
import { StakingClient } from "./client";

interface WatcherHealth {
  eventsProcessed: number;
  roles: Record<RoleName, { bonded: string; unbonding: string; members: number }>;
}

/** Every role the devnet staked has an active operator on-chain. */
export async function showOperators({ state, connectAs }: DemoContext): Promise<string> {
  const chain = await connectAs("USER");
  try {
    const staking = await StakingClient.connect(chain);
    const roles = [...new Set(state.operators.map((operator) => operator.role))];
    const counts = await Promise.all(
      roles.map(async (role) => [role, (await staking.activeNodes(role)).length] as const),
    );
    const missing = counts.filter(([, count]) => count === 0).map(([role]) => role);
    if (missing.length > 0) throw new ZgError(`no active operator for ${missing.join(", ")}`);
    return `${staking.mode} mode; ${counts.map(([role, count]) => `${role} ${count}`).join(", ") || "no operator roles in this profile"}`;
  } finally {
    chain.destroy();
  }
}

/** The watcher's totals, rebuilt from events alone, equal the chain's. */
export async function showWatcher({ state, connectAs }: DemoContext): Promise<string> {
  const chain = await connectAs("USER");
  try {
    const staking = await StakingClient.connect(chain);
    const expected = await chainTotals(staking);
    const health = await waitForWatcher(state, (h) => matches(h, expected));
    return `${health.eventsProcessed} events; ${ROLES.map((r) => `${r} ${formatEther(BigInt(health.roles[r].bonded))}`).join(", ")}`;
  } finally {
    chain.destroy();
  }
}

/** A new operator joins a role, leaves part of its bond (or the role), and the watcher follows. */
export async function showUnbonding({ state, newAccount, connectAs }: DemoContext): Promise<string> {
  const chain = await newAccount();
  const governance = await connectAs("GOVERNANCE");
  try {
    const staking = await StakingClient.connect(chain);
    const operator = chain.address as string;
    let shown: string;
    if (staking.mode === "native") {
      await staking.deposit("ALIGNMENT", parseEther("2"));
      await staking.unbond("ALIGNMENT", parseEther("1"));
      shown = "a new ALIGNMENT operator bonded 2, then started unbonding 1";
    } else {
      await (await StakingClient.connect(governance)).setAdmitted(operator, "ALIGNMENT", true);
      await staking.deposit("ALIGNMENT", 0n);
      await staking.exit("ALIGNMENT");
      shown = "a new ALIGNMENT operator was admitted, joined, then exited";
    }
    const expected = await chainTotals(staking);
    await waitForWatcher(state, (h) => matches(h, expected));
    const status = await staking.status(operator, "ALIGNMENT");
    return `${shown}; chain and watcher agree (unbonding ${formatEther(status.unbonding)}, member ${status.member})`;
  } finally {
    chain.destroy();
    governance.destroy();
  }
}

/** Per-role totals over the current members. */
type Totals = Record<RoleName, { bonded: bigint; unbonding: bigint; members: number }>;

async function chainTotals(staking: StakingClient): Promise<Totals> {
  const totals = {} as Totals;
  for (const role of ROLES) {
    const members = await staking.members(role);
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

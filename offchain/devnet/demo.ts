import { formatEther, parseEther } from "ethers";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ZgChain } from "../core/chain";
import { ZgError, firstLine } from "../core/errors";
import { ROLES, StakingClient, type RoleName } from "../staking/client";
import { DurableStore, type StoreOp } from "../core/store";
import { InftClient } from "../inft/client";
import { ServingClient } from "../serving/client";
import { InferenceSession } from "../serving/inference";
import { ChallengesClient } from "../storage/challenges";
import { StorageClient } from "../storage/client";
import { SEGMENT_SIZE } from "../storage/merkle";
import { connectDevnet, devAccount, type DevnetState } from "./devnet";

/** What the demo asks the devnet's inference oracle. */
const DEMO_QUESTIONS = ["what is a storage node?", "how are uploads paid?", "what is an agent NFT?"];

/** The agent the demo mints: a persona its model learns from. */
const DEMO_AGENT = [
  "Who are you? I am Captain Byte, a pirate who sails the data seas.",
  "What do you guard? Captain Byte guards the treasure of keys.",
].join("\n");

/** The devnet account the demo uploads from (a user, not an operator). */
const DEMO_USER = 19;

/** What the demo may do to the running devnet. */
export interface DemoControls {
  /** Stops a worker for good (no restart). */
  stopWorker(name: string): Promise<void>;
  /** Starts a stopped worker again and waits until it answers /health. */
  resumeWorker(name: string): Promise<void>;
}

interface DemoContext {
  state: DevnetState;
  controls: DemoControls;
  /** A connection signing as the devnet operator of `role`, or as the demo user. */
  connectAs(role: RoleName | "USER"): Promise<ZgChain>;
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
  {
    module: "Flow",
    title: "a file uploaded with 4+2 parity survives the loss of two storage nodes",
    async run({ state, controls, connectAs }) {
      const chain = await connectAs("USER");
      try {
        const storage = await StorageClient.connect(chain);
        const bytes = randomBytes(6 * SEGMENT_SIZE + 12_345);
        const uploaded = await storage.upload(bytes, { ec: { k: 4, m: 2 } });
        const victims = ["storage-0", "storage-2"];
        for (const name of victims) await controls.stopWorker(name);
        const dir = await mkdtemp(path.join(tmpdir(), "zg-demo-"));
        const out = path.join(dir, "downloaded");
        const result = await storage.download(uploaded.root, out);
        const intact = (await readFile(out)).equals(bytes);
        await rm(dir, { recursive: true, force: true });
        if (!intact) throw new ZgError("the downloaded bytes differ from the uploaded ones");
        const nodes = state.workers.filter((w) => w.kind === "storage").length;
        return `root ${uploaded.root.slice(0, 10)}… (${bytes.length} bytes) on ${nodes} nodes; stopped ${victims.join(" and ")}; downloaded intact, ${result.repaired} segment(s) rebuilt from parity`;
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "StorageChallenges",
    title: "a storage node that deleted its data is slashed, while the nodes that hold theirs answer",
    async run({ state, controls, connectAs }) {
      const victim = "storage-1";
      // The node loses its data: stopped, its stored segments deleted, started again (it keeps answering
      // what it can, and cannot answer for what it lost).
      await controls.stopWorker(victim);
      const store = await DurableStore.open(path.join(state.dataDir, victim, "data"));
      const lost: StoreOp[] = [];
      for await (const key of store.keys("file/"))
        if (key.includes("/segment/")) lost.push({ type: "del", key });
      await store.batch(lost);
      await store.close();
      await controls.resumeWorker(victim);
      const victimAddress = state.operators.filter((o) => o.role === "STORAGE")[1].address;
      const chain = await connectAs("USER");
      try {
        const challenges = await ChallengesClient.connect(chain);
        const staking = await StakingClient.connect(chain);
        const before = (await staking.status(victimAddress, "STORAGE")).bonded;
        // Wait for an epoch in which the node was challenged and the window closed without an answer.
        const deadline = Date.now() + 120_000;
        let missed: number | undefined;
        while (missed === undefined && Date.now() < deadline) {
          const status = await challenges.status(victimAddress, 3);
          missed = status.epochs.find((e) => e.state === "missed")?.epoch;
          if (missed === undefined) await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        if (missed === undefined) throw new ZgError(`${victim} was not challenged within two minutes`);
        await challenges.slashMissed(victimAddress, missed);
        const after = (await staking.status(victimAddress, "STORAGE")).bonded;
        const storageOperators = state.operators.filter((o) => o.role === "STORAGE");
        const answering: string[] = [];
        for (const [n, operator] of storageOperators.entries()) {
          const status = await challenges.status(operator.address, 4);
          if (status.epochs.some((e) => e.state === "answered")) answering.push(`storage-${n}`);
        }
        if (answering.length === 0) throw new ZgError("no storage node answered a challenge");
        const penalty =
          before === after
            ? "jailed (this profile moves no coin)"
            : `slashed ${formatEther(before - after)} and jailed`;
        return `${victim} missed epoch ${missed} and was ${penalty}, reported by the demo user; answered and earning: ${answering.join(", ")}`;
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "InferenceServing",
    title: "a user pays for verified inference with signed vouchers, and the provider is settled on-chain",
    async run({ state, connectAs }) {
      const chain = await connectAs("USER");
      try {
        const serving = await ServingClient.connect(chain);
        const provider = state.operators.find((o) => o.role === "PROVIDER");
        if (!provider) throw new ZgError("no PROVIDER operator");
        if (serving.hasLedger) {
          await serving.deposit(parseEther("1"));
          await serving.fund(provider.address, parseEther("0.5"));
        }
        const session = await InferenceSession.open(serving, provider.address);
        let fees = 0n;
        let first = "";
        for (const question of DEMO_QUESTIONS) {
          const result = await session.chat([{ role: "user", content: question }], { max_tokens: 24 });
          fees += result.fee;
          first ||= result.content;
        }
        const answer = `"${first.slice(0, 60)}${first.length > 60 ? "…" : ""}"`;
        if (!serving.hasLedger) {
          return `${DEMO_QUESTIONS.length} free answers (no ServingLedger in this profile), each signed and re-executed bit for bit, e.g. ${answer}`;
        }
        const deadline = Date.now() + 30_000;
        let settled = 0n;
        while (Date.now() < deadline && settled !== fees) {
          settled = (await serving.voucherState(chain.address as string, provider.address)).settled;
          if (settled !== fees) await new Promise((resolve) => setTimeout(resolve, 250));
        }
        if (settled !== fees) throw new ZgError(`settled ${settled} wei, but the responses stated ${fees}`);
        return `${DEMO_QUESTIONS.length} answers signed, verified and re-executed bit for bit (e.g. ${answer}); fees ${formatEther(fees)} settled on-chain to the provider exactly`;
      } finally {
        chain.destroy();
      }
    },
  },
  {
    module: "AgentNFT",
    title:
      "an AI agent is minted, transferred with re-encryption, decrypted by its new owner only, and run for an authorized user",
    async run({ state }) {
      const [alice, bob, dave] = await Promise.all(
        [DEMO_USER, DEMO_USER - 1, DEMO_USER - 2].map((index) =>
          connectDevnet(state.rpcUrl, state.deployment.registry, devAccount(index).privateKey),
        ),
      );
      try {
        const [a, b, d] = await Promise.all([alice, bob, dave].map((chain) => InftClient.connect(chain)));
        const persona = new TextEncoder().encode(DEMO_AGENT);
        const { tokenId } = await a.mint([{ description: "persona", data: persona }]);
        await a.transfer(await b.accept(tokenId));
        const [opened] = await b.decrypt(tokenId);
        if (Buffer.compare(Buffer.from(opened.data), Buffer.from(persona)) !== 0) {
          throw new ZgError("the new owner decrypted something else");
        }
        const previousOwner = await a.decrypt(tokenId).then(
          () => "could",
          () => "cannot",
        );
        if (previousOwner !== "cannot") throw new ZgError("the previous owner can still decrypt the agent");
        await b.authorize(tokenId, dave.address as string);
        const serving = await ServingClient.connect(dave);
        if (serving.hasLedger) {
          const oracle = await d.oracle();
          await serving.deposit(parseEther("0.1"));
          await serving.fund(oracle.address, parseEther("0.1"));
        }
        const answer = await d.infer(tokenId, "Who are you?", { max_tokens: 16 });
        return `agent ${tokenId} moved to ${bob.address?.slice(0, 10)}… under a fresh key; the new owner decrypts it, the old one ${previousOwner}; an authorized user asked it "Who are you?": "${answer.content.slice(0, 50)}…"`;
      } finally {
        for (const chain of [alice, bob, dave]) chain.destroy();
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
export async function runDemo(
  state: DevnetState,
  say: (line: string) => void,
  controls: DemoControls,
): Promise<boolean> {
  const context: DemoContext = {
    state,
    controls,
    connectAs: (role) => {
      const operator = role === "USER" ? undefined : state.operators.find((o) => o.role === role);
      return connectDevnet(
        state.rpcUrl,
        state.deployment.registry,
        operator?.privateKey ?? devAccount(DEMO_USER).privateKey,
      );
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

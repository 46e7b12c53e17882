import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, ZeroAddress, type Log } from "ethers";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { IAgentNFT__factory, IFlow__factory, IInferenceServing__factory } from "../../typechain-types";
import { readDeployment } from "../../offchain/core/deployments";
import type { Trace, TraceNode } from "../../offchain/core/trace";
import { submissionRoot } from "../../offchain/storage/log";
import { tempDir } from "../helpers/chain";
import { limitedRpc } from "../helpers/limited-rpc";
import { runnableBlocks } from "../helpers/markdown";
import { expectFailure, freePort, runZg, until } from "../helpers/process";

/** Every (transaction, event) pair a trace tree shows, with the item it is under. */
function tracedEvents(trace: Trace): { tx: string; event: string; step: string; item: string }[] {
  const all: { tx: string; event: string; step: string; item: string }[] = [];
  const walk = (node: TraceNode) => {
    for (const e of node.events)
      all.push({ tx: e.tx, event: e.event, step: e.step, item: `${node.ref.kind}:${node.ref.id}` });
    node.children.forEach(walk);
  };
  trace.roots.forEach(walk);
  return all;
}

function chromiumPath(): string {
  const found = spawnSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], {
    encoding: "utf8",
  });
  const file = found.stdout.trim();
  if (!file) throw new Error("Chromium is not installed (.ci/run installs Debian's chromium package)");
  return file;
}

/**
 * The suite's one devnet of the `full` profile with its demo (`npm start`), shared by every check that needs the
 * whole stack: its banner and demo, the README's quickstart and the tutorial run command by command, the demo's
 * agent traced against the events the demo caused, and the explorer driven in headless Chromium. The other
 * profiles' devnets are tested in test/devnet/devnet.test.ts.
 */
describe("the full devnet after its demo: the README, zg trace, the tutorial and the explorer", function () {
  this.timeout(1_200_000);
  let devnet: ChildProcess;
  let banner = "";
  let env: NodeJS.ProcessEnv;
  let provider: JsonRpcProvider;
  const deployments = tempDir("deployments");

  const zg = async (args: string[]) => {
    const run = await runZg(args, env);
    expect(run.code, `zg ${args.join(" ")}: ${run.stderr}`).to.equal(0);
    return run.stdout;
  };
  const traceOf = async (thing: string, depth = 2) =>
    JSON.parse(await zg(["--json", "trace", thing, "--depth", String(depth)])) as Trace;
  const contract = (name: string) => readDeployment(31337)?.modules[name]?.address as string;

  before(async function () {
    const port = await freePort();
    env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env.ZG_DEPLOYMENTS_DIR = deployments;
    process.env.ZG_DEPLOYMENTS_DIR = deployments;
    devnet = spawn(
      process.execPath,
      [
        path.resolve("bin/zg.js"),
        "devnet",
        "--demo",
        "--port",
        String(port),
        "--data-dir",
        tempDir("devnet"),
      ],
      { env: { ...env, ZG_HOME: tempDir("devnet-home") }, stdio: ["ignore", "pipe", "pipe"] },
    );
    devnet.stdout!.on("data", (chunk: Buffer) => (banner += chunk.toString()));
    await until(
      async () => banner,
      (text) => text.includes("the devnet is running") || text.includes("demo FAILED"),
      900_000,
    );
    expect(banner).to.include("demo succeeded");
    expect(banner).to.include("zerog-stack devnet is up (profile full)");
    expect(banner.match(/worker\s+storage-\d\s+http/g)).to.have.length(6);
    expect(banner).to.include("survives the loss of two storage nodes");
    expect(banner).to.match(/storage-lossy missed epoch \d+ and was slashed 1\.0 and jailed/);
    expect(banner).to.match(
      /3 answers signed, verified and re-executed bit for bit .*settled on-chain to the provider exactly/,
    );
    expect(banner).to.match(
      /agent \d+ moved to 0x[0-9a-fA-F]+… under a fresh key; the new owner decrypts it, the old one cannot/,
    );
    expect(banner).to.not.include("✗");
    expect(banner).to.include("every listed worker is healthy after the demo");
    env.ZG_RPC_URL = `http://127.0.0.1:${port}`;
    env.ZG_HOME = tempDir("home");
    provider = new JsonRpcProvider(env.ZG_RPC_URL, 31337, { staticNetwork: true });
  });

  after(async () => {
    provider?.destroy();
    if (devnet && devnet.exitCode === null) {
      devnet.kill("SIGINT");
      await new Promise((resolve) => devnet.once("exit", resolve));
    }
  });

  /** The events of `agent` the chain holds, read here without the trace engine: the expected steps. */
  async function agentEvents(agent: bigint) {
    const nft = IAgentNFT__factory.connect(contract("AgentNFT"), provider);
    const logs = await provider.getLogs({ address: contract("AgentNFT"), fromBlock: 0 });
    const mine = logs
      .map((log) => ({ log, parsed: nft.interface.parseLog(log) }))
      .filter(({ parsed }) => parsed && parsed.args.tokenId === agent);
    const expected = mine
      .filter(({ parsed }) => parsed!.name !== "Transfer" || parsed!.args.from === ZeroAddress)
      .map(({ log, parsed }) => ({ tx: log.transactionHash, event: parsed!.name }));
    const roots = (await nft.intelligentDatasOf(agent)).map((data) => data.dataHash.toLowerCase());
    const flow = IFlow__factory.connect(contract("Flow"), provider);
    for (const log of await provider.getLogs({ address: contract("Flow"), fromBlock: 0 })) {
      const parsed = flow.interface.parseLog(log);
      if (parsed?.name !== "Submit") continue;
      const nodes = parsed.args.submission.nodes as { root: string; height: bigint }[];
      const root = submissionRoot(nodes.map((n) => ({ root: n.root, height: Number(n.height) })));
      if (roots.includes(root)) expected.push({ tx: log.transactionHash, event: "Submit" });
    }
    return { expected, roots, users: mine.map(({ parsed }) => String(parsed!.args.to)) };
  }

  async function settlementsOf(user: string): Promise<Log[]> {
    const serving = IInferenceServing__factory.connect(contract("InferenceServing"), provider);
    return serving.queryFilter(serving.filters.VoucherSettled(user), 0);
  }

  it("traces the demo's agent: every event the demo caused is in the tree, with the inference it paid for", async () => {
    const agent = BigInt(/agent (\d+) moved to/.exec(banner)?.[1] ?? "0");
    expect(agent > 0n, "the demo names its agent").to.equal(true);
    const { expected, roots, users } = await agentEvents(agent);
    const trace = await traceOf(`agent:${agent}`);
    const traced = tracedEvents(trace);
    // Mint, the keys sealed at mint and at the transfer, the transfer, the authorization, and the data's storage.
    for (const event of ["Transfer", "PublishedSealedKey", "Transferred", "Authorization", "Submit"])
      expect(
        expected.map((e) => e.event),
        event,
      ).to.include(event);
    for (const { tx, event } of expected)
      expect(
        traced.some((t) => t.tx === tx && t.event === event),
        `${event} in ${tx}`,
      ).to.equal(true);
    // The authorized user's inference at the oracle, settled on-chain.
    const settled = (await Promise.all(users.map(settlementsOf))).flat();
    expect(settled.length).to.be.greaterThan(0);
    for (const log of settled)
      expect(traced.some((t) => t.tx === log.transactionHash && t.event === "VoucherSettled")).to.equal(true);
    // Where the data is held and proven, and the governance-set parameters of the modules involved.
    const rootNode = trace.roots[0].children.find((child) => child.ref.id === roots[0]);
    expect(rootNode?.events.map((e) => e.step)).to.include.members(["stored", "held"]);
    expect(traced.some((t) => t.item === "module:inft" && t.step === "param")).to.equal(true);
    expect(trace.roots[0].unverified.join("\n")).to.match(/re-encryption itself happens in the oracle/);
  });

  it("traces the demo's dispute, slash and DA challenge from the provider and the payload", async () => {
    const dispute = await traceOf("dispute:1");
    const steps = tracedEvents(dispute).map((t) => t.step);
    expect(steps).to.include.members(["disputed", "voted", "upheld", "service"]);
    const servingProvider = dispute.roots[0].children.find((child) => child.ref.kind === "provider");
    const operator = await traceOf(`operator:${servingProvider?.ref.id}`, 1);
    expect(tracedEvents(operator).map((t) => t.step)).to.include.members(["staked", "slashed", "jailed"]);
    {
      const slash = /da-lossy signed payload (0x[0-9a-f]+)…/.exec(banner)?.[1] as string;
      const state = (await (await fetch(`${explorerUrl()}/api/state`)).json()) as {
        panels: { title: string; rows: { cells: string[] }[] }[];
      };
      const id = state.panels
        .find((p) => p.title === "DA payloads")
        ?.rows.map((row) => row.cells[0])
        .find((cell) => cell.startsWith(slash)) as string;
      const trace = await traceOf(id, 1);
      expect(tracedEvents(trace).map((t) => t.step)).to.include.members([
        "submitted",
        "attested",
        "challenged",
        "slashed",
      ]);
      expect(trace.roots[0].facts.join("\n")).to.match(/sampled 8 random cells per blob/);
      // Through an endpoint that refuses log ranges over 100 blocks (one query over the whole chain is refused), the
      // sample still finds what it needs.
      expect(await provider.getBlockNumber()).to.be.greaterThan(100);
      const limited = await limitedRpc(env.ZG_RPC_URL as string, 100);
      try {
        const run = await runZg(["--json", "trace", id, "--depth", "1", "--max-range", "100", "--no-cache"], {
          ...env,
          ZG_RPC_URL: limited.url,
        });
        expect(run.code, run.stderr).to.equal(0);
        const capped = JSON.parse(run.stdout) as Trace;
        expect(capped.roots[0].facts.join("\n")).to.match(/sampled 8 random cells per blob/);
      } finally {
        limited.server.close();
      }
    }
  });

  it("rejects what names nothing with one line", async () => {
    expect(expectFailure(await runZg(["trace", "nonsense"], env))).to.match(
      /^zg: nothing on chain 31337 matches 'nonsense'/,
    );
    expect(expectFailure(await runZg(["trace", "agent:999999"], env))).to.match(
      /^zg: no agent token id '999999'/,
    );
  });

  it("runs every runnable block of the README in order, as a newcomer does after `npm start`", async () => {
    const blocks = runnableBlocks(readFileSync("README.md", "utf8"));
    // The README's commands name no chain: they reach the default one (127.0.0.1:8545); here, this devnet.
    const run = spawnSync("bash", ["-c", ["set -euo pipefail", ...blocks].join("\n")], {
      env: { ...env, ZG_HOME: tempDir("readme-home") },
      encoding: "utf8",
      timeout: 240_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stdout).to.match(/every segment verified/);
    expect(run.stdout).to.match(/signature verified/);
    expect(run.stdout).to.match(/transferred agent \d+|to 0xdD2FD4581271e230360230F9337D5c0430Bf44C0/i);
    // The banner prints the same user and commands as the README.
    const user = /export ZG_PRIVATE_KEY=(0x[0-9a-f]{64})/.exec(blocks.join("\n"))?.[1];
    expect(banner).to.include(`devnet-only key ${user}`);
    for (const line of ["zg storage upload README.md", 'zg inft infer "$AGENT" "what is zerog-stack?"'])
      expect(banner).to.include(line);
  });

  it("runs the tutorial's commands in order, and the trace of its agent shows every step it caused", async () => {
    const blocks = runnableBlocks(readFileSync("docs/tutorial.md", "utf8"));
    const startBlock = await provider.getBlockNumber();
    const script = ["set -euo pipefail", ...blocks, 'echo "TUTORIAL AGENT=$AGENT DA=$DA ROOT=$ROOT"'].join(
      "\n",
    );
    const run = spawnSync("bash", ["-c", script], { env, encoding: "utf8", timeout: 300_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
    const [, agent, da, root] =
      /TUTORIAL AGENT=(\d+) DA=(0x[0-9a-f]{64}) ROOT=(0x[0-9a-f]{64})/.exec(run.stdout) ?? [];
    expect(run.stdout).to.match(/every segment verified/);
    expect(run.stdout).to.match(/signature verified/);
    expect(run.stdout).to.include(`trace of agent:${agent}`);
    expect(run.stdout).to.include(`trace of ${da}`);

    const { expected, users } = await agentEvents(BigInt(agent));
    // The tutorial's inference is settled by the oracle within seconds of the answer.
    const settled = await until(
      async () => (await settlementsOf(users[0])).filter((log) => log.blockNumber > startBlock),
      (logs) => logs.length > 0,
      60_000,
    );
    const trace = await until(
      () => traceOf(`agent:${agent}`),
      (t) => tracedEvents(t).some((e) => e.tx === settled[0].transactionHash && e.event === "VoucherSettled"),
      60_000,
    );
    const traced = tracedEvents(trace);
    for (const { tx, event } of expected)
      expect(
        traced.some((t) => t.tx === tx && t.event === event),
        `${event} in ${tx}`,
      ).to.equal(true);
    expect(expected.map((e) => e.event)).to.include.members([
      "Transfer",
      "Transferred",
      "PublishedSealedKey",
      "Submit",
    ]);
    // The dataset and the DA payload its description names are in the story, with their own events.
    const named = trace.roots[0].children.map((child) => `${child.ref.kind}:${child.ref.id}`);
    expect(named).to.include.members([`root:${root}`, `payload:${da}`]);
    const payload = trace.roots[0].children.find((child) => child.ref.id === da);
    expect(payload?.events.map((e) => e.step)).to.include.members(["submitted", "attested"]);
    expect(trace.roots[0].facts.join("\n")).to.include("owner 0xdD2FD4581271e230360230F9337D5c0430Bf44C0");
  });

  function explorerUrl(): string {
    return /explorer\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  }

  describe("the explorer in headless Chromium", () => {
    let browser: Browser;
    let page: Page;
    const shots = path.resolve("test-output");

    before(async () => {
      mkdirSync(shots, { recursive: true });
      browser = await puppeteer.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 1000 });
    });

    after(async () => browser?.close());

    const panelText = (title: string) =>
      page.$eval(`section[data-panel="${title}"]`, (section) => section.textContent ?? "");

    it("shows every panel with the demo's items, live", async () => {
      const url = explorerUrl();
      expect(url, "the devnet prints the explorer's URL").to.be.a("string");
      await page.goto(url, { waitUntil: "domcontentloaded" });
      await page.waitForSelector('section[data-panel="Disputes"] tbody tr', { timeout: 120_000 });
      const record = readDeployment(31337)!;
      const modules = await panelText("Modules");
      for (const name of Object.keys(record.modules)) expect(modules).to.include(name);
      const operators = await panelText("Operators");
      for (const address of banner.matchAll(/operator\s+\w+\s+(0x[0-9a-fA-F]{40})/g))
        expect(operators).to.include(address[1]);
      expect(operators).to.match(/jailed/);
      const { roots } = await agentEvents(1n);
      expect(await panelText("Files")).to.include(roots[0]);
      expect(await panelText("Agents")).to.include(roots[0]);
      const services = await panelText("Services");
      const providerAddress = /operator\s+PROVIDER\s+(0x[0-9a-fA-F]{40})/.exec(banner)?.[1] as string;
      expect(services).to.include(providerAddress).and.to.include("zg-builtin-1");
      const payloads = await page.$$eval('section[data-panel="DA payloads"] tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent)),
      );
      expect(payloads.length).to.be.greaterThanOrEqual(2);
      expect(payloads.some((cells) => Number(cells[4]) > 0.99)).to.equal(true);
      expect(await panelText("Disputes"))
        .to.match(/upheld/)
        .and.to.include("#1:10");
      // Live: the status line follows the chain's head without a reload.
      const first = await page.$eval("#status", (node) => node.textContent);
      await page.waitForFunction(
        `document.querySelector("#status").textContent !== ${JSON.stringify(first)}`,
        {
          timeout: 30_000,
        },
      );
      await page.screenshot({ path: path.join(shots, "explorer-panels.png"), fullPage: true });
    });

    it("draws the trace of an agent and follows it to the agent's data", async () => {
      await page.click('section[data-panel="Agents"] tr[data-trace="agent:1"]');
      await page.waitForSelector('#trace-picture svg g.trace-node[data-ref="agent:1"]', { timeout: 60_000 });
      const nodes = await page.$$eval("#trace-picture g.trace-node", (groups) =>
        groups.map((g) => g.getAttribute("data-ref")),
      );
      const root = nodes.find((ref) => ref?.startsWith("root:")) as string;
      expect(root).to.be.a("string");
      expect(nodes.some((ref) => ref?.startsWith("usage:"))).to.equal(true);
      expect(await page.$eval("#trace-events", (table) => table.textContent)).to.include("transferred");
      await page.screenshot({ path: path.join(shots, "explorer-trace-agent.png"), fullPage: true });
      await page.click(`#trace-picture g.trace-node[data-ref="${root}"]`);
      await page.waitForFunction(
        `document.querySelector("#trace-picture g.trace-node")?.getAttribute("data-ref") === ${JSON.stringify(root)}`,
        { timeout: 60_000 },
      );
      expect(await page.$eval("#trace-events", (table) => table.textContent)).to.include("held");
      await page.screenshot({ path: path.join(shots, "explorer-trace-root.png"), fullPage: true });
    });
  });
});

import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { deployProfile } from "../../deploy/deploy-profile";
import { validate } from "../../offchain/core/config";
import type { DevnetState } from "../../offchain/core/module";
import { startWorker } from "../../offchain/core/worker";
import { buildProgram } from "../../offchain/cli/program";
import { runDemo } from "../../offchain/devnet/demo";
import { planWorkers } from "../../offchain/devnet/devnet";
import { MODULES, workerDefinition, workerKinds } from "../../offchain/modules";
import { loadProfile, profileModules, profileSchemaFor } from "../../offchain/profiles";
import { ModuleRegistry__factory } from "../../typechain-types";
import { echo } from "../fixtures/echo-module";
import { devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";

/** The stack's modules plus a throw-away one, as a new module is added: one more entry in the list. */
const WITH_ECHO = [...MODULES, echo];

describe("module manifests: a module added to the list is picked up everywhere", () => {
  let rpc: TestRpc;
  let profilesDir: string;
  const savedProfilesDir = process.env.ZG_PROFILES_DIR;

  before(async () => {
    rpc = await startRpc();
    profilesDir = tempDir("profiles");
    writeFileSync(
      path.join(profilesDir, "echo-only.json"),
      JSON.stringify({ description: "only the echo module", modules: { echo: { version: "0.0.2" } } }),
    );
    process.env.ZG_PROFILES_DIR = profilesDir;
  });
  after(async () => {
    if (savedProfilesDir === undefined) delete process.env.ZG_PROFILES_DIR;
    else process.env.ZG_PROFILES_DIR = savedProfilesDir;
    await rpc.close();
  });

  it("profiles: the module's section is validated by its own schema, with its defaults", () => {
    const schema = profileSchemaFor(WITH_ECHO);
    expect(validate(schema, { description: "x", modules: { echo: {} } }, "p").modules.echo).to.deep.equal({
      version: "0.0.1",
    });
    expect(() => validate(schema, { description: "x", modules: { echo: { version: 2 } } }, "p")).to.throw(
      "p: field 'modules.echo.version' expected string, received number",
    );
    // Without the list entry, the same section is an unknown field.
    expect(() =>
      validate(profileSchemaFor(MODULES), { description: "x", modules: { echo: {} } }, "p"),
    ).to.throw("p: unknown field 'modules.echo'");
    expect(profileModules(loadProfile("echo-only", WITH_ECHO), WITH_ECHO).map((m) => m.name)).to.deep.equal([
      "echo",
    ]);
  });

  it("deploy: the profile deploys the module's Ignition part with the profile's parameters", async () => {
    const record = await deployProfile(
      hre,
      "echo-only",
      path.join(tempDir("deployments"), "31337.json"),
      WITH_ECHO,
    );
    expect(Object.keys(record.modules)).to.deep.equal(["Echo"]);
    expect(record.modules.Echo.version).to.equal("0.0.2");
    const registry = ModuleRegistry__factory.connect(record.registry, hre.ethers.provider);
    expect(await registry.moduleVersion(hre.ethers.encodeBytes32String("Echo"))).to.equal("0.0.2");
  });

  it("zg node: the module's worker kind exists, composes its service and serves its routes", async () => {
    expect(workerKinds(WITH_ECHO).get("echo")).to.deep.equal(["echo"]);
    await expect(workerDefinition("echo")).to.be.rejectedWith(/^unknown worker kind 'echo' \(kinds: /);
    const record = await deployProfile(
      hre,
      "echo-only",
      path.join(tempDir("deployments"), "31337.json"),
      WITH_ECHO,
    );
    const handle = await startWorker(
      await workerDefinition("echo", WITH_ECHO),
      {
        rpcUrl: rpc.url,
        registry: record.registry,
        dataDir: tempDir("echo"),
        http: { host: "127.0.0.1", port: 0 },
        greeting: "hi there",
      },
      { write: () => undefined },
    );
    try {
      expect(await (await fetch(`${handle.url}/echo`)).text()).to.equal("hi there");
      expect(
        ((await (await fetch(`${handle.url}/health`)).json()) as { greeting: string }).greeting,
      ).to.equal("hi there");
    } finally {
      await handle.stop();
    }
  });

  it("zg --help and zg node --help: the module's command group and worker kind are listed", () => {
    const program = buildProgram(WITH_ECHO);
    const help = program.helpInformation();
    expect(help).to.match(/\n\s+echo\s+the echo module's command group/);
    const node = program.commands.find((command) => command.name() === "node");
    expect(node?.description()).to.include("echo (echo)");
    expect(node?.description()).to.include("oracle (serving + inft)");
    expect(buildProgram(MODULES).helpInformation()).to.not.match(/\n\s+echo\s/);
  });

  it("devnet and demo: the module's worker is planned and its demo step runs when it is deployed", async () => {
    const record = await deployProfile(
      hre,
      "echo-only",
      path.join(tempDir("deployments"), "31337.json"),
      WITH_ECHO,
    );
    const manifests = profileModules(loadProfile("echo-only", WITH_ECHO), WITH_ECHO);
    const plans = planWorkers(manifests, { deployment: record, deployed: (name) => name === "echo" });
    expect(plans.map((plan) => [plan.name, plan.kind])).to.deep.equal([["echo-0", "echo"]]);

    const handle = await startWorker(
      await workerDefinition("echo", WITH_ECHO),
      {
        rpcUrl: rpc.url,
        registry: record.registry,
        dataDir: tempDir("echo"),
        http: { host: "127.0.0.1", port: 0 },
        ...plans[0].config(0),
      },
      { write: () => undefined },
    );
    const lines: string[] = [];
    try {
      const state: DevnetState = {
        rpcUrl: rpc.url,
        chainId: 31337,
        dataDir: tempDir("devnet"),
        deployment: record,
        operators: [],
        workers: [{ name: "echo-0", kind: "echo", url: handle.url, health: "", metrics: "", log: "" }],
        statusUrl: "",
        explorerUrl: "",
        user: { address: devAccount(19).address, privateKey: devAccount(19).privateKey },
        tryIt: [],
      };
      const unused = async (): Promise<never> => {
        throw new Error("the echo demo controls no worker");
      };
      const controls = {
        stopWorker: unused,
        resumeWorker: unused,
        startExtraWorker: unused,
        removeWorker: unused,
      };
      expect(await runDemo(state, (line) => lines.push(line), controls, WITH_ECHO)).to.equal(true);
    } finally {
      await handle.stop();
    }
    expect(lines).to.include("  ✓ the echo worker answers: hi");
    expect(lines).to.include("  ✓ modules are found through the registry: Echo v0.0.2");
    // The other modules are not deployed: none of their steps ran.
    expect(lines.filter((line) => line.startsWith("  "))).to.have.length(2);
  });
});

import { workerKinds } from "../../offchain/modules";
import { profileNames } from "../../offchain/profiles";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import { devAccount, FULL_PROFILE_MODULES, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { expectFailure, expectSuccess, runZg, type ZgRun } from "../helpers/process";

type Run = ZgRun;

describe("zg CLI", function () {
  this.timeout(120_000);
  let rpc: TestRpc;
  let env: NodeJS.ProcessEnv;
  const operatorKey = devAccount(15).privateKey;
  const operator = devAccount(15).address;

  /** Runs `zg` with the suite's environment. */
  function zg(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return runZg(args, { ...env, ...extraEnv });
  }

  before(async () => {
    rpc = await startRpc();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env = {
      ...clean,
      ZG_HOME: tempDir("home"),
      ZG_DEPLOYMENTS_DIR: tempDir("deployments"),
      ZG_RPC_URL: rpc.url,
    };
    // Deploy through the CLI itself, against the served chain, using the node's unlocked first account.
    const deployed = expectSuccess(
      await zg(["--network", "localhost", "--rpc", rpc.url, "deploy", "--profile", "full"]),
    );
    expect(deployed).to.match(/deployed profile full on chain 31337/);
    expect(deployed).to.match(/NodeStaking\s+0x[0-9a-fA-F]{40}\s+v1\.0\.0/);
  });
  after(async () => {
    await rpc.close();
  });

  it("--help lists every command", async () => {
    const out = expectSuccess(await zg(["--help"]));
    for (const command of ["keys", "modules", "stake", "deploy", "devnet", "trace", "explorer", "node"])
      expect(out).to.include(command);
  });

  it("modules: lists the deployment, as text and as JSON", async () => {
    expect(expectSuccess(await zg(["modules"]))).to.match(/NodeStaking\s+0x[0-9a-fA-F]{40}\s+v1\.0\.0/);
    const json = JSON.parse(expectSuccess(await zg(["modules", "--json"]))) as {
      chainId: number;
      modules: { name: string }[];
    };
    expect(json.chainId).to.equal(31337);
    expect(json.modules.map((m) => m.name)).to.deep.equal([...FULL_PROFILE_MODULES]);
  });

  describe("stake", () => {
    it("deposit, status, unbond: the position follows, in JSON", async () => {
      const key = ["--private-key", operatorKey, "--json"];
      const deposited = JSON.parse(
        expectSuccess(await zg([...key, "stake", "deposit", "--role", "storage", "--amount", "12"])),
      );
      expect(deposited).to.include({
        operator,
        role: "STORAGE",
        active: true,
        member: true,
        bonded: parseEther("12").toString(),
      });
      const unbonded = JSON.parse(
        expectSuccess(await zg([...key, "stake", "unbond", "--role", "STORAGE", "--amount", "2"])),
      );
      expect(unbonded.bonded).to.equal(parseEther("10").toString());
      expect(unbonded.unbonding).to.equal(parseEther("2").toString());
      const status = expectSuccess(
        await zg(["stake", "status", "--role", "storage", "--operator", operator]),
      );
      expect(status).to.match(/bonded\s+10\.0/);
      expect(status).to.match(/unbonding\s+2\.0 until \d{4}-/);
    });

    it("announce: publishes the endpoint and region, and rejects a bad URL", async () => {
      const out = JSON.parse(
        expectSuccess(
          await zg([
            "--private-key",
            operatorKey,
            "--json",
            "stake",
            "announce",
            "--role",
            "storage",
            "--endpoint",
            "https://node.example.org:5678",
            "--region",
            "eu",
          ]),
        ),
      );
      expect(out).to.include({ endpoint: "https://node.example.org:5678", region: "eu" });
      expect(
        expectFailure(
          await zg([
            "--private-key",
            operatorKey,
            "stake",
            "announce",
            "--role",
            "storage",
            "--endpoint",
            "ftp://x",
          ]),
        ),
      ).to.equal("zg: endpoint 'ftp://x' must be an http or https URL");
      expect(
        expectFailure(
          await zg([
            "--private-key",
            operatorKey,
            "stake",
            "announce",
            "--role",
            "storage",
            "--endpoint",
            "node",
            "--region",
            "eu",
          ]),
        ),
      ).to.equal("zg: endpoint 'node' is not a URL");
    });

    it("withdraw before the delay: the decoded custom error", async () => {
      const line = expectFailure(
        await zg(["--private-key", operatorKey, "stake", "withdraw", "--role", "storage"]),
      );
      expect(line).to.match(/^zg: withdraw STORAGE: reverted with StakingUnbondingLocked\(releaseAt: \d+\)$/);
    });

    it("a stake below the minimum: the decoded custom error", async () => {
      const line = expectFailure(
        await zg(["--private-key", operatorKey, "stake", "deposit", "--role", "provider", "--amount", "0.5"]),
      );
      expect(line).to.equal(
        `zg: stake PROVIDER: reverted with StakingBelowMinimum(role: 2, bonded: ${parseEther("0.5")}, minimum: ${parseEther("10")})`,
      );
    });

    it("unbond --all leaves the role", async () => {
      const out = JSON.parse(
        expectSuccess(
          await zg(["--private-key", operatorKey, "--json", "stake", "unbond", "--role", "storage", "--all"]),
        ),
      );
      expect(out).to.include({
        member: false,
        active: false,
        bonded: "0",
        unbonding: parseEther("12").toString(),
      });
    });
  });

  describe("bad input: one line and a non-zero exit", () => {
    it("a wrong address", async () => {
      expect(
        expectFailure(await zg(["stake", "status", "--role", "storage", "--operator", "0x1234"])),
      ).to.equal("zg: operator '0x1234' is not an EVM address");
    });

    it("a missing config field", async () => {
      const file = path.join(tempDir("config"), "watcher.json");
      writeFileSync(file, JSON.stringify({ rpcUrl: rpc.url, http: { port: 0 } }));
      expect(expectFailure(await zg(["node", "watcher", "--config", file]))).to.equal(
        `zg: config file ${file}: missing required field 'dataDir'`,
      );
    });

    it("a config file that is not JSON", async () => {
      const file = path.join(tempDir("config"), "zg.config.json");
      writeFileSync(file, "{ rpcUrl: ");
      expect(expectFailure(await zg(["--config", file, "modules"]))).to.match(
        new RegExp(`^zg: config file ${file} is not valid JSON: `),
      );
    });

    it("an unfunded account", async () => {
      const unfunded = Wallet.createRandom();
      expect(
        expectFailure(
          await zg([
            "--private-key",
            unfunded.privateKey,
            "stake",
            "deposit",
            "--role",
            "storage",
            "--amount",
            "10",
          ]),
        ),
      ).to.equal(`zg: account ${unfunded.address} holds 0.0 but the stake is 10.0`);
    });

    it("a zero amount, and leaving a role one does not hold", async () => {
      const stranger = Wallet.createRandom();
      expect(
        expectFailure(
          await zg([
            "--private-key",
            stranger.privateKey,
            "stake",
            "deposit",
            "--role",
            "storage",
            "--amount",
            "0",
          ]),
        ),
      ).to.equal("zg: the amount must be positive");
      expect(
        expectFailure(
          await zg(["--private-key", stranger.privateKey, "stake", "unbond", "--role", "storage", "--all"]),
        ),
      ).to.equal(`zg: exit STORAGE: reverted with StakingNotMember(operator: ${stranger.address}, role: 0)`);
    });

    it("an unknown network", async () => {
      expect(expectFailure(await zg(["--network", "moon", "modules"], { ZG_RPC_URL: "" }))).to.equal(
        "zg: unknown network 'moon' (known: localhost, galileo; for any other chain pass --rpc <url>)",
      );
    });

    it("a profile that does not exist", async () => {
      expect(expectFailure(await zg(["deploy", "--profile", "everything"]))).to.equal(
        `zg: unknown profile 'everything' (profiles: ${profileNames().join(", ")})`,
      );
    });

    it("an unknown role, a bad amount, contradictory options", async () => {
      expect(
        expectFailure(await zg(["stake", "status", "--role", "miner", "--operator", operator])),
      ).to.equal("zg: unknown role 'miner' (roles: STORAGE, DA_SIGNER, PROVIDER, ORACLE, ALIGNMENT)");
      expect(
        expectFailure(
          await zg([
            "--private-key",
            operatorKey,
            "stake",
            "deposit",
            "--role",
            "storage",
            "--amount",
            "ten",
          ]),
        ),
      ).to.equal("zg: amount 'ten' is not a decimal amount of coin (e.g. 10 or 0.5)");
      expect(
        expectFailure(
          await zg([
            "--private-key",
            operatorKey,
            "stake",
            "unbond",
            "--role",
            "storage",
            "--all",
            "--amount",
            "1",
          ]),
        ),
      ).to.equal("zg: give either --amount <coin> or --all");
    });

    it("a signing command without a key", async () => {
      expect(expectFailure(await zg(["stake", "withdraw", "--role", "storage"]))).to.equal(
        "zg: this command signs transactions: pass --key <keystore> or --private-key",
      );
    });

    it("an unreachable RPC endpoint", async () => {
      expect(expectFailure(await zg(["--rpc", "http://127.0.0.1:9", "modules"]))).to.match(
        /^zg: cannot reach the RPC endpoint http:\/\/127\.0\.0\.1:9 /,
      );
    });

    it("a chain without a deployment", async () => {
      expect(expectFailure(await zg(["modules"], { ZG_DEPLOYMENTS_DIR: tempDir("empty") }))).to.equal(
        "zg: no zerog-stack deployment is known on chain 31337: run 'zg deploy' or pass --registry <address>",
      );
    });

    it("an unknown worker kind", async () => {
      expect(expectFailure(await zg(["node", "miner", "--config", "x.json"]))).to.equal(
        `zg: unknown worker kind 'miner' (kinds: ${[...workerKinds().keys()].join(", ")})`,
      );
    });

    it("--json failures are one JSON object with a code", async () => {
      const line = expectFailure(
        await zg(["--json", "stake", "status", "--role", "storage", "--operator", "nope"]),
      );
      expect(JSON.parse(line)).to.deep.equal({
        error: "operator 'nope' is not an EVM address",
        code: "BAD_INPUT",
      });
    });
  });

  describe("keys", () => {
    it("new, list, import, and signing with a keystore", async () => {
      const password = { ZG_PASSWORD: "correct horse battery" };
      const created = JSON.parse(expectSuccess(await zg(["--json", "keys", "new", "alice"], password))) as {
        address: string;
      };
      const keyFile = path.join(tempDir("key"), "key.txt");
      writeFileSync(keyFile, `${devAccount(16).privateKey}\n`);
      const imported = JSON.parse(
        expectSuccess(await zg(["--json", "keys", "import", "bob", "--private-key-file", keyFile], password)),
      );
      expect(imported.address).to.equal(devAccount(16).address);
      const listed = expectSuccess(await zg(["keys", "list"]));
      expect(listed).to.include(created.address).and.to.include(devAccount(16).address);

      const bonded = JSON.parse(
        expectSuccess(
          await zg(
            ["--key", "bob", "--json", "stake", "deposit", "--role", "oracle", "--amount", "10"],
            password,
          ),
        ),
      );
      expect(bonded).to.include({ operator: devAccount(16).address, role: "ORACLE", active: true });

      expect(
        expectFailure(
          await zg(["--key", "bob", "stake", "withdraw", "--role", "oracle"], {
            ZG_PASSWORD: "wrong password",
          }),
        ),
      ).to.match(/^zg: wrong password for keystore .*bob\.json$/);
      expect(expectFailure(await zg(["keys", "new", "alice"], password))).to.match(
        /^zg: a key named 'alice' already exists/,
      );
      expect(
        expectFailure(await zg(["--key", "carol", "stake", "withdraw", "--role", "oracle"], password)),
      ).to.match(/^zg: keystore .*carol\.json does not exist \(see 'zg keys list'\)$/);
    });
  });
});

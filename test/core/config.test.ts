import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  chainConfigFromEnv,
  chainConfigSchema,
  NETWORKS,
  readConfigFile,
  resolveChainConfig,
  validate,
  type ChainConfigInput,
} from "../../offchain/core/config";
import { ZgError } from "../../offchain/core/errors";
import { workerConfigSchema } from "../../offchain/core/worker";

// Hardhat's first two development keys and their addresses.
const KEY_A = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY_B = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ADDR_A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const ADDR_B = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ADDR_C = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/** Runs `fn`, expecting a ZgError, and returns it. */
function zgErrorOf(fn: () => unknown): ZgError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ZgError);
    return error as ZgError;
  }
  expect.fail("expected a ZgError to be thrown");
}

function expectOneLine(error: ZgError): void {
  expect(error.message).to.not.include("\n");
}

describe("core/config", () => {
  const dirs: string[] = [];
  function tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "zg-config-"));
    dirs.push(dir);
    return dir;
  }
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("resolveChainConfig: networks", () => {
    it("defaults to localhost when nothing is given", () => {
      expect(resolveChainConfig({})).to.deep.equal({
        network: "localhost",
        rpcUrl: "http://127.0.0.1:8545",
        expectedChainId: 31337,
        registry: undefined,
        key: undefined,
      });
    });

    it("defaults to localhost with empty layers", () => {
      const config = resolveChainConfig({ file: {}, env: {}, flags: {} });
      expect(config.network).to.equal("localhost");
      expect(config.rpcUrl).to.equal(NETWORKS.localhost.rpcUrl);
      expect(config.expectedChainId).to.equal(31337);
    });

    it("resolves galileo to its RPC URL and chain id", () => {
      expect(resolveChainConfig({ flags: { network: "galileo" } })).to.deep.equal({
        network: "galileo",
        rpcUrl: "https://evmrpc-testnet.0g.ai",
        expectedChainId: 16602,
        registry: undefined,
        key: undefined,
      });
    });

    it("keeps an explicit RPC URL for a named network, with the network's chain id", () => {
      const config = resolveChainConfig({
        flags: { network: "galileo", rpcUrl: "https://other-galileo.example.org/rpc" },
      });
      expect(config.network).to.equal("galileo");
      expect(config.rpcUrl).to.equal("https://other-galileo.example.org/rpc");
      expect(config.expectedChainId).to.equal(16602);
    });

    it("treats an RPC URL alone as the 'custom' network with no expected chain id", () => {
      const config = resolveChainConfig({ flags: { rpcUrl: "http://10.0.0.1:8545" } });
      expect(config).to.deep.equal({
        network: "custom",
        rpcUrl: "http://10.0.0.1:8545",
        expectedChainId: undefined,
        registry: undefined,
        key: undefined,
      });
    });

    it("accepts ws(s) RPC URLs", () => {
      expect(resolveChainConfig({ env: { rpcUrl: "wss://node.example.org/ws" } }).rpcUrl).to.equal(
        "wss://node.example.org/ws",
      );
    });

    it("rejects an unknown network with a one-line error listing the known networks", () => {
      const error = zgErrorOf(() => resolveChainConfig({ flags: { network: "mainnet" } }));
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal(
        "unknown network 'mainnet' (known: localhost, galileo; for any other chain pass --rpc <url>)",
      );
      expectOneLine(error);
    });

    it("rejects an unknown network even when an RPC URL is given", () => {
      const error = zgErrorOf(() =>
        resolveChainConfig({ file: { network: "sepolia" }, flags: { rpcUrl: "http://127.0.0.1:1" } }),
      );
      expect(error.message).to.match(/^unknown network 'sepolia' \(known: localhost, galileo;/);
    });

    it("does not take inherited Object.prototype names for networks", () => {
      for (const network of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
        const error = zgErrorOf(() => resolveChainConfig({ flags: { network } }));
        expect(error.message).to.include(`unknown network '${network}'`);
      }
    });
  });

  describe("resolveChainConfig: precedence", () => {
    it("a flag beats the environment, which beats the file", () => {
      const file = { network: "galileo", registry: ADDR_A, rpcUrl: "http://file.example:1" };
      const env: ChainConfigInput = { registry: ADDR_B, rpcUrl: "http://env.example:2" };
      const flags: ChainConfigInput = { registry: ADDR_C };

      expect(resolveChainConfig({ file }).registry).to.equal(ADDR_A);
      expect(resolveChainConfig({ file, env }).registry).to.equal(ADDR_B);
      const all = resolveChainConfig({ file, env, flags });
      expect(all.registry).to.equal(ADDR_C);
      // Fields a layer does not set come from the layers below it.
      expect(all.rpcUrl).to.equal("http://env.example:2");
      expect(all.network).to.equal("galileo");
      expect(all.expectedChainId).to.equal(16602);
    });

    it("the network of a higher layer replaces the network of a lower one", () => {
      const config = resolveChainConfig({ file: { network: "galileo" }, flags: { network: "localhost" } });
      expect(config.network).to.equal("localhost");
      expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
      expect(config.expectedChainId).to.equal(31337);
    });

    it("flags that are undefined (unset command-line options) do not hide lower layers", () => {
      const config = resolveChainConfig({
        env: { registry: ADDR_B, rpcUrl: "http://env.example:2" },
        flags: { registry: undefined, rpcUrl: undefined, network: undefined },
      });
      expect(config.registry).to.equal(ADDR_B);
      expect(config.rpcUrl).to.equal("http://env.example:2");
      expect(config.network).to.equal("custom");
    });

    it("environment fields that are undefined do not hide the file's", () => {
      const config = resolveChainConfig({
        file: { rpcUrl: "http://file.example:1", registry: ADDR_A },
        env: { rpcUrl: undefined, registry: undefined },
      });
      expect(config.rpcUrl).to.equal("http://file.example:1");
      expect(config.registry).to.equal(ADDR_A);
    });

    it("ignores non-chain fields of a config file (a worker's other settings)", () => {
      const config = resolveChainConfig({
        file: { dataDir: "./data", http: { port: 1 }, registry: ADDR_A, __dir: "/somewhere" },
      });
      expect(config.registry).to.equal(ADDR_A);
      expect(config.network).to.equal("localhost");
    });

    it("reads the chain fields of the environment from ZG_* variables", () => {
      const env = chainConfigFromEnv({
        ZG_NETWORK: "galileo",
        ZG_RPC_URL: "https://rpc.example",
        ZG_REGISTRY: ADDR_A,
        ZG_PRIVATE_KEY: KEY_A,
        ZG_PASSWORD_FILE: "/pw",
        UNRELATED: "x",
      });
      expect(env).to.deep.equal({
        network: "galileo",
        rpcUrl: "https://rpc.example",
        registry: ADDR_A,
        privateKey: KEY_A,
        passwordFile: "/pw",
      });
      expect(chainConfigFromEnv({ ZG_KEYSTORE: "ops" })).to.deep.equal({ keystore: "ops" });
      expect(chainConfigFromEnv({})).to.deep.equal({});
      // An empty variable counts as unset.
      expect(chainConfigFromEnv({ ZG_NETWORK: "", ZG_RPC_URL: "", ZG_PRIVATE_KEY: "" })).to.deep.equal({});
    });
  });

  describe("resolveChainConfig: validation", () => {
    it("rejects a bad registry address, naming the field and the layer", () => {
      const error = zgErrorOf(() => resolveChainConfig({ flags: { registry: "0x1234" } }));
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal("options: field 'registry' is not an EVM address");
    });

    it("rejects an address with a wrong checksum", () => {
      const badChecksum = ADDR_A.replace("f39Fd", "F39fD");
      const error = zgErrorOf(() => resolveChainConfig({ env: { registry: badChecksum } }));
      expect(error.message).to.equal("environment: field 'registry' is not an EVM address");
    });

    it("accepts an all-lowercase address", () => {
      expect(resolveChainConfig({ env: { registry: ADDR_A.toLowerCase() } }).registry).to.equal(
        ADDR_A.toLowerCase(),
      );
    });

    it("rejects a bad RPC URL, naming the field", () => {
      for (const rpcUrl of ["127.0.0.1:8545", "ftp://host", "http://", "http://a b", ""]) {
        const error = zgErrorOf(() => resolveChainConfig({ file: { rpcUrl } }));
        expect(error.code).to.equal("BAD_CONFIG");
        expect(error.message).to.equal("config file: field 'rpcUrl' is not an http(s) or ws(s) URL");
        expectOneLine(error);
      }
    });

    it("rejects a bad private key, naming the field, without echoing the key", () => {
      for (const privateKey of ["0x1234", "zz".repeat(32), `0x${"ab".repeat(33)}`]) {
        const error = zgErrorOf(() => resolveChainConfig({ env: { privateKey } }));
        expect(error.code).to.equal("BAD_CONFIG");
        expect(error.message).to.equal("environment: field 'privateKey' is not a 32-byte hex private key");
        expect(error.message).to.not.include(privateKey);
      }
    });

    it("rejects a field of the wrong type", () => {
      const error = zgErrorOf(() => resolveChainConfig({ file: { registry: 42 } }));
      expect(error.message).to.equal("config file: field 'registry' expected string, received number");
    });

    it("rejects an unknown field in the flags", () => {
      const flags = { registry: ADDR_A, colour: "blue" } as unknown as ChainConfigInput;
      const error = zgErrorOf(() => resolveChainConfig({ flags }));
      expect(error.message).to.equal("options: unknown field 'colour'");
    });
  });

  describe("resolveChainConfig: key source", () => {
    it("returns no key when none is given", () => {
      expect(resolveChainConfig({ flags: { network: "localhost" } }).key).to.equal(undefined);
    });

    it("a private key without 0x is normalised", () => {
      expect(resolveChainConfig({ env: { privateKey: KEY_A.slice(2) } }).key).to.deep.equal({
        kind: "privateKey",
        privateKey: KEY_A,
      });
    });

    it("a keystore comes with the password file of any layer", () => {
      expect(resolveChainConfig({ env: { keystore: "ops", passwordFile: "/run/pw" } }).key).to.deep.equal({
        kind: "keystore",
        keystore: "ops",
        passwordFile: "/run/pw",
      });
      expect(
        resolveChainConfig({ env: { passwordFile: "/run/pw" }, flags: { keystore: "ops" } }).key,
      ).to.deep.equal({ kind: "keystore", keystore: "ops", passwordFile: "/run/pw" });
      expect(resolveChainConfig({ flags: { keystore: "ops" } }).key).to.deep.equal({
        kind: "keystore",
        keystore: "ops",
        passwordFile: undefined,
      });
    });

    it("rejects a private key and a keystore in the same layer", () => {
      for (const layer of ["file", "env", "flags"] as const) {
        const error = zgErrorOf(() =>
          resolveChainConfig({ [layer]: { privateKey: KEY_A, keystore: "ops" } }),
        );
        expect(error.code).to.equal("BAD_CONFIG");
        expect(error.message).to.equal("give either a private key or a keystore, not both");
      }
    });

    it("a keystore flag beats a private key from the environment", () => {
      const config = resolveChainConfig({ env: { privateKey: KEY_A }, flags: { keystore: "ops" } });
      expect(config.key).to.deep.equal({ kind: "keystore", keystore: "ops", passwordFile: undefined });
    });

    it("a private key flag beats a keystore from the environment", () => {
      const config = resolveChainConfig({ env: { keystore: "ops" }, flags: { privateKey: KEY_B } });
      expect(config.key).to.deep.equal({ kind: "privateKey", privateKey: KEY_B });
    });

    it("an environment keystore beats a file private key, and vice versa", () => {
      expect(resolveChainConfig({ file: { privateKey: KEY_A }, env: { keystore: "ops" } }).key).to.deep.equal(
        {
          kind: "keystore",
          keystore: "ops",
          passwordFile: undefined,
        },
      );
      expect(resolveChainConfig({ file: { keystore: "ops" }, env: { privateKey: KEY_B } }).key).to.deep.equal(
        {
          kind: "privateKey",
          privateKey: KEY_B,
        },
      );
    });

    it("a more specific layer holding both kinds still errors even if a lower layer has one", () => {
      const error = zgErrorOf(() =>
        resolveChainConfig({ file: { privateKey: KEY_A }, flags: { privateKey: KEY_B, keystore: "ops" } }),
      );
      expect(error.message).to.equal("give either a private key or a keystore, not both");
    });

    it("a layer with both kinds below the winning layer is not consulted", () => {
      // The file holds both, but the flags name a key, so the file's key fields never decide.
      const config = resolveChainConfig({
        file: { privateKey: KEY_A, keystore: "ops" },
        flags: { privateKey: KEY_B },
      });
      expect(config.key).to.deep.equal({ kind: "privateKey", privateKey: KEY_B });
    });

    it("keystore and password file paths in a config file resolve relative to the file's folder", () => {
      const config = resolveChainConfig({
        file: { keystore: "keys/op.json", passwordFile: "../secrets/pw", __dir: "/etc/zg/worker" },
      });
      expect(config.key).to.deep.equal({
        kind: "keystore",
        keystore: "/etc/zg/worker/keys/op.json",
        passwordFile: "/etc/zg/secrets/pw",
      });
    });

    it("absolute keystore paths in a config file stay as they are", () => {
      const config = resolveChainConfig({
        file: { keystore: "/var/keys/op.json", passwordFile: "/var/pw", __dir: "/etc/zg" },
      });
      expect(config.key).to.deep.equal({
        kind: "keystore",
        keystore: "/var/keys/op.json",
        passwordFile: "/var/pw",
      });
    });

    it("a keystore given by name in a config file stays a name (it lives in the zg home)", () => {
      const config = resolveChainConfig({
        file: { keystore: "operator", passwordFile: "pw.txt", __dir: "/etc/zg" },
      });
      expect(config.key).to.deep.equal({
        kind: "keystore",
        keystore: "operator",
        passwordFile: "/etc/zg/pw.txt",
      });
    });

    it("paths from the environment and flags are not moved to the file's folder", () => {
      const config = resolveChainConfig({
        file: { __dir: "/etc/zg" },
        env: { passwordFile: "pw.txt" },
        flags: { keystore: "keys/op.json" },
      });
      expect(config.key).to.deep.equal({
        kind: "keystore",
        keystore: "keys/op.json",
        passwordFile: "pw.txt",
      });
    });

    it("resolves the paths of a file read with readConfigFile", () => {
      const dir = tempDir();
      const file = path.join(dir, "worker.json");
      writeFileSync(file, JSON.stringify({ keystore: "./k/op.json", passwordFile: "pw", registry: ADDR_A }));
      const config = resolveChainConfig({ file: readConfigFile(file) });
      expect(config.key).to.deep.equal({
        kind: "keystore",
        keystore: path.join(dir, "k", "op.json"),
        passwordFile: path.join(dir, "pw"),
      });
      expect(config.registry).to.equal(ADDR_A);
    });
  });

  describe("readConfigFile", () => {
    let savedCwd: string;
    beforeEach(() => {
      savedCwd = process.cwd();
    });
    afterEach(() => {
      process.chdir(savedCwd);
    });

    it("reads a JSON object and records the file's folder", () => {
      const dir = tempDir();
      const file = path.join(dir, "a.json");
      writeFileSync(file, JSON.stringify({ network: "galileo", nested: { x: 1 } }));
      expect(readConfigFile(file)).to.deep.equal({ network: "galileo", nested: { x: 1 }, __dir: dir });
    });

    it("records the absolute folder of a relative path", () => {
      const dir = tempDir();
      mkdirSync(path.join(dir, "conf"));
      writeFileSync(path.join(dir, "conf", "w.json"), "{}");
      process.chdir(dir);
      expect(readConfigFile("conf/w.json")).to.deep.equal({ __dir: path.join(process.cwd(), "conf") });
    });

    it("fails clearly for a missing file", () => {
      const file = path.join(tempDir(), "nope.json");
      const error = zgErrorOf(() => readConfigFile(file));
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal(`config file ${file} does not exist`);
    });

    it("fails clearly for invalid JSON", () => {
      const file = path.join(tempDir(), "bad.json");
      writeFileSync(file, '{ "network": "galileo", }');
      const error = zgErrorOf(() => readConfigFile(file));
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.match(new RegExp(`^config file ${escapeRegExp(file)} is not valid JSON: .+`));
      expectOneLine(error);
    });

    it("fails for JSON that is not an object", () => {
      const dir = tempDir();
      for (const [index, text] of ["[1, 2]", "null", "42", '"text"', "true"].entries()) {
        const file = path.join(dir, `v${index}.json`);
        writeFileSync(file, text);
        const error = zgErrorOf(() => readConfigFile(file));
        expect(error.code).to.equal("BAD_CONFIG");
        expect(error.message).to.equal(`config file ${file} must hold a JSON object`);
      }
    });

    it("reads zg.config.json from the working directory by default", () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, "zg.config.json"), JSON.stringify({ registry: ADDR_B }));
      process.chdir(dir);
      expect(readConfigFile(undefined)).to.deep.equal({ registry: ADDR_B, __dir: process.cwd() });
      expect(resolveChainConfig({ file: readConfigFile(undefined) }).registry).to.equal(ADDR_B);
    });

    it("returns an empty object when no file is given and there is no zg.config.json", () => {
      process.chdir(tempDir());
      expect(readConfigFile(undefined)).to.deep.equal({});
    });

    it("reports a default zg.config.json that is invalid", () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, "zg.config.json"), "[]");
      process.chdir(dir);
      const error = zgErrorOf(() => readConfigFile(undefined));
      expect(error.message).to.equal("config file zg.config.json must hold a JSON object");
    });
  });

  describe("validate", () => {
    const valid = { dataDir: "./data", http: { port: 8080 } };

    it("returns the parsed value with defaults", () => {
      const config = validate(workerConfigSchema, valid, "worker.json");
      expect(config.dataDir).to.equal("./data");
      expect(config.http).to.deep.equal({ host: "127.0.0.1", port: 8080 });
      expect(config.confirmations).to.equal(2);
      expect(config.logLevel).to.equal("info");
    });

    it("names a missing required field", () => {
      const noDataDir = zgErrorOf(() => validate(workerConfigSchema, { http: { port: 1 } }, "worker.json"));
      expect(noDataDir.code).to.equal("BAD_CONFIG");
      expect(noDataDir.message).to.equal("worker.json: missing required field 'dataDir'");

      const noHttp = zgErrorOf(() => validate(workerConfigSchema, { dataDir: "d" }, "worker.json"));
      expect(noHttp.message).to.equal("worker.json: missing required field 'http'");

      const noPort = zgErrorOf(() => validate(workerConfigSchema, { dataDir: "d", http: {} }, "worker.json"));
      expect(noPort.message).to.equal("worker.json: missing required field 'http.port'");
    });

    it("names an unknown field, with its full path", () => {
      const top = zgErrorOf(() => validate(workerConfigSchema, { ...valid, dataDri: "x" }, "worker.json"));
      expect(top.message).to.equal("worker.json: unknown field 'dataDri'");

      const nested = zgErrorOf(() =>
        validate(workerConfigSchema, { ...valid, http: { port: 1, hots: "x" } }, "worker.json"),
      );
      expect(nested.message).to.equal("worker.json: unknown field 'http.hots'");
    });

    it("names a field of the wrong type", () => {
      const error = zgErrorOf(() =>
        validate(workerConfigSchema, { dataDir: "d", http: { port: "8080" } }, "worker.json"),
      );
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal("worker.json: field 'http.port' expected number, received string");

      const nullDir = zgErrorOf(() => validate(workerConfigSchema, { ...valid, dataDir: null }, "w"));
      expect(nullDir.message).to.equal("w: field 'dataDir' expected string, received null");
    });

    it("describes a value out of range or not in an enum", () => {
      const port = zgErrorOf(() =>
        validate(workerConfigSchema, { dataDir: "d", http: { port: 70000 } }, "w"),
      );
      expect(port.message).to.match(/^w: field 'http\.port' number must be less than or equal to 65535$/);
      const level = zgErrorOf(() => validate(workerConfigSchema, { ...valid, logLevel: "loud" }, "w"));
      expect(level.message).to.match(/^w: field 'logLevel' invalid enum value/);
    });

    it("describes a root that is not an object", () => {
      const error = zgErrorOf(() => validate(chainConfigSchema, "text", "input"));
      expect(error.message).to.equal("input: field '(root)' expected object, received string");
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ZgError } from "../../offchain/core/errors";
import {
  createKey,
  importKey,
  isKeyName,
  keysDir,
  keystorePath,
  listKeys,
  loadWallet,
  readPassword,
  type KeyInfo,
} from "../../offchain/core/keys";

// Hardhat's first development key and its address.
const KNOWN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KNOWN_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const PASSWORD = "correct horse battery";

async function zgErrorOf(promise: Promise<unknown>): Promise<ZgError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ZgError);
    return error as ZgError;
  }
  expect.fail("expected a ZgError");
}

describe("core/keys", function () {
  // scrypt takes seconds per keystore encryption or decryption.
  this.timeout(180_000);

  const dirs: string[] = [];
  function tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), `zg-keys-${prefix}-`));
    dirs.push(dir);
    return dir;
  }

  const saved: { home?: string; password?: string } = {};
  let home: string;
  // One keystore created once, shared (by copying the file) by the tests that only read it.
  let sharedHome: string;
  let shared: KeyInfo;

  function restoreEnv(name: "ZG_HOME" | "ZG_PASSWORD", value: string | undefined): void {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }

  before(async () => {
    saved.home = process.env.ZG_HOME;
    saved.password = process.env.ZG_PASSWORD;
    sharedHome = tempDir("shared");
    process.env.ZG_HOME = sharedHome;
    shared = await createKey("alice", PASSWORD);
    restoreEnv("ZG_HOME", saved.home);
  });

  beforeEach(() => {
    home = tempDir("home");
    process.env.ZG_HOME = home;
    delete process.env.ZG_PASSWORD;
  });

  afterEach(() => {
    restoreEnv("ZG_HOME", saved.home);
    restoreEnv("ZG_PASSWORD", saved.password);
  });

  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Puts a copy of the shared keystore into the current zg home under `name`. */
  function installShared(name = "alice"): string {
    mkdirSync(keysDir(), { recursive: true });
    const file = path.join(keysDir(), `${name}.json`);
    copyFileSync(shared.path, file);
    return file;
  }

  describe("createKey and listKeys", () => {
    it("creates an encrypted keystore that listKeys shows by name and address", () => {
      process.env.ZG_HOME = sharedHome;
      const file = path.join(sharedHome, "keys", "alice.json");
      expect(shared.name).to.equal("alice");
      expect(shared.path).to.equal(file);
      expect(shared.address).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(listKeys()).to.deep.equal([{ name: "alice", address: shared.address, path: file }]);

      const json = JSON.parse(readFileSync(file, "utf8")) as {
        address: string;
        crypto?: { kdf: string };
        Crypto?: { kdf: string };
      };
      expect(`0x${json.address}`.toLowerCase()).to.equal(shared.address.toLowerCase());
      expect((json.crypto ?? json.Crypto)?.kdf).to.equal("scrypt");
    });

    it("writes the keystore with mode 0600 in a 0700 folder", () => {
      expect(statSync(shared.path).mode & 0o777).to.equal(0o600);
      expect(statSync(path.dirname(shared.path)).mode & 0o077).to.equal(0);
    });

    it("lists nothing when the zg home has no keys", () => {
      expect(listKeys()).to.deep.equal([]);
    });

    it("lists keystores sorted by name, and flags unreadable ones without failing", () => {
      installShared("zed");
      installShared("bob");
      writeFileSync(path.join(keysDir(), "broken.json"), "{not json");
      writeFileSync(path.join(keysDir(), "anon.json"), JSON.stringify({ version: 3 }));
      writeFileSync(path.join(keysDir(), "notes.txt"), "ignored");
      expect(listKeys()).to.deep.equal([
        { name: "anon", address: "unknown", path: path.join(keysDir(), "anon.json") },
        { name: "bob", address: shared.address, path: path.join(keysDir(), "bob.json") },
        { name: "broken", address: "unreadable", path: path.join(keysDir(), "broken.json") },
        { name: "zed", address: shared.address, path: path.join(keysDir(), "zed.json") },
      ]);
    });

    it("keeps keys in ZG_HOME/keys", () => {
      expect(keysDir()).to.equal(path.join(home, "keys"));
    });
  });

  describe("keystorePath", () => {
    it("maps a name into the zg home and anything else to a path", () => {
      expect(keystorePath("alice")).to.equal(path.join(home, "keys", "alice.json"));
      expect(keystorePath("my.key-1_b")).to.equal(path.join(home, "keys", "my.key-1_b.json"));
      expect(keystorePath("alice.json")).to.equal(path.resolve("alice.json"));
      expect(keystorePath("./alice")).to.equal(path.resolve("alice"));
      expect(keystorePath("/abs/k.json")).to.equal("/abs/k.json");
      expect(isKeyName("alice")).to.equal(true);
      expect(isKeyName("alice.json")).to.equal(false);
      expect(isKeyName("keys/alice")).to.equal(false);
    });
  });

  describe("loadWallet", () => {
    it("decrypts a keystore by name with the ZG_PASSWORD password", async () => {
      installShared();
      process.env.ZG_PASSWORD = PASSWORD;
      const wallet = await loadWallet({ kind: "keystore", keystore: "alice" });
      expect(wallet.address).to.equal(shared.address);
    });

    it("rejects a wrong password with a KEYSTORE error naming the keystore", async () => {
      const file = installShared();
      process.env.ZG_PASSWORD = "not the password";
      const error = await zgErrorOf(loadWallet({ kind: "keystore", keystore: "alice" }));
      expect(error.code).to.equal("KEYSTORE");
      expect(error.message).to.equal(`wrong password for keystore ${file}`);
    });

    it("fails clearly for a missing keystore, by name or by path", async () => {
      process.env.ZG_PASSWORD = PASSWORD;
      const byName = await zgErrorOf(loadWallet({ kind: "keystore", keystore: "ghost" }));
      expect(byName.code).to.equal("KEYSTORE");
      expect(byName.message).to.equal(
        `keystore ${path.join(home, "keys", "ghost.json")} does not exist (see 'zg keys list')`,
      );
      const missingPath = path.join(home, "elsewhere", "k.json");
      const byPath = await zgErrorOf(loadWallet({ kind: "keystore", keystore: missingPath }));
      expect(byPath.message).to.equal(`keystore ${missingPath} does not exist (see 'zg keys list')`);
    });

    it("reports a keystore that is not valid keystore JSON", async () => {
      mkdirSync(keysDir(), { recursive: true });
      const file = path.join(keysDir(), "junk.json");
      writeFileSync(file, "{ not json");
      process.env.ZG_PASSWORD = PASSWORD;
      const error = await zgErrorOf(loadWallet({ kind: "keystore", keystore: "junk" }));
      expect(error.code).to.equal("KEYSTORE");
      expect(error.message).to.match(
        new RegExp(`^keystore ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} cannot be read: `),
      );
    });

    it("fails for a missing password file before decrypting", async () => {
      installShared();
      const missing = path.join(home, "no-password");
      const error = await zgErrorOf(
        loadWallet({ kind: "keystore", keystore: "alice", passwordFile: missing }),
      );
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal(`password file ${missing} does not exist`);
    });

    it("loads a private key source without any keystore", async () => {
      const wallet = await loadWallet({ kind: "privateKey", privateKey: KNOWN_KEY });
      expect(wallet.address).to.equal(KNOWN_ADDRESS);
    });
  });

  describe("importKey", () => {
    it("imports a known key (without 0x) and loads it back with a password file", async () => {
      const info = await importKey("bob", KNOWN_KEY.slice(2), PASSWORD);
      expect(info).to.deep.equal({
        name: "bob",
        address: KNOWN_ADDRESS,
        path: path.join(home, "keys", "bob.json"),
      });
      expect(statSync(info.path).mode & 0o777).to.equal(0o600);
      expect(readFileSync(info.path, "utf8")).to.not.include(KNOWN_KEY.slice(2));
      expect(listKeys()).to.deep.equal([info]);

      // The password file's trailing newline is not part of the password; ZG_PASSWORD is wrong and unused.
      const passwordFile = path.join(home, "pw.txt");
      writeFileSync(passwordFile, `${PASSWORD}\n`);
      process.env.ZG_PASSWORD = "a wrong password";
      const wallet = await loadWallet({ kind: "keystore", keystore: "bob", passwordFile });
      expect(wallet.address).to.equal(KNOWN_ADDRESS);
      expect(wallet.privateKey).to.equal(KNOWN_KEY);
    });

    it("rejects invalid private keys with BAD_INPUT", async () => {
      for (const key of ["0x1234", "z".repeat(64), `0x${"00".repeat(32)}`, `0x${"ff".repeat(32)}`, ""]) {
        const error = await zgErrorOf(importKey("bob", key, PASSWORD));
        expect(error.code).to.equal("BAD_INPUT");
        expect(error.message).to.equal("the private key is not a valid 32-byte hex secp256k1 key");
      }
      expect(listKeys()).to.deep.equal([]);
    });
  });

  describe("input checks", () => {
    it("rejects bad key names with BAD_INPUT", async () => {
      for (const name of ["", "has space", ".hidden", "-dash", "a/b", "../up", "x".repeat(65), "ü"]) {
        const created = await zgErrorOf(createKey(name, PASSWORD));
        expect(created.code).to.equal("BAD_INPUT");
        expect(created.message).to.equal(`key name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`);
        const imported = await zgErrorOf(importKey(name, KNOWN_KEY, PASSWORD));
        expect(imported.code).to.equal("BAD_INPUT");
      }
      expect(listKeys()).to.deep.equal([]);
    });

    it("rejects passwords shorter than 8 characters with BAD_INPUT", async () => {
      for (const password of ["", "1234567"]) {
        const error = await zgErrorOf(createKey("carol", password));
        expect(error.code).to.equal("BAD_INPUT");
        expect(error.message).to.equal("the password must have at least 8 characters");
      }
      expect(listKeys()).to.deep.equal([]);
    });

    it("refuses to overwrite an existing key with BAD_INPUT", async () => {
      const file = installShared("alice");
      const before = readFileSync(file, "utf8");
      for (const attempt of [createKey("alice", PASSWORD), importKey("alice", KNOWN_KEY, PASSWORD)]) {
        const error = await zgErrorOf(attempt);
        expect(error.code).to.equal("BAD_INPUT");
        expect(error.message).to.equal(`a key named 'alice' already exists (${file})`);
      }
      expect(readFileSync(file, "utf8")).to.equal(before);
    });
  });

  describe("readPassword", () => {
    let ttyDescriptor: PropertyDescriptor | undefined;
    beforeEach(() => {
      ttyDescriptor = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
      Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true, writable: true });
    });
    afterEach(() => {
      if (ttyDescriptor) Object.defineProperty(process.stdin, "isTTY", ttyDescriptor);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    });

    it("without a TTY and without ZG_PASSWORD fails with a KEYSTORE error", async () => {
      const error = await zgErrorOf(readPassword(undefined, "password: "));
      expect(error.code).to.equal("KEYSTORE");
      expect(error.message).to.equal(
        "a keystore password is needed: set ZG_PASSWORD or pass --password-file",
      );
    });

    it("loadWallet of a keystore without any password source fails with KEYSTORE", async () => {
      installShared();
      const error = await zgErrorOf(loadWallet({ kind: "keystore", keystore: "alice" }));
      expect(error.code).to.equal("KEYSTORE");
      expect(error.message).to.include("set ZG_PASSWORD");
    });

    it("reads ZG_PASSWORD, even an empty one", async () => {
      process.env.ZG_PASSWORD = "from env";
      expect(await readPassword(undefined, "p: ")).to.equal("from env");
      process.env.ZG_PASSWORD = "";
      expect(await readPassword(undefined, "p: ")).to.equal("");
    });

    it("prefers a password file, dropping one trailing newline only", async () => {
      process.env.ZG_PASSWORD = "from env";
      const file = path.join(home, "pw");
      writeFileSync(file, "secret\r\n");
      expect(await readPassword(file, "p: ")).to.equal("secret");
      writeFileSync(file, "secret\n\n");
      expect(await readPassword(file, "p: ")).to.equal("secret\n");
      writeFileSync(file, " spaced secret ");
      expect(await readPassword(file, "p: ")).to.equal(" spaced secret ");
    });

    it("fails with BAD_CONFIG for a missing password file", async () => {
      const file = path.join(home, "missing-pw");
      const error = await zgErrorOf(readPassword(file, "p: "));
      expect(error.code).to.equal("BAD_CONFIG");
      expect(error.message).to.equal(`password file ${file} does not exist`);
    });
  });
});

import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress, Wallet, type HDNodeWallet } from "ethers";
import { ZgError } from "./errors";
import type { KeySource } from "./config";
import { zgHome } from "./paths";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface KeyInfo {
  name: string;
  address: string;
  path: string;
}

export function keysDir(): string {
  return path.join(zgHome(), "keys");
}

/** Whether `nameOrPath` names a keystore in the zg home (rather than giving a file's path). */
export function isKeyName(nameOrPath: string): boolean {
  return NAME.test(nameOrPath) && !nameOrPath.endsWith(".json");
}

/** A keystore given by name (in the zg home) or by path. */
export function keystorePath(nameOrPath: string): string {
  if (isKeyName(nameOrPath)) return path.join(keysDir(), `${nameOrPath}.json`);
  return path.resolve(nameOrPath);
}

/** Creates a fresh key and stores it as an encrypted JSON keystore (Web3 secret storage, scrypt). */
export async function createKey(name: string, password: string): Promise<KeyInfo> {
  return storeKey(name, Wallet.createRandom(), password);
}

/** Stores an existing private key as an encrypted JSON keystore. */
export async function importKey(name: string, privateKey: string, password: string): Promise<KeyInfo> {
  let wallet: Wallet;
  try {
    wallet = new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`);
  } catch {
    throw new ZgError("the private key is not a valid 32-byte hex secp256k1 key", "BAD_INPUT");
  }
  return storeKey(name, wallet, password);
}

async function storeKey(name: string, wallet: Wallet | HDNodeWallet, password: string): Promise<KeyInfo> {
  if (!NAME.test(name)) {
    throw new ZgError(`key name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`, "BAD_INPUT");
  }
  if (password.length < 8) throw new ZgError("the password must have at least 8 characters", "BAD_INPUT");
  const file = keystorePath(name);
  if (existsSync(file)) throw new ZgError(`a key named '${name}' already exists (${file})`, "BAD_INPUT");
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const json = await wallet.encrypt(password);
  writeFileSync(file, json, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return { name, address: wallet.address, path: file };
}

/** Every keystore in the zg home, without decrypting any. */
export function listKeys(): KeyInfo[] {
  const dir = keysDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => {
      const full = path.join(dir, file);
      return { name: file.slice(0, -5), address: keystoreAddress(full), path: full };
    });
}

function keystoreAddress(file: string): string {
  try {
    const { address } = JSON.parse(readFileSync(file, "utf8")) as { address?: string };
    return address ? getAddress(address.startsWith("0x") ? address : `0x${address}`) : "unknown";
  } catch {
    return "unreadable";
  }
}

/** Where a keystore password comes from, in order: a password file, `ZG_PASSWORD`, an interactive prompt. */
export async function readPassword(passwordFile: string | undefined, prompt: string): Promise<string> {
  if (passwordFile) {
    if (!existsSync(passwordFile))
      throw new ZgError(`password file ${passwordFile} does not exist`, "BAD_CONFIG");
    return readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
  }
  if (process.env.ZG_PASSWORD !== undefined) return process.env.ZG_PASSWORD;
  if (!process.stdin.isTTY) {
    throw new ZgError("a keystore password is needed: set ZG_PASSWORD or pass --password-file", "KEYSTORE");
  }
  return promptHidden(prompt);
}

async function promptHidden(prompt: string): Promise<string> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (text: string) => void };
  let prompted = false;
  output._writeToOutput = (text: string) => {
    // Echo the prompt itself, never the typed characters.
    if (!prompted) process.stderr.write(text);
    prompted = true;
  };
  return new Promise((resolve) =>
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    }),
  );
}

/** Loads the signing wallet a key source names. */
export async function loadWallet(source: KeySource): Promise<Wallet> {
  if (source.kind === "privateKey") return new Wallet(source.privateKey);
  const file = keystorePath(source.keystore);
  if (!existsSync(file))
    throw new ZgError(`keystore ${file} does not exist (see 'zg keys list')`, "KEYSTORE");
  const password = await readPassword(source.passwordFile, `password for ${path.basename(file)}: `);
  try {
    const wallet = await Wallet.fromEncryptedJson(readFileSync(file, "utf8"), password);
    return new Wallet(wallet.privateKey);
  } catch (error) {
    const message = (error as Error).message;
    if (/incorrect password|invalid password/i.test(message)) {
      throw new ZgError(`wrong password for keystore ${file}`, "KEYSTORE");
    }
    throw new ZgError(`keystore ${file} cannot be read: ${message}`, "KEYSTORE");
  }
}

import { existsSync, statSync } from "node:fs";
import { getAddress, isAddress, isHexString, parseEther } from "ethers";
import { ZgError } from "../errors";

/** A decimal amount of coin (e.g. "10" or "0.5") in wei. */
export function parseAmount(value: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value)) {
    throw new ZgError(`amount '${value}' is not a decimal amount of coin (e.g. 10 or 0.5)`, "BAD_INPUT");
  }
  return parseEther(value);
}

/** A whole number of wei (a price per token). */
export function parseWei(value: string, what: string): bigint {
  if (!/^\d{1,30}$/.test(value))
    throw new ZgError(`${what} '${value}' is not a whole number of wei`, "BAD_INPUT");
  return BigInt(value);
}

export function parseAddress(value: string, what = "address"): string {
  if (!isAddress(value)) throw new ZgError(`${what} '${value}' is not an EVM address`, "BAD_INPUT");
  return getAddress(value);
}

/** A node's public endpoint: an http(s) URL of at most 256 bytes (the contract's bound). */
export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ZgError(`endpoint '${value}' is not a URL`, "BAD_INPUT");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ZgError(`endpoint '${value}' must be an http or https URL`, "BAD_INPUT");
  }
  if (Buffer.byteLength(value) > 256) throw new ZgError("the endpoint is longer than 256 bytes", "BAD_INPUT");
  return value;
}

/** A 32-byte 0x-hex hash, such as a file root. */
export function parseHash(value: string, what: string): string {
  if (!isHexString(value, 32))
    throw new ZgError(`${what} '${value}' is not a 32-byte 0x-hex hash`, "BAD_INPUT");
  return value.toLowerCase();
}

/** A positive integer option. */
export function parseCount(value: string, what: string): number {
  if (!/^[1-9]\d{0,5}$/.test(value))
    throw new ZgError(`${what} '${value}' is not a positive integer`, "BAD_INPUT");
  return Number(value);
}

/** A path to an existing regular file. */
export function requireFile(file: string): string {
  if (!existsSync(file)) throw new ZgError(`file ${file} does not exist`, "BAD_INPUT");
  if (!statSync(file).isFile()) throw new ZgError(`${file} is not a regular file`, "BAD_INPUT");
  return file;
}

/** A path where a new file will be written: it must not exist yet (nothing is overwritten). */
export function requireNewFile(file: string): string {
  if (existsSync(file)) throw new ZgError(`${file} already exists: choose a new output path`, "BAD_INPUT");
  return file;
}

/** A non-negative integer argument (an epoch, an index). */
export function parseIndex(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw new ZgError(`${what} '${value}' is not a non-negative integer`, "BAD_INPUT");
  return Number(value);
}

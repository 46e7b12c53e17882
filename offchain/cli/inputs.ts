import { getAddress, isAddress, parseEther } from "ethers";
import { ZgError } from "../core/errors";
import { roleName, roleId, type RoleName } from "../staking/client";

/** A decimal amount of coin (e.g. "10" or "0.5") in wei. */
export function parseAmount(value: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value)) {
    throw new ZgError(`amount '${value}' is not a decimal amount of coin (e.g. 10 or 0.5)`, "BAD_INPUT");
  }
  return parseEther(value);
}

export function parseAddress(value: string, what = "address"): string {
  if (!isAddress(value)) throw new ZgError(`${what} '${value}' is not an EVM address`, "BAD_INPUT");
  return getAddress(value);
}

export function parseRole(value: string): RoleName {
  return roleName(roleId(value));
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

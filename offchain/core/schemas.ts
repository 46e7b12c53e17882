import { z } from "zod";

// Profile and config primitives. Module manifests import these at `zg` start-up, so this file loads zod alone:
// ethers is required only when an address is actually checked.

/** A decimal amount of the chain's coin, as profiles and the CLI write it ("10", "0.5"). */
export const coinAmountSchema = z
  .string()
  .regex(/^\d+(\.\d{1,18})?$/, 'must be a decimal amount of coin, e.g. "10" or "0.5"');

/** An EVM address: 0x and 40 hex digits, with a valid EIP-55 checksum when mixed-case. */
export const addressSchema = z.string().refine(
  (value) =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("ethers") as typeof import("ethers")).isAddress(value),
  { message: "is not an EVM address" },
);

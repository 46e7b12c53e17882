/**
 * Transfers (or with INFT_CLONE=1 clones) the ZG_PRIVATE_KEY account's agent to INFT_TO, through the SDK:
 *
 *   ZG_PRIVATE_KEY=0x… INFT_TOKEN_ID=1 INFT_TO=0x… INFT_RECEIVER_KEY=0x… \
 *     npx hardhat run --network localhost scripts/transfer-inft.ts
 *   ZG_PRIVATE_KEY=0x… INFT_TOKEN_ID=1 INFT_TO=0x… INFT_ACCESS_FILE=access.json [INFT_CLONE=1] [INFT_ORACLE=0x…] \
 *     npx hardhat run --network localhost scripts/transfer-inft.ts
 *
 * The receiver consents with access proofs: signed here with INFT_RECEIVER_KEY (handy on a devnet), or made by
 * the receiver with `zg inft accept <tokenId> --out access.json`. The oracle re-encrypts every entry for them.
 */
import { readFileSync } from "node:fs";
import { getAddress, isAddress } from "ethers";
import hre from "hardhat";
import { z } from "zod";
import { requireFile } from "../offchain/core/cli/inputs";
import { validate } from "../offchain/core/config";
import { ZgError } from "../offchain/core/errors";
import { InftClient, type AccessBundle } from "../offchain/inft/client";
import { address, connect, optional, print, privateKey, requiredAddress, run, tokenId } from "./inft-env";

const accessSchema = z.object({
  tokenId: z.string().regex(/^\d{1,78}$/),
  to: z.string().refine(isAddress, "must be an address"),
  targetPubkey: z.string().regex(/^0x[0-9a-fA-F]{128}$/, "must be a 64-byte public key"),
  accessProofs: z
    .array(z.object({ nonce: z.string(), deadline: z.string(), signature: z.string() }).strict())
    .min(1),
});

run("transfer-inft", async () => {
  const id = tokenId("INFT_TOKEN_ID");
  const to = requiredAddress("INFT_TO", "the receiver's address");
  const accessFile = optional("INFT_ACCESS_FILE");
  if ((accessFile === undefined) === (optional("INFT_RECEIVER_KEY") === undefined)) {
    throw new ZgError("set exactly one of INFT_RECEIVER_KEY and INFT_ACCESS_FILE", "BAD_INPUT");
  }
  const clone = optional("INFT_CLONE") === "1";
  const oracle = address("INFT_ORACLE");
  const ownerKey = privateKey("ZG_PRIVATE_KEY", "the owner's private key");

  let access: AccessBundle;
  if (accessFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(requireFile(accessFile), "utf8"));
    } catch (error) {
      if (error instanceof ZgError) throw error;
      throw new ZgError(`${accessFile} is not JSON`, "BAD_INPUT");
    }
    access = validate(accessSchema, raw, accessFile, "BAD_INPUT");
  } else {
    const receiver = await connect(hre, privateKey("INFT_RECEIVER_KEY", "the receiver's private key"));
    access = await (await InftClient.connect(receiver)).accept(id);
  }
  if (BigInt(access.tokenId) !== id)
    throw new ZgError(`the access proofs are for token ${access.tokenId}, not ${id}`, "BAD_INPUT");
  if (getAddress(access.to) !== to)
    throw new ZgError(`the access proofs are signed for ${access.to}, not INFT_TO ${to}`, "BAD_INPUT");

  const owner = await InftClient.connect(await connect(hre, ownerKey));
  const result = await owner.transfer(access, { clone, oracle });
  print(
    clone
      ? { action: "clone", tokenId: id, cloneTokenId: result.tokenId, to, tx: result.receipt.hash }
      : { action: "transfer", tokenId: id, to, tx: result.receipt.hash },
    [
      clone ? `cloned token ${id} as token ${result.tokenId} for ${to}` : `transferred token ${id} to ${to}`,
      `  tx ${result.receipt.hash}`,
    ],
  );
});

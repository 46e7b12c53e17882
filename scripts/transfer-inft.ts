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
import hre from "hardhat";
import { requireFile } from "../offchain/core/cli/inputs";
import { ZgError } from "../offchain/core/errors";
import { parseAccessBundle } from "../offchain/inft/access";
import { InftClient } from "../offchain/inft/client";
import { address, connect, optional, print, privateKey, requiredAddress, run, tokenId } from "./inft-env";

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

  const bundle = accessFile
    ? readFileSync(requireFile(accessFile), "utf8")
    : await (
        await InftClient.connect(
          await connect(hre, privateKey("INFT_RECEIVER_KEY", "the receiver's private key")),
        )
      ).accept(id);
  const access = parseAccessBundle(bundle, {
    source: accessFile ?? "the access proofs of INFT_RECEIVER_KEY",
    tokenId: id,
    to,
  });

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

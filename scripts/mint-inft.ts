/**
 * Mints an AI agent (ERC-7857 iNFT) to the ZG_PRIVATE_KEY account, through the SDK:
 *
 *   ZG_PRIVATE_KEY=0x… INFT_DATA=persona.txt,notes.txt [INFT_DESCRIPTIONS=persona,notes] [INFT_ORACLE=0x…] \
 *     [ZG_REGISTRY=0x…] [INFT_JSON=1] npx hardhat run --network localhost scripts/mint-inft.ts
 *
 * Descriptions default to the file names. Each file is encrypted under a fresh key and stored in 0G storage;
 * the oracle attests it holds the key. Prints the token id and the data hashes (the ciphertexts' storage roots).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { requireFile } from "../offchain/core/cli/inputs";
import { ZgError } from "../offchain/core/errors";
import { InftClient } from "../offchain/inft/client";
import { address, connect, list, optional, print, privateKey, required, run } from "./inft-env";

run("mint-inft", async () => {
  const files = list("INFT_DATA", required("INFT_DATA", "comma-separated paths of the agent's data files"));
  const given = optional("INFT_DESCRIPTIONS");
  const descriptions = given ? list("INFT_DESCRIPTIONS", given) : [];
  if (descriptions.length > files.length) {
    throw new ZgError(
      `INFT_DESCRIPTIONS has ${descriptions.length} items for ${files.length} INFT_DATA files`,
      "BAD_INPUT",
    );
  }
  const entries = files.map((file, i) => ({
    description: descriptions[i] ?? path.basename(file),
    data: new Uint8Array(readFileSync(requireFile(file))),
  }));
  const oracle = address("INFT_ORACLE");
  const chain = await connect(hre, privateKey("ZG_PRIVATE_KEY", "the minter's private key"));
  const { tokenId, dataHashes } = await (await InftClient.connect(chain)).mint(entries, { oracle });
  print(
    {
      tokenId,
      owner: chain.address,
      entries: entries.map((e, i) => ({ description: e.description, dataHash: dataHashes[i] })),
    },
    [
      `minted token ${tokenId} to ${chain.address}`,
      ...entries.map((e, i) => `  entry ${i} (${e.description}): ${dataHashes[i]}`),
    ],
  );
});

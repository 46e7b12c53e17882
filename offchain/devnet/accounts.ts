import { HDNodeWallet } from "ethers";
import { ZgChain } from "../core/chain";
import { NETWORKS } from "../core/config";

/** Hardhat's well-known development mnemonic: the devnet's accounts are funded with it. Never use it elsewhere. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** A devnet account: index 0 is governance and deployer, the next ones are operators. */
export function devAccount(index: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
}

/** A connection to the devnet's chain and deployment, signing with `privateKey`. */
export function connectDevnet(rpcUrl: string, registry: string, privateKey: string): Promise<ZgChain> {
  return ZgChain.connect({
    network: "localhost",
    rpcUrl,
    expectedChainId: NETWORKS.localhost.chainId,
    registry,
    key: { kind: "privateKey", privateKey },
  });
}

/** The devnet account printed for users (the demo's user too): funded by Hardhat, never an operator. */
export const DEVNET_USER = 19;

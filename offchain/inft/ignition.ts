import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { inft } from "./module";

const { agentNft: AGENT_NFT, oracleVerifier: ORACLE_VERIFIER } = inft.contracts;

/**
 * The agent iNFT (ERC-7857): AgentNFT, which checks its own proofs (not upgradeable, see decision 27), and the
 * OracleVerifier, the same checks as a service for other consumers (not upgradeable either: its nonces are bound to
 * its own EIP-712 domain, so it is replaced, not upgraded); registered as "AgentNFT" and "OracleVerifier". Both find
 * NodeStaking and the Flow through the registry at call time, so the Staking and Storage modules must be registered
 * before a token holds data.
 *
 * Parameters (module "inft"):
 * - `mintFee`: wei per mint or clone, as a decimal string; "0" (the default) is the `no-token` profile.
 */
export default buildModule("inft", (m) => {
  const { registry } = m.useModule(CoreModule);
  const mintFee = m.getParameter<string>("mintFee", "0");

  const verifier = m.contract("OracleVerifier", [registry]);
  const agentNft = m.contract("AgentNFT", [registry, mintFee]);

  m.call(
    registry,
    "setModule",
    [encodeBytes32String(ORACLE_VERIFIER.name), verifier, ORACLE_VERIFIER.version],
    {
      id: "RegisterOracleVerifier",
    },
  );
  m.call(registry, "setModule", [encodeBytes32String(AGENT_NFT.name), agentNft, AGENT_NFT.version], {
    id: "RegisterAgentNFT",
  });
  return { registry, verifier, agentNft };
});

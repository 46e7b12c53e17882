import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { alignment } from "./module";

const { disputes: DISPUTES, rewards: REWARDS } = alignment.contracts;

/**
 * Alignment disputes and liveness rewards: Disputes and AlignmentRewards, each behind a UUPS proxy, registered under
 * the alignment module's contract handles; Disputes is granted slashing authority (`setSlasher`). Both find the
 * license ("AlignmentLicense"), NodeStaking and InferenceServing through the registry at call time, so those must
 * be registered before anyone files, votes, attests or funds (not before this module is deployed).
 *
 * Parameters (module "alignment_disputes"): `bond` (wei), `votingBlocks`, `quorum`, `clip` (0–10),
 * `slashAmount` (wei), `epochBlocks`; amounts as decimal strings.
 */
export const DisputesModule = buildModule("alignment_disputes", (m) => {
  const { registry } = m.useModule(CoreModule);
  const params = {
    bond: m.getParameter<string>("bond", "0"),
    votingBlocks: m.getParameter<number>("votingBlocks", 100),
    quorum: m.getParameter<number>("quorum", 3),
    clip: m.getParameter<number>("clip", 2),
    slashAmount: m.getParameter<string>("slashAmount", "0"),
  };
  const epochBlocks = m.getParameter<number>("epochBlocks", 600);

  const disputesImplementation = m.contract("Disputes", [], { id: "DisputesImplementation" });
  const disputesInit = m.encodeFunctionCall(disputesImplementation, "initialize", [registry, params]);
  const disputesProxy = m.contract("ZgProxy", [disputesImplementation, disputesInit], {
    id: "DisputesProxy",
  });
  const disputes = m.contractAt("Disputes", disputesProxy, { id: "Disputes" });

  const rewardsImplementation = m.contract("AlignmentRewards", [], { id: "AlignmentRewardsImplementation" });
  const rewardsInit = m.encodeFunctionCall(rewardsImplementation, "initialize", [registry, epochBlocks]);
  const rewardsProxy = m.contract("ZgProxy", [rewardsImplementation, rewardsInit], {
    id: "AlignmentRewardsProxy",
  });
  const rewards = m.contractAt("AlignmentRewards", rewardsProxy, { id: "AlignmentRewards" });

  const disputesName = encodeBytes32String(DISPUTES.name);
  const registered = m.call(registry, "setModule", [disputesName, disputes, DISPUTES.version], {
    id: "RegisterDisputes",
  });
  m.call(registry, "setSlasher", [disputesName, true], { id: "AuthorizeDisputes", after: [registered] });
  m.call(registry, "setModule", [encodeBytes32String(REWARDS.name), rewards, REWARDS.version], {
    id: "RegisterAlignmentRewards",
  });
  return { registry, disputes, rewards };
});

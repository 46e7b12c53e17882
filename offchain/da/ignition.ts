import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { da } from "./module";

const { signers: SIGNERS, entrance: ENTRANCE } = da.contracts;

/**
 * DA: DASigners and DAEntrance, each behind a UUPS proxy, registered under DA's contract handles; DAEntrance is
 * granted slashing authority (`setSlasher`). Both find NodeStaking through the registry at call time, so the
 * staking module must be deployed before any registration, freeze or slash.
 *
 * DASigners is deployed first: DAEntrance's implementation takes its (proxy) address as an immutable.
 *
 * Parameters (module "da"): `epochBlocks`, `feePerBlob` (wei), `attestWindow`, `challengeWindow`,
 * `responseWindow` (≤ 255), `challengeBond` (wei), `slashAmount` (wei); amounts as decimal strings.
 */
export const DAModule = buildModule("da", (m) => {
  const { registry } = m.useModule(CoreModule);
  const epochBlocks = m.getParameter<number>("epochBlocks", 40);
  const params = {
    feePerBlob: m.getParameter<string>("feePerBlob", "0"),
    attestWindow: m.getParameter<number>("attestWindow", 7200),
    challengeWindow: m.getParameter<number>("challengeWindow", 200),
    responseWindow: m.getParameter<number>("responseWindow", 30),
    challengeBond: m.getParameter<string>("challengeBond", "0"),
    slashAmount: m.getParameter<string>("slashAmount", "0"),
  };

  const signersImplementation = m.contract("DASigners", [], { id: "DASignersImplementation" });
  const signersInit = m.encodeFunctionCall(signersImplementation, "initialize", [registry, epochBlocks]);
  const signersProxy = m.contract("ZgProxy", [signersImplementation, signersInit], { id: "DASignersProxy" });
  const signers = m.contractAt("DASigners", signersProxy, { id: "DASigners" });

  const entranceImplementation = m.contract("DAEntrance", [signers], { id: "DAEntranceImplementation" });
  const entranceInit = m.encodeFunctionCall(entranceImplementation, "initialize", [registry, params]);
  const entranceProxy = m.contract("ZgProxy", [entranceImplementation, entranceInit], {
    id: "DAEntranceProxy",
  });
  const entrance = m.contractAt("DAEntrance", entranceProxy, { id: "DAEntrance" });

  m.call(registry, "setModule", [encodeBytes32String(SIGNERS.name), signers, SIGNERS.version], {
    id: "RegisterDASigners",
  });
  const entranceName = encodeBytes32String(ENTRANCE.name);
  const registered = m.call(registry, "setModule", [entranceName, entrance, ENTRANCE.version], {
    id: "RegisterDAEntrance",
  });
  m.call(registry, "setSlasher", [entranceName, true], { id: "AuthorizeDAEntrance", after: [registered] });
  return { registry, signers, entrance };
});

import { workerDefinition } from "../../offchain/modules";

/** The oracle worker as `zg node oracle` runs it: every module's oracle service, composed from the module list. */
export function oracleWorker() {
  return workerDefinition("oracle");
}

import { composeWorker } from "../../offchain/core/worker";
import { inftOracleService } from "../../offchain/inft/oracle";
import { inferenceService } from "../../offchain/serving/oracle";

/** The oracle worker as `zg node oracle` runs it: the inference service, then the iNFT oracle service. */
export const oracleWorker = composeWorker("oracle", [inferenceService, inftOracleService]);

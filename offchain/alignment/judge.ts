import { receiptProblems, type Receipt } from "../serving/protocol";
import { reexecute } from "../serving/receipts";
import type { AlignmentClient, DisputeKind } from "./client";
import { checkPolicy } from "./policy";

/** What an alignment node concludes about one receipt. */
export interface Verdict {
  /** What the provider did wrong; absent when nothing was found. */
  fault?: { kind: DisputeKind; detail: string };
  /** Why the receipt could not be held against its provider, when it could not. */
  unattributable?: string;
}

/**
 * Judges a receipt the same way on every honest node: it counts only when the provider's registered signer
 * signed its statement (else nothing can be held against the provider); then a deterministic answer that
 * re-execution with the built-in engine contradicts is a REEXECUTION fault, and any rule of the policy (the
 * version given, else the current one) it breaks is a POLICY fault. A dispute is judged on its own claim only
 * (`claim`: the dispute's kind and policy version).
 */
export async function judge(
  client: AlignmentClient,
  receipt: Receipt,
  claim?: { kind: DisputeKind; policyVersion: number },
): Promise<Verdict> {
  const problems = receiptProblems(receipt);
  if (problems.length > 0) return { unattributable: problems.join("; ") };
  const service = await client.serving.service(receipt.provider);
  if (service.signer.toLowerCase() !== receipt.signer.toLowerCase())
    return {
      unattributable: `signed by ${receipt.signer}, not the provider's registered signer ${service.signer}`,
    };
  if (receipt.deterministic && claim?.kind !== "POLICY") {
    const replay = await reexecute(receipt);
    if (replay.status === "mismatch") return { fault: { kind: "REEXECUTION", detail: replay.detail } };
  }
  const policy =
    claim?.kind === "REEXECUTION" ? undefined : await client.policy(claim?.policyVersion || undefined);
  if (policy) {
    const violations = checkPolicy(policy, {
      request: receipt.request,
      response: receipt.response.content,
      outputTokens: receipt.outputTokens,
    });
    if (violations.length > 0)
      return {
        fault: { kind: "POLICY", detail: violations.map((v) => `${v.rule}: ${v.detail}`).join("; ") },
      };
  }
  return {};
}

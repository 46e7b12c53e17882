import type { Command } from "commander";
import { action, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";

/** What the progress bar calls each phase of a submission or download. */
const PHASES: Record<string, string> = {
  encode: "encoding cells",
  submit: "submitting",
  disperse: "dispersing",
  attest: "attesting",
  download: "recovering blobs",
};

/** `zg da`: submit a payload, read it back, sample it as a light client, and show its status. */
export function registerDACommands(program: Command): void {
  const da = program
    .command("da")
    .description("data availability: submit, get, sample and status of payloads");

  async function withDA(
    options: GlobalOptions,
    requireKey: boolean,
    body: (client: import("./client").DAClient) => Promise<void>,
  ) {
    const { DAClient } = await import("./client");
    await withChain(options, requireKey, async (chain) => body(await DAClient.connect(chain)));
  }

  da.command("submit <file>")
    .description("encode a file into blobs with cell proofs, pay, disperse to the epoch's signers and attest")
    .action(
      action(async (options, file: string) => {
        const { readFile } = await import("node:fs/promises");
        const { requireFile } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const { progressBar } = await import("../core/cli/progress");
        const data = await readFile(requireFile(file));
        await withDA(options, true, async (client) => {
          const bar = progressBar(Boolean(options.json), PHASES);
          const result = await client.submit(data, { onProgress: bar.update }).finally(bar.done);
          printResult(Boolean(options.json), result, () =>
            table([
              ["id", result.id],
              ["size", `${result.length} bytes in ${result.blobs} blob(s)`],
              ["epoch", String(result.epoch)],
              [
                "signed",
                `${result.signed.length} of ${result.signed.length + result.missing.length} signers`,
              ],
              ...result.missing.map((m): [string, string] => [`missing ${m.operator}`, m.reason]),
              ["paid", result.submitted ? "yes" : "no (already submitted: resumed)"],
              ["attested", result.attested ? "yes" : "already"],
            ]),
          );
        });
      }),
    );

  da.command("get <id> <out>")
    .description("read a payload back from any half of each blob's cells, every cell verified")
    .action(
      action(async (options, id: string, out: string) => {
        const { writeFile } = await import("node:fs/promises");
        const { parseHash, requireNewFile } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const { progressBar } = await import("../core/cli/progress");
        const hash = parseHash(id, "id");
        requireNewFile(out);
        await withDA(options, false, async (client) => {
          const bar = progressBar(Boolean(options.json), PHASES);
          const data = await client.get(hash, { onProgress: bar.update }).finally(bar.done);
          await writeFile(out, data);
          printResult(
            Boolean(options.json),
            { id: hash, out, size: data.length },
            () =>
              `wrote ${data.length} bytes to ${out}; every cell verified against the on-chain commitments`,
          );
        });
      }),
    );

  da.command("sample <id>")
    .description("check a payload's availability as a light client: random cells, each verified")
    .option("--samples <n>", "random cells per blob (confidence 1 − 2^−n)", "16")
    .action(
      action(async (options, id: string) => {
        const { parseCount, parseHash } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const hash = parseHash(id, "id");
        const samples = parseCount((options as GlobalOptions & { samples: string }).samples, "--samples");
        await withDA(options, false, async (client) => {
          const report = await client.sample(hash, { samples });
          const failures = report.failures.map((f) => ({
            blob: f.blob,
            cell: f.cell,
            signer: f.signer.operator,
            reason: f.reason,
          }));
          printResult(Boolean(options.json), { ...report, failures }, () =>
            table([
              ["id", report.id],
              ["blobs", String(report.verified.length)],
              ["cells verified", report.verified.map((cells) => cells.length).join(", ")],
              ["confidence", formatConfidence(report.confidence)],
              ...failures.map((f): [string, string] => [
                `failed ${f.signer}`,
                `blob ${f.blob} cell ${f.cell}: ${f.reason}`,
              ]),
            ]),
          );
          if (report.confidence === 0) process.exitCode = 1;
        });
      }),
    );

  da.command("status <id>")
    .description("a payload's on-chain record: size, fee, attestation and its signers")
    .action(
      action(async (options, id: string) => {
        const { parseHash } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const { formatEther } = await import("ethers");
        const hash = parseHash(id, "id");
        await withDA(options, false, async (client) => {
          const info = await client.payload(hash);
          const attestation = info.attestation;
          const set = attestation ? await client.epoch(attestation.epoch) : undefined;
          const status = {
            id: info.id,
            submitter: info.submitter,
            blobs: info.blobs,
            length: info.length,
            fee: info.fee,
            submittedBlock: info.submittedBlock,
            attested: attestation !== undefined,
            epoch: attestation?.epoch ?? null,
            attestedBlock: attestation?.block ?? null,
            signers:
              set?.signers.filter((s) => !attestation?.nonSigners.includes(s.index)).map((s) => s.operator) ??
              [],
            nonSigners:
              set?.signers.filter((s) => attestation?.nonSigners.includes(s.index)).map((s) => s.operator) ??
              [],
          };
          printResult(Boolean(options.json), status, () =>
            table([
              ["id", status.id],
              ["size", `${status.length} bytes in ${status.blobs} blob(s)`],
              ["fee", `${formatEther(status.fee)} (block ${status.submittedBlock}, by ${status.submitter})`],
              [
                "attested",
                attestation
                  ? `yes, epoch ${attestation.epoch}, block ${attestation.block}, ${status.signers.length} signer(s), ${status.nonSigners.length} did not sign`
                  : "not yet",
              ],
            ]),
          );
        });
      }),
    );
}

/** A confidence as a percentage with enough nines to tell it from 100 %. */
function formatConfidence(confidence: number): string {
  if (confidence === 0) return "0 % (a sampled cell could not be verified from any signer)";
  const missing = 1 - confidence;
  const digits = Math.max(2, Math.ceil(-Math.log10(missing)) - 1);
  return `${(confidence * 100).toFixed(digits)} % (1 − 2^−${Math.round(-Math.log2(missing))})`;
}

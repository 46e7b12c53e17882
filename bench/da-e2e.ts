import { randomBytes } from "node:crypto";
import { connectDevnet } from "../offchain/devnet/accounts";
import { DAClient } from "../offchain/da/client";
import { BLOB_PAYLOAD_BYTES } from "../offchain/da/types";
import { startBenchDevnet } from "./devnet-run";
import { percentile, type Figure } from "./figure";

/** One-blob payloads timed for the attestation latency. */
const LATENCY_SAMPLES = 20;

/**
 * DA end to end on a devnet (4 DA nodes): `DAClient.submit` of a 4 MiB payload from encoding to the on-chain
 * attestation (MB/s), attestation latency of one-blob payloads (p50, p99), and a light client's sampling rate
 * (cells fetched over HTTP and verified per second).
 */
export async function daEndToEnd(): Promise<Figure[]> {
  const devnet = await startBenchDevnet();
  const chain = await connectDevnet(
    devnet.state.rpcUrl,
    devnet.state.deployment.registry,
    devnet.state.user.privateKey,
  );
  try {
    const client = await DAClient.connect(chain);
    const big = randomBytes(4 << 20);
    let started = process.hrtime.bigint();
    const submitted = await client.submit(big);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;

    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const payload = randomBytes(BLOB_PAYLOAD_BYTES - 1);
      started = process.hrtime.bigint();
      await client.submit(payload);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    const info = await client.payload(submitted.id);
    started = process.hrtime.bigint();
    const report = await client.sample(submitted.id, { samples: 16, info });
    const sampleSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cells = report.verified.reduce((sum, verified) => sum + verified.length, 0);
    return [
      {
        name: "da-e2e-submit-4mib",
        value: Math.round((big.length / 1e6 / seconds) * 100) / 100,
        unit: "MB/s",
      },
      { name: "da-e2e-submit-4mib-time", value: Math.round(seconds * 10) / 10, unit: "s" },
      { name: "da-e2e-attestation-1-blob-p50", value: Math.round(percentile(latencies, 50)), unit: "ms" },
      { name: "da-e2e-attestation-1-blob-p99", value: Math.round(percentile(latencies, 99)), unit: "ms" },
      { name: "da-sampler-cells-per-second", value: Math.round(cells / sampleSeconds), unit: "cells/s" },
    ];
  } finally {
    chain.destroy();
    await devnet.stop();
  }
}

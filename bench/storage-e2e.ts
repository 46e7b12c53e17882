/**
 * End-to-end storage throughput on the devnet layout: six storage nodes (separate processes, as operators run
 * them: four quarter shards and two half shards) on the in-process Hardhat chain served over JSON-RPC. Files of
 * 1 MiB, 64 MiB and 1 GiB, random and on disk, are uploaded with `zg storage upload` (plain, then with
 * `--ec 4+2`) and downloaded with `zg storage download`, each a client process of its own, as a user runs it:
 * MB/s are over the time the client reports for the upload or download itself (its phases), and its peak RSS
 * is the kernel's high-water mark (VmHWM) sampled from /proc while it runs. The anchor is the official 0G TS
 * SDK 1.2.8, unmodified, run the same way (docs/examples/0g-sdk-user.mjs: Indexer.upload and an unverified
 * Indexer.download), timed over its own calls.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther } from "ethers";
import type {} from "@nomicfoundation/hardhat-ethers/internal/type-extensions";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deployProfile } from "../deploy/deploy-profile";
import { devAccount } from "../offchain/devnet/accounts";
import { freePort, waitForHttp } from "../offchain/devnet/devnet";
import type { DownloadResult, UploadResult } from "../offchain/storage/client";
import { DEVNET_NODE_CONFIG, DEVNET_NODES } from "../offchain/storage/module";
import { NodeStaking__factory } from "../typechain-types";
import type { Figure } from "./figure";

const MiB = 1 << 20;
const ALL_SIZES: { label: string; bytes: number }[] = [
  { label: "1MiB", bytes: MiB },
  { label: "64MiB", bytes: 64 * MiB },
  { label: "1GiB", bytes: 1024 * MiB },
];
/** `ZG_BENCH_STORAGE_SIZES=64MiB` (comma-separated labels) measures only those sizes, e.g. while profiling. */
const SIZES = process.env.ZG_BENCH_STORAGE_SIZES
  ? ALL_SIZES.filter(({ label }) => process.env.ZG_BENCH_STORAGE_SIZES!.split(",").includes(label))
  : ALL_SIZES;
/** The size whose figures keep the names this bench used when it measured 64 MiB alone. */
const CLASSIC = "64MiB";
/**
 * The SDK uploads up to this size: it hashes at about 18 MB/s and uploads at 3–4 MB/s here (bench/RESULTS.md), so
 * a 1 GiB upload of its own would add five minutes to every run and tell nothing the 64 MiB one does not.
 */
const SDK_UPLOAD_MAX = 64 * MiB;
/** `ZG_BENCH_PROFILE=<dir>` writes a CPU profile of every node and client process into that directory. */
const PROFILE = process.env.ZG_BENCH_PROFILE
  ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.ZG_BENCH_PROFILE)}`]
  : [];
const ZG = path.join(__dirname, "..", "bin", "zg.js");
const SDK_USER = path.join(__dirname, "..", "docs", "examples", "0g-sdk-user.mjs");
const SDK = "0G TS SDK 1.2.8";

interface Child {
  stdout: string;
  /** CPU seconds (user + system) the process had used at its last sample. */
  cpuSeconds: number;
  /** The most resident memory the process ever had (VmHWM), in MiB. */
  peakRssMiB: number;
}

/** Runs `node args…` to completion, sampling its VmHWM; a failure throws with the end of its stderr. */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...PROFILE, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peakKiB = 0;
    let cpuSeconds = 0;
    const sample = () => {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (match) peakKiB = Math.max(peakKiB, Number(match[1]));
        cpuSeconds = cpuSecondsOf(child.pid!);
      } catch {
        // the process has exited between two samples
      }
    };
    const timer = setInterval(sample, 10);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code === 0) resolve({ stdout, cpuSeconds, peakRssMiB: Math.round(peakKiB / 1024) });
      else reject(new Error(`${path.basename(args[0])} ${args[1]} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** The CPU seconds (user + system, all threads) a running process has used, from /proc/<pid>/stat. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A random file of `bytes`, written 16 MiB at a time. */
function randomFile(file: string, bytes: number): void {
  const fd = openSync(file, "w");
  try {
    for (let written = 0; written < bytes; written += 16 * MiB) {
      const chunk = randomBytes(Math.min(16 * MiB, bytes - written));
      writeFileSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}

/** Whether two files hold the same bytes, compared 16 MiB at a time. */
function sameFiles(a: string, b: string): boolean {
  const [fa, fb] = [openSync(a, "r"), openSync(b, "r")];
  const [ba, bb] = [Buffer.alloc(16 * MiB), Buffer.alloc(16 * MiB)];
  try {
    for (;;) {
      const [na, nb] = [readSync(fa, ba), readSync(fb, bb)];
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

const round = (value: number) => Math.round(value * 10) / 10;
/** Phases in seconds, for the log. */
const phasesOf = (phases: UploadResult["phases"] | DownloadResult["phases"]) =>
  Object.entries(phases)
    .map(([phase, ms]) => `${phase} ${round(ms / 1000)}`)
    .join(", ");
const mbPerSecond = (bytes: number, ms: number) => round(bytes / 1e6 / (ms / 1000));

export async function storageThroughput(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "zg-bench-e2e-"));
  process.env.ZG_DEPLOYMENTS_DIR = dir;
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const rpcUrl = `http://127.0.0.1:${(await server.listen()).port}`;
  const nodes: ChildProcess[] = [];
  const urls: string[] = [];
  const say = (line: string) => process.stdout.write(`    ${line}\n`);
  try {
    const record = await deployProfile(hre, "no-token", path.join(dir, "31337.json"));
    const [governance] = await hre.ethers.getSigners();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, governance);
    for (const [n, { shard }] of DEVNET_NODES.entries()) {
      const operator = devAccount(200 + n);
      await (await governance.sendTransaction({ to: operator.address, value: parseEther("1") })).wait();
      await (await staking.setAdmitted(operator.address, 0, true)).wait();
      await (await staking.connect(operator.connect(hre.ethers.provider)).stake(0)).wait();
      const port = await freePort();
      const config = path.join(dir, `node-${n}.json`);
      urls.push(`http://127.0.0.1:${port}`);
      writeFileSync(
        config,
        JSON.stringify({
          rpcUrl,
          registry: record.registry,
          privateKey: operator.privateKey,
          dataDir: path.join(dir, `node-${n}`),
          http: { host: "127.0.0.1", port },
          confirmations: 0,
          pollIntervalMs: 100,
          startBlock: record.startBlock,
          ...DEVNET_NODE_CONFIG,
          shard,
          publicUrl: urls[n],
          logLevel: "warn",
        }),
      );
      nodes.push(
        spawn(process.execPath, [...PROFILE, ZG, "node", "storage", "--config", config], { stdio: "ignore" }),
      );
      await waitForHttp(`${urls[n]}/health`);
    }
    const user = devAccount(210);
    const sdkUser = devAccount(211);
    for (const account of [user, sdkUser])
      await (await governance.sendTransaction({ to: account.address, value: parseEther("100") })).wait();
    // The clients' home (keys, and the node directory the last command read: see DirectoryCache).
    const home = path.join(dir, "home");
    const env = { ...process.env, ZG_HOME: home };
    const zg = (...args: string[]) =>
      runNode(
        [
          ZG,
          "--rpc",
          rpcUrl,
          "--registry",
          record.registry,
          "--private-key",
          user.privateKey,
          "--json",
          ...args,
        ],
        env,
      );
    /** Runs a `zg` client and says where the machine's CPU went meanwhile: the client, the nodes, the chain. */
    const zgAccounted = async (...args: string[]) => {
      const nodesBefore = nodes.reduce((sum, node) => sum + cpuSecondsOf(node.pid!), 0);
      const chainBefore = process.cpuUsage();
      const child = await zg(...args);
      const nodesCpu = nodes.reduce((sum, node) => sum + cpuSecondsOf(node.pid!), 0) - nodesBefore;
      const chain = process.cpuUsage(chainBefore);
      const chainCpu = (chain.user + chain.system) / 1e6;
      return {
        ...child,
        cpu: `CPU s: client ${round(child.cpuSeconds)}, nodes ${round(nodesCpu)}, chain ${round(chainCpu)}`,
      };
    };
    const sdk = (...args: string[]) =>
      runNode([SDK_USER, ...args], { ...env, ZG_SDK_PRIVATE_KEY: sdkUser.privateKey });

    const figures: Figure[] = [];
    for (const { label, bytes } of SIZES) {
      const name = (what: string, suffix = "") =>
        `storage-${what}-6-nodes${label === CLASSIC ? "" : `-${label}`}${suffix}`;
      const file = path.join(dir, `file-${label}`);
      randomFile(file, bytes);
      // The anchor first: the SDK uploads its own copy (another account, so that the roots' log entries differ).
      let sdkUpload: Figure["anchor"];
      if (bytes <= SDK_UPLOAD_MAX) {
        const sdkFile = path.join(dir, `sdk-file-${label}`);
        randomFile(sdkFile, bytes);
        const sdkUp = JSON.parse((await sdk("upload", sdkFile, urls[0], rpcUrl)).stdout) as {
          seconds: number;
        };
        rmSync(sdkFile);
        sdkUpload = {
          name: `${SDK} Indexer.upload`,
          value: mbPerSecond(bytes, sdkUp.seconds * 1000),
          unit: "MB/s",
        };
        say(`${label}: SDK upload ${sdkUpload.value} MB/s`);
      }
      const uploadMBs: number[] = [];
      for (const ec of [false, true]) {
        const suffix = ec ? "-ec-4+2" : "";
        const up = await zgAccounted("storage", "upload", file, ...(ec ? ["--ec", "4+2"] : []));
        const uploaded = JSON.parse(up.stdout) as UploadResult;
        const upMBs = mbPerSecond(bytes, uploaded.phases.elapsed);
        uploadMBs.push(upMBs);
        say(
          `${label}${suffix}: upload ${upMBs} MB/s, peak RSS ${up.peakRssMiB} MiB, ${up.cpu}, phases ${phasesOf(uploaded.phases)}${uploaded.parity ? `, parity phases ${phasesOf(uploaded.parity.phases)}` : ""}`,
        );
        const out = path.join(dir, `out-${label}${suffix}`);
        const down = await zgAccounted("storage", "download", uploaded.root, out);
        const downloaded = JSON.parse(down.stdout) as DownloadResult;
        if (!sameFiles(file, out)) throw new Error(`the downloaded ${label} file differs`);
        rmSync(out);
        const downMBs = mbPerSecond(bytes, downloaded.phases.elapsed);
        say(
          `${label}${suffix}: download ${downMBs} MB/s, peak RSS ${down.peakRssMiB} MiB, ${down.cpu}, phases ${phasesOf(downloaded.phases)}`,
        );
        // A small file's download is mostly finding it: measured once more without the directory the upload left in
        // the client's home, as a first command on a machine (it reads NodeStaking first).
        if (label === "1MiB" && !ec) {
          rmSync(path.join(home, "storage-nodes"), { recursive: true, force: true });
          const cold = await zgAccounted("storage", "download", uploaded.root, out);
          if (!sameFiles(file, out)) throw new Error(`the downloaded ${label} file differs`);
          rmSync(out);
          const coldMBs = mbPerSecond(bytes, (JSON.parse(cold.stdout) as DownloadResult).phases.elapsed);
          say(`${label}: download without a cached directory ${coldMBs} MB/s`);
          figures.push({
            name: name("download", "-no-cached-directory"),
            value: coldMBs,
            unit: "MB/s (every proof checked)",
          });
        }
        // The SDK's download (it checks no proof) of the same file, once, from the plain upload.
        let sdkDownload: Figure["anchor"];
        if (!ec) {
          const sdkOut = path.join(dir, `sdk-out-${label}`);
          const sdkDown = JSON.parse((await sdk("download", uploaded.root, sdkOut, urls[0])).stdout) as {
            seconds: number;
          };
          if (!sameFiles(file, sdkOut)) throw new Error(`the SDK's downloaded ${label} file differs`);
          rmSync(sdkOut);
          sdkDownload = {
            name: `${SDK} Indexer.download (unverified)`,
            value: mbPerSecond(bytes, sdkDown.seconds * 1000),
            unit: "MB/s",
          };
          say(`${label}: SDK download ${sdkDownload.value} MB/s`);
          figures.push({
            name: `storage-download-vs-sdk${label === CLASSIC ? "" : `-${label}`}`,
            value: round(downMBs / sdkDownload.value),
            unit: "x (goal: at least 2)",
            anchor: { name: `${SDK} Indexer.download (unverified)`, value: 1, unit: "x" },
          });
        }
        figures.push(
          {
            name: name("upload", suffix),
            value: upMBs,
            unit: "MB/s",
            ...(ec || !sdkUpload ? {} : { anchor: sdkUpload }),
          },
          {
            name: name("download", suffix),
            value: downMBs,
            unit: "MB/s (every proof checked)",
            ...(sdkDownload ? { anchor: sdkDownload } : {}),
          },
        );
        if (label !== "1MiB") {
          const { hash, submit, logEntry, transfer, finality } = uploaded.phases;
          for (const [phase, ms] of Object.entries({ hash, submit, logEntry, transfer, finality }))
            figures.push({
              name: `storage-upload-${label}${suffix}-phase-${phase}`,
              value: round(ms / 1000),
              unit: "s",
            });
        }
        if (label === "1GiB") {
          figures.push(
            {
              name: `storage-client-peak-rss-upload-1GiB${suffix}`,
              value: up.peakRssMiB,
              unit: "MiB (goal: at most 286)",
            },
            {
              name: `storage-client-peak-rss-download-1GiB${suffix}`,
              value: down.peakRssMiB,
              unit: "MiB (goal: at most 286)",
            },
          );
        }
      }
      rmSync(file);
      figures.push({
        name: `storage-upload-parity-cost${label === CLASSIC ? "" : `-${label}`}`,
        value: round((1 - uploadMBs[1] / uploadMBs[0]) * 100),
        unit: "% of upload throughput (goal: under 25)",
      });
    }
    return figures;
  } finally {
    for (const node of nodes) node.kill("SIGTERM");
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise((resolve) => (node.exitCode !== null ? resolve(null) : node.once("exit", resolve))),
      ),
    );
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

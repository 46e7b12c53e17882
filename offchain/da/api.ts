import { getBytes, hexlify } from "ethers";
import { firstLine, ZgError } from "../core/errors";
import { requestJson } from "../core/http";
import { BYTES_PER_CELL, BYTES_PER_PROOF, type G1Point } from "./types";

/**
 * The DA node's HTTP API as its clients call it (docs/da.md, "Workers"): dispersal, signatures and cells. Every
 * call has a timeout and fails with a one-line error naming the node.
 */

const TIMEOUT_MS = 30_000;

/** A signer's answer to a signature request. */
export interface SignatureAnswer {
  signer: string;
  index: number;
  signature: G1Point;
}

/** One cell and its proof, as a node serves it. */
export interface ServedCell {
  cell: Uint8Array;
  proof: Uint8Array;
}

/** Cells and proofs packed for a PUT: the cells, then the proofs, in the order of their indices. */
export function packCells(cells: Uint8Array[], proofs: Uint8Array[]): Uint8Array {
  const body = new Uint8Array(cells.length * (BYTES_PER_CELL + BYTES_PER_PROOF));
  cells.forEach((cell, i) => body.set(cell, i * BYTES_PER_CELL));
  const proofsAt = cells.length * BYTES_PER_CELL;
  proofs.forEach((proof, i) => body.set(proof, proofsAt + i * BYTES_PER_PROOF));
  return body;
}

/** The inverse of `packCells` for `count` cells; undefined when the body has another size. */
export function unpackCells(
  body: Uint8Array,
  count: number,
): { cells: Uint8Array[]; proofs: Uint8Array[] } | undefined {
  if (body.length !== count * (BYTES_PER_CELL + BYTES_PER_PROOF)) return undefined;
  const proofsAt = count * BYTES_PER_CELL;
  return {
    cells: Array.from({ length: count }, (_, i) =>
      body.subarray(i * BYTES_PER_CELL, (i + 1) * BYTES_PER_CELL),
    ),
    proofs: Array.from({ length: count }, (_, i) =>
      body.subarray(proofsAt + i * BYTES_PER_PROOF, proofsAt + (i + 1) * BYTES_PER_PROOF),
    ),
  };
}

/** A DA node at `url`. */
export class DANodeApi {
  private readonly label: string;

  constructor(
    readonly url: string,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {
    this.url = url.replace(/\/+$/, "");
    this.label = `DA node ${this.url}`;
  }

  /** Hands the node a payload's commitments (it checks them against the chain). */
  async offer(id: string, commitments: Uint8Array, length: number): Promise<void> {
    await this.json("POST", `/v1/da/payloads/${id}`, { commitments: hexlify(commitments), length });
  }

  /** Sends the node its custody cells of one blob for `epoch`. */
  async putCells(id: string, blob: number, epoch: bigint, cells: Uint8Array[], proofs: Uint8Array[]) {
    const response = await this.binary("PUT", `/v1/da/payloads/${id}/blobs/${blob}?epoch=${epoch}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: packCells(cells, proofs),
    });
    await this.check(response);
  }

  /** Asks the node to sign the payload for `epoch` (it does only when it holds all its custody cells). */
  async signature(id: string, epoch: bigint): Promise<SignatureAnswer> {
    const answer = (await this.json("POST", `/v1/da/payloads/${id}/signature`, {
      epoch: epoch.toString(),
    })) as { signer: string; index: number; signature: { X: string; Y: string } };
    return {
      signer: answer.signer,
      index: answer.index,
      signature: { X: BigInt(answer.signature.X), Y: BigInt(answer.signature.Y) },
    };
  }

  /** One cell with its proof (an error when the node does not serve it). */
  async cell(id: string, blob: number, cell: number): Promise<ServedCell> {
    const answer = (await this.json("GET", `/v1/da/payloads/${id}/blobs/${blob}/cells/${cell}`)) as {
      cell: string;
      proof: string;
    };
    return { cell: getBytes(answer.cell), proof: getBytes(answer.proof) };
  }

  /** Every cell the node holds of one blob, with proofs: what a download reads. */
  async blobCells(
    id: string,
    blob: number,
  ): Promise<{ indices: number[]; cells: Uint8Array[]; proofs: Uint8Array[] }> {
    const response = await this.binary("GET", `/v1/da/payloads/${id}/blobs/${blob}`, {});
    await this.check(response);
    const indices = (response.headers.get("x-zg-cells") ?? "")
      .split(",")
      .filter((part) => part !== "")
      .map(Number);
    const unpacked = unpackCells(new Uint8Array(await response.arrayBuffer()), indices.length);
    if (!unpacked) throw new ZgError(`${this.label}: a malformed blob answer`, "NETWORK");
    return { indices, ...unpacked };
  }

  private json(method: string, route: string, body?: unknown): Promise<unknown> {
    return requestJson(
      `${this.url}${route}`,
      body === undefined
        ? { method }
        : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
      { label: this.label, timeoutMs: this.timeoutMs },
    );
  }

  private async binary(method: string, route: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${route}`, {
        ...init,
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ZgError(`cannot reach ${this.label}: ${firstLine(error)}`, "NETWORK", { cause: error });
    }
  }

  /** A one-line error for a failed answer, with the node's own message when it sent one. */
  private async check(response: Response): Promise<void> {
    if (response.ok) return;
    const text = await response.text();
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: its start says it
    }
    throw new ZgError(
      `${this.label} answered HTTP ${response.status}: ${message}`,
      response.status < 500 ? "BAD_INPUT" : "NETWORK",
    );
  }
}

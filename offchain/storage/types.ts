/**
 * The storage JSON-RPC shapes, as the 0G storage node serves them and the official 0G TS SDK reads them
 * (`zgs_*` methods). Hashes are 0x-prefixed hex, segment data is base64.
 */

export type { SegmentProof, SegmentWithProof, SubmissionNode } from "./merkle";

export interface Transaction {
  streamIds: string[];
  data: string;
  dataMerkleRoot: string;
  merkleNodes: [number, string][];
  startEntryIndex: number;
  size: number;
  seq: number;
}

export interface FileInfo {
  tx: Transaction;
  finalized: boolean;
  isCached: boolean;
  uploadedSegNum: number;
}

export interface ShardConfig {
  shardId: number;
  numShard: number;
}

export interface NodeStatus {
  connectedPeers: number;
  logSyncHeight: number;
  logSyncBlock: string;
  nextTxSeq: number;
  networkIdentity: {
    chainId: number;
    flowAddress: string;
    p2pProtocolVersion: { major: number; minor: number; build: number };
  };
}

/** A parity submission that protects a data root, as our nodes report it (`zg_getParity`). */
export interface ParityEntry {
  root: string;
  txSeq: number;
  k: number;
  m: number;
}

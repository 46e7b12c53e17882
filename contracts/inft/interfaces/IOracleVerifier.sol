// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";
import {IOracleProofs} from "./IOracleProofs.sol";

/**
 * @title IOracleVerifier
 * @notice An ERC-7857 data verifier for consumers other than zerog-stack's AgentNFT (which checks its own proofs):
 * EIP-712 signatures by the receiver (access proofs) and by an oracle active in NodeStaking's `ORACLE` role
 * (ownership proofs), new data recorded by the Flow, deadlines and single-use nonces, as `IOracleProofs` states
 * them, in the domain `{name: "zerog OracleVerifier", version: "1", chainId, verifyingContract: this}`. Only the
 * `TEE` oracle type is supported; the oracle's key stands in for the TEE.
 * @dev Nonces are kept per consumer (the contract that calls a `verify*` function) and per receiver, so a proof is
 * accepted once by each consumer and nobody can burn another consumer's nonces by calling the verifier first.
 */
interface IOracleVerifier is IERC7857DataVerifier, IOracleProofs {
    /// @notice Thrown when the constructor gets no registry.
    error OracleVerifierZeroAddress();

    /// @notice Emitted when a receiver invalidates some of its nonces for a consumer.
    event NoncesInvalidated(address indexed consumer, address indexed receiver, uint256 word, uint256 mask);

    /**
     * @notice Marks nonces of the caller (as a receiver) used for `consumer`, so that the proofs addressed to the
     * caller with them are refused (e.g. a receiver withdrawing its consent).
     * @param consumer The contract the proofs were meant for.
     * @param word The nonce word (`nonce >> 8`).
     * @param mask The bits (`1 << (nonce & 255)`) to mark.
     */
    function invalidateNonces(address consumer, uint256 word, uint256 mask) external;

    /// @notice The module registry where NodeStaking and the Flow are looked up.
    function registry() external view returns (address);

    /// @notice Word `word` of the used nonces of `receiver` for `consumer` (bit `n & 255` is nonce `n`).
    function nonceBitmap(address consumer, address receiver, uint256 word) external view returns (uint256);

    /// @notice Whether `receiver`'s nonce was used or invalidated for `consumer`.
    function isNonceUsed(address consumer, address receiver, uint256 nonce) external view returns (bool);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";
import {IERC7857} from "./IERC7857.sol";
import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";
import {IOracleProofs} from "./IOracleProofs.sol";

/**
 * @title IAgentNFT
 * @notice zerog-stack's ERC-7857 agent token: each token is an AI agent whose data entries (model, memory, …) are
 * encrypted blobs in the storage log. The token checks its proofs itself (`IOracleProofs`: EIP-712 typed data in
 * its own domain, `{name: "zerog AgentNFT", version: "1", chainId, verifyingContract: this}`, and receivers' nonces
 * it keeps): the oracle must be active in NodeStaking's `ORACLE` role and every new data hash must be a submission
 * recorded by the Flow, both looked up in the registry at call time. Unlike the ERC draft there is no `verifier()`:
 * the same checks are available to other consumers as the `OracleVerifier` module.
 *
 * Unlike 0G's reference, a transfer or a clone rotates the data: the oracle re-encrypts every entry under a fresh
 * key, so each proof's `newDataHash` differs from the entry's current hash, and the previous owner's key opens
 * nothing the new owner receives. Plain ERC-721 transfers revert while a token holds data.
 */
interface IAgentNFT is IERC7857, IOracleProofs, IRegistryGoverned {
    /// @notice Thrown when the caller is not governance (the registry owner).
    error AgentNFTNotGovernance(address caller);
    /// @notice Thrown when a zero address is given where an account or contract is needed.
    error AgentNFTZeroAddress();
    /// @notice Thrown when a plain ERC-721 transfer moves a token that holds data (use `iTransferFrom`).
    error AgentNFTIntelligentToken(uint256 tokenId);
    /// @notice Thrown when the caller must be the token's owner and is not.
    error AgentNFTNotTokenOwner(uint256 tokenId, address caller);
    /// @notice Thrown when `msg.value` is not the mint fee.
    /// @param required The mint fee.
    /// @param paid `msg.value`.
    error AgentNFTFeeMismatch(uint256 required, uint256 paid);
    /// @notice Thrown when the number of proofs is not the number of data entries they must cover.
    error AgentNFTProofCountMismatch(uint256 expected, uint256 given);
    /// @notice Thrown when a token would hold more than `MAX_DATA_ENTRIES` entries.
    error AgentNFTTooManyEntries(uint256 count, uint256 max);
    /// @notice Thrown when `update` gets no entry.
    error AgentNFTEmptyUpdate();
    /// @notice Thrown when a proof's old hash is not the data the token holds (zero at mint).
    /// @param index The proof's position.
    /// @param expected The token's hash (zero for a new entry).
    /// @param proven The proof's `oldDataHash`.
    error AgentNFTDataHashMismatch(uint256 index, bytes32 expected, bytes32 proven);
    /// @notice Thrown when an update's old hash names no entry of the token.
    error AgentNFTUnknownDataHash(uint256 index, bytes32 dataHash);
    /// @notice Thrown when a declared entry's hash is not the proof's new hash.
    /// @param index The entry's position.
    /// @param declared The entry's `dataHash`.
    /// @param proven The proof's `newDataHash`.
    error AgentNFTNewDataHashMismatch(uint256 index, bytes32 declared, bytes32 proven);
    /// @notice Thrown when a proof's key is not the receiver's (its `targetPubkey` derives another address).
    error AgentNFTReceiverMismatch(uint256 index, address expected, address keyHolder);
    /// @notice Thrown when an access proof is signed by neither the receiver nor the receiver's delegate.
    error AgentNFTAccessSignerMismatch(uint256 index, address receiver, address signer);
    /// @notice Thrown when authorizing a zero address.
    error AgentNFTInvalidUser(address user);
    /// @notice Thrown when authorizing a user already authorized.
    error AgentNFTAlreadyAuthorized(uint256 tokenId, address user);
    /// @notice Thrown when revoking a user that is not authorized.
    error AgentNFTNotAuthorized(uint256 tokenId, address user);
    /// @notice Thrown when a token would have more than `MAX_AUTHORIZED_USERS` authorized users.
    error AgentNFTTooManyAuthorizedUsers(uint256 tokenId, uint256 max);
    /// @notice Thrown when a mint fee does not fit in 128 bits.
    error AgentNFTFeeTooHigh(uint256 fee);
    /// @notice Thrown when there are no fees to withdraw.
    error AgentNFTNothingToWithdraw();
    /// @notice Thrown when fees cannot be sent.
    error AgentNFTTransferFailed(address to, uint256 amount);

    /// @notice Emitted when governance sets the mint fee (also at initialization).
    event MintFeeSet(uint256 fee);
    /// @notice Emitted when governance withdraws the collected fees.
    event FeesWithdrawn(address indexed to, uint256 amount);
    /// @notice Emitted when a receiver invalidates some of its nonces.
    event NoncesInvalidated(address indexed receiver, uint256 word, uint256 mask);

    /**
     * @notice Mints a token to `to` with the given data entries. `msg.value` must be the mint fee.
     * @param to The owner; the proofs seal the data keys to its public key.
     * @param datas The entries, in order (may be empty: a token without data is a plain ERC-721 until `update`).
     * @param proofs One oracle attestation per entry: `oldDataHash` zero, `newDataHash` the entry's hash.
     * @return tokenId The new token (ids start at 1).
     */
    function mint(
        address to,
        IntelligentData[] calldata datas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) external payable returns (uint256 tokenId);

    /**
     * @notice Marks nonces of the caller (as a receiver) used, so that the proofs addressed to the caller with them
     * are refused (e.g. a receiver withdrawing its consent).
     * @param word The nonce word (`nonce >> 8`).
     * @param mask The bits (`1 << (nonce & 255)`) to mark.
     */
    function invalidateNonces(uint256 word, uint256 mask) external;

    /// @notice Governance: sets the fee of `mint` and `iCloneFrom` (wei; zero for none).
    function setMintFee(uint256 fee) external;

    /// @notice Governance: sends every collected fee to `to`.
    function withdrawFees(address to) external;

    /// @notice The fee of `mint` and `iCloneFrom`, in wei.
    function mintFee() external view returns (uint256);

    /// @notice The number of tokens minted so far (cloned ones included); the last id.
    function totalMinted() external view returns (uint256);

    /// @notice Word `word` of the used nonces of `receiver` (bit `n & 255` is nonce `n`).
    function nonceBitmap(address receiver, uint256 word) external view returns (uint256);

    /// @notice Whether `receiver`'s nonce was used or invalidated.
    function isNonceUsed(address receiver, uint256 nonce) external view returns (bool);

    /// @notice Whether the current owner authorized `user` to use the token.
    function isAuthorizedUser(uint256 tokenId, address user) external view returns (bool);

    /// @notice The most data entries a token holds.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_DATA_ENTRIES() external view returns (uint256);

    /// @notice The most users a token's owner can authorize at a time.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_AUTHORIZED_USERS() external view returns (uint256);
}

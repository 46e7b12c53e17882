// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IERC7857DataVerifier} from "./interfaces/IERC7857DataVerifier.sol";
import {IOracleProofs} from "./interfaces/IOracleProofs.sol";
import {IOracleVerifier} from "./interfaces/IOracleVerifier.sol";
import {OracleProofs} from "./libraries/OracleProofs.sol";

/**
 * @title OracleVerifier
 * @notice The ERC-7857 data verifier for consumers other than zerog-stack's AgentNFT (which checks its own proofs
 * with the same `OracleProofs` library): checks access and ownership proofs signed in this contract's EIP-712
 * domain, consuming receivers' nonces per consumer (see `IOracleVerifier`).
 * @dev Not upgradeable: its only state is the nonces, and they are bound to this contract's EIP-712 domain
 * (`verifyingContract`), so a replacement registered under "OracleVerifier" starts with fresh nonces and every
 * proof signed for this one is void there. The registry and the domain separator are immutables.
 * Invariants:
 * - a (consumer, receiver, nonce) is accepted at most once: its bit is set when accepted and never cleared;
 * - every accepted proof had `block.timestamp <= deadline <= block.timestamp + MAX_PROOF_VALIDITY`, an oracle type
 *   of `TEE`, a non-zero `newDataHash` different from `oldDataHash` and recorded by the
 *   Flow, and an ownership signature by an account active in the `ORACLE` role at that moment.
 */
contract OracleVerifier is IOracleVerifier, EIP712 {
    using OracleProofs for OracleProofs.Nonces;

    /// @inheritdoc IOracleProofs
    uint256 public constant MAX_PROOF_VALIDITY = OracleProofs.MAX_PROOF_VALIDITY;

    IModuleRegistry private immutable _REGISTRY;

    mapping(address consumer => OracleProofs.Nonces) private _nonces;

    /// @param registry_ The module registry where "NodeStaking" and "Flow" are looked up.
    constructor(address registry_) EIP712("zerog OracleVerifier", "1") {
        if (registry_ == address(0)) revert OracleVerifierZeroAddress();
        _REGISTRY = IModuleRegistry(registry_);
    }

    // ─── Verification ─────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IERC7857DataVerifier
    function verifyOwnership(
        OwnershipProof[] calldata proofs
    ) external returns (OwnershipProofOutput[] memory outputs) {
        uint256 count = proofs.length;
        outputs = new OwnershipProofOutput[](count);
        if (count == 0) return outputs;
        OracleProofs.Context memory ctx = OracleProofs.context(_REGISTRY, _domainSeparatorV4());
        OracleProofs.Nonces storage nonces = _nonces[msg.sender];
        for (uint256 i = 0; i < count; ++i) {
            OwnershipProof calldata proof = proofs[i];
            (address receiver, address oracle) = OracleProofs.verifyOwnership(ctx, nonces, i, proof);
            outputs[i] = OwnershipProofOutput(proof.oldDataHash, proof.newDataHash, receiver, oracle);
        }
    }

    /// @inheritdoc IERC7857DataVerifier
    function verifyTransferValidity(
        TransferValidityProof[] calldata proofs
    ) external returns (TransferValidityProofOutput[] memory outputs) {
        uint256 count = proofs.length;
        outputs = new TransferValidityProofOutput[](count);
        if (count == 0) return outputs;
        OracleProofs.Context memory ctx = OracleProofs.context(_REGISTRY, _domainSeparatorV4());
        OracleProofs.Nonces storage nonces = _nonces[msg.sender];
        for (uint256 i = 0; i < count; ++i) {
            (address receiver, address accessSigner, address oracle) = OracleProofs.verifyTransfer(
                ctx,
                nonces,
                i,
                proofs[i]
            );
            OwnershipProof calldata ownership = proofs[i].ownershipProof;
            outputs[i] = TransferValidityProofOutput(
                ownership.oldDataHash,
                ownership.newDataHash,
                receiver,
                accessSigner,
                oracle
            );
        }
    }

    // ─── Nonces ───────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOracleVerifier
    function invalidateNonces(address consumer, uint256 word, uint256 mask) external {
        _nonces[consumer].words[msg.sender][word] |= mask;
        emit NoncesInvalidated(consumer, msg.sender, word, mask);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOracleVerifier
    function registry() external view returns (address) {
        return address(_REGISTRY);
    }

    /// @inheritdoc IOracleVerifier
    function nonceBitmap(address consumer, address receiver, uint256 word) external view returns (uint256) {
        return _nonces[consumer].words[receiver][word];
    }

    /// @inheritdoc IOracleVerifier
    function isNonceUsed(address consumer, address receiver, uint256 nonce) external view returns (bool) {
        return _nonces[consumer].isNonceUsed(receiver, nonce);
    }

    /// @inheritdoc IOracleProofs
    function accessProofDigest(
        bytes32 dataHash,
        bytes32 targetPubkeyHash,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return OracleProofs.accessDigest(_domainSeparatorV4(), dataHash, targetPubkeyHash, nonce, deadline);
    }

    /// @inheritdoc IOracleProofs
    function ownershipProofDigest(OwnershipProof calldata proof) external view returns (bytes32) {
        return OracleProofs.ownershipDigest(_domainSeparatorV4(), proof);
    }
}

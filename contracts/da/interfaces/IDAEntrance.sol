// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";
import {BN254} from "../libraries/BN254.sol";
import {IDASigners} from "./IDASigners.sol";

/**
 * @title IDAEntrance
 * @notice Where DA payloads are submitted, attested and challenged (docs/da.md, "Contracts").
 *
 * A payload is its blobs' 48-byte KZG commitments and its byte length; its id is
 * `keccak256(abi.encodePacked(commitments, uint64 length))`. `submit` records it and takes `feePerBlob` per blob.
 * `attest` records it as available once the epoch's signers holding ≥ 2/3 of the weight signed
 * `keccak256(abi.encode("zerog-stack DA attestation", chainid, this, id, epoch))` (an aggregate BN254 BLS
 * signature, checked against the epoch's aggregate key minus the non-signers'). Signers then claim the fee pro
 * rata to weight; an unattested payload is refunded after `attestWindow` blocks.
 *
 * Availability challenges: within `challengeWindow` blocks of the attestation, anyone (in PERMISSIONED staking
 * mode: an active operator of any role) may challenge one signer that signed, for one blob, posting
 * `challengeBond`; at most one challenge per (payload, signer) ever. The signer answers within `responseWindow`
 * blocks with the blob polynomial's value at `challengePoint` and its KZG opening (precompile 0x0a) and takes the
 * bond; unanswered, `slashUnanswered` has NodeStaking slash it (jail in PERMISSIONED mode), the challenger gets
 * the reporter share and its bond back (credited, see `withdraw`).
 */
interface IDAEntrance is IRegistryGoverned {
    /// @notice Governance parameters.
    /// @param feePerBlob Wei per blob paid at submission.
    /// @param attestWindow Blocks after submission within which a payload can be attested (then refunded).
    /// @param challengeWindow Blocks after attestation within which its signers can be challenged.
    /// @param responseWindow Blocks a challenged signer has to answer (2 to 255).
    /// @param challengeBond Wei a challenger posts.
    /// @param slashAmount Wei NodeStaking takes from a signer that did not answer.
    struct Params {
        uint96 feePerBlob;
        uint32 attestWindow;
        uint32 challengeWindow;
        uint16 responseWindow;
        uint96 challengeBond;
        uint128 slashAmount;
    }

    /// @notice A payload's state.
    /// @param blobs Its number of blobs (0: unknown payload).
    /// @param fee The fee paid and not refunded.
    /// @param attestDeadline Last block at which it can be attested.
    /// @param epoch The epoch it was attested in.
    /// @param attestedAt The block it was attested at.
    /// @param nonSignerBitmap Who did not sign its attestation (bit k: signer k of `epoch`).
    /// @param submitter Who paid it (zero once attested).
    /// @param attested Whether it is attested; then `epoch`, `attestedAt` and `nonSignerBitmap` are set.
    /// @param refunded Whether its fee was refunded.
    struct PayloadInfo {
        uint256 blobs;
        uint256 fee;
        uint256 attestDeadline;
        uint256 epoch;
        uint256 attestedAt;
        uint256 nonSignerBitmap;
        address submitter;
        bool attested;
        bool refunded;
    }

    /// @notice The state of a challenge.
    enum ChallengeStatus {
        NONE,
        OPEN,
        ANSWERED,
        SLASHED
    }

    /// @notice One challenge, as `challengeOf` returns it.
    struct Challenge {
        ChallengeStatus status;
        address challenger;
        uint256 bond;
        uint256 challengeBlock;
        uint256 deadline;
        bytes32 versionedHash;
    }

    /// @notice Thrown when `initialize` is given no registry.
    error DAZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error DANotGovernance(address caller);
    /// @notice Thrown when `attestWindow` or `challengeWindow` is 0.
    error DAInvalidWindow(uint256 window);
    /// @notice Thrown when `responseWindow` is out of `[2, 255]`.
    error DAInvalidResponseWindow(uint256 responseWindow);
    /// @notice Thrown when the commitments are not 1 to 256 whole 48-byte commitments.
    error DAInvalidCommitments(uint256 byteLength);
    /// @notice Thrown when `length` does not end in the last blob.
    error DAInvalidLength(uint256 length, uint256 blobs);
    /// @notice Thrown when the coin sent is not exactly the fee or bond due.
    error DAWrongValue(uint256 sent, uint256 expected);
    /// @notice Thrown when a challenge's commitments and length do not hash to its payload id.
    error DAPayloadMismatch(bytes32 id, bytes32 computed);
    /// @notice Thrown when a payload is submitted twice.
    error DAPayloadExists(bytes32 id);
    /// @notice Thrown when no payload has this id.
    error DAUnknownPayload(bytes32 id);
    /// @notice Thrown when attesting a payload already attested.
    error DAAlreadyAttested(bytes32 id);
    /// @notice Thrown when the payload is not attested (claims and challenges).
    error DANotAttested(bytes32 id);
    /// @notice Thrown when attesting after the attest window (or after a refund).
    error DAAttestWindowClosed(bytes32 id, uint256 deadline);
    /// @notice Thrown when refunding before the attest window has passed.
    error DAAttestWindowOpen(bytes32 id, uint256 deadline);
    /// @notice Thrown when refunding twice.
    error DAAlreadyRefunded(bytes32 id);
    /// @notice Thrown when attesting for an epoch after the current one.
    error DAEpochFuture(uint256 epoch, uint256 current);
    /// @notice Thrown when attesting for an epoch before the previous one.
    error DAEpochStale(uint256 epoch, uint256 current);
    /// @notice Thrown when the signers hold less than 2/3 of the epoch's weight.
    error DABelowThreshold(uint256 signedWeight, uint256 totalWeight);
    /// @notice Thrown when the aggregate signature does not verify.
    error DAInvalidSignature();
    /// @notice Thrown when the signer did not sign the payload (its bit is set).
    error DANotSigner(bytes32 id, uint256 signerIndex);
    /// @notice Thrown when a signer's fee share was already paid.
    error DAAlreadyClaimed(bytes32 id, uint256 signerIndex);
    /// @notice Thrown when challenging for a blob the payload does not have.
    error DAInvalidBlobIndex(uint256 blobIndex, uint256 blobs);
    /// @notice Thrown when challenging after the challenge window.
    error DAChallengeWindowClosed(bytes32 id, uint256 deadline);
    /// @notice Thrown in PERMISSIONED mode when the challenger is not an active operator of any role.
    error DANotOperator(address caller);
    /// @notice Thrown when the signer was already challenged for the payload.
    error DAAlreadyChallenged(bytes32 id, address signer);
    /// @notice Thrown when there is no open challenge of the signer for the payload.
    error DANoOpenChallenge(bytes32 id, address signer);
    /// @notice Thrown when answering after the response window.
    error DAResponseWindowClosed(bytes32 id, address signer, uint256 deadline);
    /// @notice Thrown when slashing before the response window has passed.
    error DAResponseWindowOpen(bytes32 id, address signer, uint256 deadline);
    /// @notice Thrown when the KZG opening does not verify against the challenged blob's commitment.
    error DAInvalidOpening();
    /// @notice Thrown when there is nothing credited to withdraw.
    error DANothingToWithdraw(address account);
    /// @notice Thrown when a coin transfer fails.
    error DATransferFailed(address to, uint256 amount);

    /// @notice Emitted when a payload is submitted; the commitments are here for samplers and clients.
    event Submitted(
        bytes32 indexed id,
        address indexed submitter,
        uint256 blobs,
        uint256 length,
        uint256 fee,
        bytes commitments
    );
    /// @notice Emitted when a payload is attested.
    event Attested(bytes32 indexed id, uint256 indexed epoch, uint256 nonSignerBitmap, uint256 signedWeight);
    /// @notice Emitted when a signer's share of a fee is paid.
    event FeeClaimed(bytes32 indexed id, address indexed signer, uint256 signerIndex, uint256 amount);
    /// @notice Emitted when an unattested payload's fee is refunded.
    event Refunded(bytes32 indexed id, address indexed submitter, uint256 amount);
    /// @notice Emitted when a signer is challenged for one blob of a payload.
    event Challenged(
        bytes32 indexed id,
        address indexed signer,
        address indexed challenger,
        uint256 blobIndex,
        bytes32 versionedHash,
        uint256 deadline
    );
    /// @notice Emitted when a challenge is answered; the bond went to the signer.
    event ChallengeAnswered(bytes32 indexed id, address indexed signer, bytes32 y);
    /// @notice Emitted when an unanswered challenge is slashed (`slashed` 0: NodeStaking had nothing to take).
    event UnansweredSlashed(
        bytes32 indexed id,
        address indexed signer,
        address indexed challenger,
        uint256 slashed
    );
    /// @notice Emitted when credited coin is withdrawn.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when governance sets the parameters.
    event ParamsSet(Params params);

    /**
     * @notice Records a payload and takes its fee (`feePerBlob` × blobs, exactly).
     * @param commitments The blobs' 48-byte KZG commitments, concatenated (1 to 256).
     * @param length The payload's byte length: more than (blobs − 1) × 126,976 and at most blobs × 126,976.
     * @return id `keccak256(abi.encodePacked(commitments, length))`.
     */
    function submit(bytes calldata commitments, uint64 length) external payable returns (bytes32 id);

    /**
     * @notice Records payload `id` as available: `sigma` is the aggregate signature of the epoch's signers not in
     * `nonSignerBitmap` and `apkG2` their aggregate G2 key. `epoch` must be frozen and the current or the previous
     * one; at most 128 non-signers; the signers must hold ≥ 2/3 of the weight. Anyone may call.
     * Gas (Osaka): about 191,000 when all sign, plus about 5,000 once someone does not (the bitmap is stored) and
     * about 4,700 a non-signer; the worst case (`MAX_NON_SIGNERS` = 128) about 800,000.
     * @param nonSigners The registered G1 key and epoch weight of each signer in the bitmap, lowest bit first
     * (`DASigners.keyOf` and `signerAt`); checked against the epoch's record (`DASignersWrongNonSigner`,
     * `DASignersNonSignerCountMismatch`).
     * @param hashHint The witness of the attestation message's hash to G1 (`BN254.hashToG1` with a hint): the
     * message's point is checked, not searched for; empty: computed on-chain (about 4,600 gas a try, two on
     * average).
     */
    function attest(
        bytes32 id,
        uint256 epoch,
        uint256 nonSignerBitmap,
        IDASigners.NonSigner[] calldata nonSigners,
        BN254.G1Point calldata sigma,
        BN254.G2Point calldata apkG2,
        uint256[] calldata hashHint
    ) external;

    /// @notice Pays signer `signerIndex` of an attested payload's epoch its share of the fee (once); anyone may
    /// call, the share goes to the signer.
    function claimFees(bytes32 id, uint256 signerIndex) external returns (uint256 amount);

    /// @notice Returns the fee of a payload not attested within the attest window to its submitter.
    function refund(bytes32 id) external;

    /**
     * @notice Challenges signer `signerIndex` of attested payload `id` for blob `blobIndex`, posting
     * `challengeBond`. The payload's commitments and length are given again (their hash is the id).
     */
    function challenge(
        bytes32 id,
        bytes calldata commitments,
        uint64 length,
        uint256 blobIndex,
        uint256 signerIndex
    ) external payable;

    /**
     * @notice Answers the challenge of `signer` for `id` with `y = p(z)`, z = `challengePoint(id, signer)`, and
     * the KZG opening of the challenged blob's `commitment` at z (checked by precompile 0x0a). Anyone may call;
     * the bond goes to the signer.
     */
    function answer(
        bytes32 id,
        address signer,
        bytes32 y,
        bytes calldata commitment,
        bytes calldata proof
    ) external;

    /// @notice After the response window of an unanswered challenge: NodeStaking slashes `slashAmount` from
    /// the signer (the challenger is the reporter) and the bond is credited back to the challenger.
    function slashUnanswered(bytes32 id, address signer) external returns (uint256 slashed);

    /// @notice Pays out what is credited to the caller (returned challenge bonds).
    function withdraw() external;

    /// @notice Governance: sets the parameters (for payloads and challenges from now on).
    function setParams(Params calldata params) external;

    /// @notice The DASigners contract whose epochs attestations use.
    function signers() external view returns (address);

    /// @notice The parameters.
    function params() external view returns (Params memory);

    /// @notice What is recorded about payload `id`.
    function payloadOf(bytes32 id) external view returns (PayloadInfo memory);

    /// @notice Whether signer `signerIndex` of `id`'s epoch was paid its fee share.
    function feeClaimed(bytes32 id, uint256 signerIndex) external view returns (bool);

    /// @notice The challenge of `signer` for `id` (status NONE if none).
    function challengeOf(bytes32 id, address signer) external view returns (Challenge memory);

    /// @notice The evaluation point of an open challenge: uint256(keccak256(abi.encode(blockhash(challenge
    /// block), id, signer))) mod the BLS12-381 scalar field order; zero before the challenge block is mined.
    function challengePoint(bytes32 id, address signer) external view returns (bytes32);

    /// @notice Coin credited to `account` (returned bonds).
    function creditOf(address account) external view returns (uint256);
}

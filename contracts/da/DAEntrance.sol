// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IDAEntrance} from "./interfaces/IDAEntrance.sol";
import {IDASigners} from "./interfaces/IDASigners.sol";
import {BN254} from "./libraries/BN254.sol";

/**
 * @title DAEntrance
 * @notice DA payload submission, BLS quorum attestation, fees and availability challenges (see `IDAEntrance`).
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) sets the parameters and authorizes
 * upgrades. The DASigners contract is fixed in the implementation (immutable); NodeStaking is looked up in the
 * registry.
 *
 * Gas: a payload is two slots. Slot 1 holds everything `attest` reads and writes; slot 0 holds the submitter
 * until attestation (only a refund needs it, and an attested payload is never refunded) and, when someone did not
 * sign, the non-signer bitmap after it: attesting writes one slot when everyone signed, two otherwise, never a
 * fresh one. An answered or slashed challenge clears its slots but its status (refunds).
 * @dev Invariants:
 * - a payload is attested at most once, refunded at most once, never both; `word0` is the bitmap iff
 *   `_HAS_NON_SIGNERS` is set, the submitter iff not attested;
 * - Σ fees held ≥ Σ unpaid shares: each signer of an attested payload is paid `fee × weight / signedWeight` once,
 *   so the shares sum to at most the fee;
 * - a (payload, signer) is challenged at most once; an open challenge is answered or slashed at most once, and
 *   its bond goes to exactly one of the signer (answered) or the challenger's credit (slashed);
 * - `address(this).balance ≥ Σ fees of unrefunded payloads not yet paid out + Σ open bonds + Σ credits`.
 */
contract DAEntrance is IDAEntrance, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    bytes32 private constant _STAKING = "NodeStaking";
    /// @notice The most blobs per payload, and the payload bytes one blob carries (4,096 × 31).
    uint256 public constant MAX_BLOBS = 256;
    uint256 public constant BLOB_PAYLOAD_BYTES = 126_976;
    uint256 private constant _COMMITMENT_BYTES = 48;
    uint256 private constant _MAX_RESPONSE_WINDOW = 255;
    /// @dev The BLS12-381 scalar field order: challenge points are reduced by it.
    uint256 private constant _BLS_MODULUS =
        0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    /// @dev The point-evaluation precompile (EIP-4844) and the version byte of a KZG versioned hash.
    address private constant _POINT_EVALUATION = address(0x0a);
    bytes1 private constant _KZG_VERSION = 0x01;
    bytes32 private constant _EVIDENCE_TAG = "da-availability";

    uint8 private constant _ATTESTED = 1;
    uint8 private constant _HAS_NON_SIGNERS = 2;
    uint8 private constant _REFUNDED = 4;

    // solhint-disable gas-struct-packing
    struct Payload {
        // The submitter until attested; then the non-signer bitmap if `_HAS_NON_SIGNERS`.
        uint256 word0;
        // slot 1
        uint16 blobs;
        uint32 attestDeadline;
        uint32 attestedAt;
        uint32 epoch;
        uint128 fee;
        uint8 flags;
    }

    struct ChallengeData {
        address challenger;
        uint96 bond;
        // slot 1
        uint32 challengeBlock;
        uint32 deadline;
        ChallengeStatus status;
        // slot 2
        bytes32 versionedHash;
    }

    /// @custom:storage-location erc7201:zerog.da.DAEntrance
    struct EntranceStorage {
        IModuleRegistry registry;
        Params params;
        mapping(bytes32 id => Payload) payloads;
        mapping(bytes32 id => uint256 bits) claimed;
        mapping(bytes32 id => mapping(address signer => ChallengeData)) challenges;
        mapping(address account => uint256) credits;
    }
    // solhint-enable gas-struct-packing

    // keccak256(abi.encode(uint256(keccak256("zerog.da.DAEntrance")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x3a047b675b43f9df14d3c70d24f73176657da224238cee4748b1b58741038e00;

    /// @dev The DASigners contract (its proxy).
    IDASigners private immutable _SIGNERS;

    /// @param signers_ The DASigners proxy.
    /// @custom:oz-upgrades-unsafe-allow constructor state-variable-immutable
    constructor(IDASigners signers_) {
        if (address(signers_) == address(0)) revert DAZeroAddress();
        _SIGNERS = signers_;
    }

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param params_ The first parameters.
     */
    function initialize(address registry_, Params calldata params_) external initializer {
        if (registry_ == address(0)) revert DAZeroAddress();
        _s().registry = IModuleRegistry(registry_);
        _setParams(params_);
    }

    // ─── Payloads ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDAEntrance
    function submit(bytes calldata commitments, uint64 length) external payable returns (bytes32 id) {
        uint256 blobs = commitments.length / _COMMITMENT_BYTES;
        if (blobs == 0 || blobs > MAX_BLOBS || commitments.length % _COMMITMENT_BYTES != 0) {
            revert DAInvalidCommitments(commitments.length);
        }
        if (length <= (blobs - 1) * BLOB_PAYLOAD_BYTES || length > blobs * BLOB_PAYLOAD_BYTES) {
            revert DAInvalidLength(length, blobs);
        }
        EntranceStorage storage $ = _s();
        Params memory p = $.params;
        uint256 fee = blobs * p.feePerBlob;
        if (msg.value != fee) revert DAWrongValue(msg.value, fee);
        id = keccak256(abi.encodePacked(commitments, length));
        Payload storage payload = $.payloads[id];
        if (payload.blobs != 0) revert DAPayloadExists(id);
        payload.word0 = uint256(uint160(msg.sender));
        payload.blobs = uint16(blobs);
        payload.attestDeadline = uint32(block.number + p.attestWindow);
        payload.fee = uint128(fee);
        emit Submitted(id, msg.sender, blobs, length, fee, commitments);
    }

    /// @inheritdoc IDAEntrance
    function attest(
        bytes32 id,
        uint256 epoch,
        uint256 nonSignerBitmap,
        IDASigners.NonSigner[] calldata nonSigners,
        BN254.G1Point calldata sigma,
        BN254.G2Point calldata apkG2,
        uint256[] calldata hashHint
    ) external {
        Payload storage payload = _s().payloads[id];
        if (payload.blobs == 0) revert DAUnknownPayload(id);
        if (payload.flags & _ATTESTED != 0) revert DAAlreadyAttested(id);
        uint256 deadline = payload.attestDeadline;
        if (block.number > deadline) revert DAAttestWindowClosed(id, deadline);
        // One call to DASigners: the current epoch, and the quorum when the epoch is in range.
        (uint256 current, IDASigners.Quorum memory q) = _SIGNERS.attestationQuorum(
            epoch,
            nonSignerBitmap,
            nonSigners
        );
        if (epoch > current) revert DAEpochFuture(epoch, current);
        if (epoch + 1 < current) revert DAEpochStale(epoch, current);
        if (q.signedWeight * 3 < q.totalWeight * 2) revert DABelowThreshold(q.signedWeight, q.totalWeight);
        bytes32 message = keccak256(
            abi.encode("zerog-stack DA attestation", block.chainid, address(this), id, epoch)
        );
        if (!BN254.verify(BN254.hashToG1(message, hashHint), q.apk, apkG2, sigma))
            revert DAInvalidSignature();
        payload.attestedAt = uint32(block.number);
        payload.epoch = uint32(epoch);
        if (nonSignerBitmap == 0) {
            payload.flags = _ATTESTED;
        } else {
            payload.flags = _ATTESTED | _HAS_NON_SIGNERS;
            payload.word0 = nonSignerBitmap;
        }
        emit Attested(id, epoch, nonSignerBitmap, q.signedWeight);
    }

    /// @inheritdoc IDAEntrance
    function claimFees(bytes32 id, uint256 signerIndex) external nonReentrant returns (uint256 amount) {
        EntranceStorage storage $ = _s();
        Payload storage payload = _attested($, id);
        uint256 bitmap = _nonSigners(payload);
        if ((bitmap >> signerIndex) & 1 != 0) revert DANotSigner(id, signerIndex);
        uint256 claimed = $.claimed[id];
        if ((claimed >> signerIndex) & 1 != 0) revert DAAlreadyClaimed(id, signerIndex);
        uint256 epoch = payload.epoch;
        (address signer, uint256 weight) = _SIGNERS.signerAt(epoch, signerIndex);
        amount = (payload.fee * weight) / _SIGNERS.signedWeight(epoch, bitmap);
        $.claimed[id] = claimed | (1 << signerIndex);
        emit FeeClaimed(id, signer, signerIndex, amount);
        _pay(signer, amount);
    }

    /// @inheritdoc IDAEntrance
    function refund(bytes32 id) external nonReentrant {
        Payload storage payload = _s().payloads[id];
        if (payload.blobs == 0) revert DAUnknownPayload(id);
        if (payload.flags & _ATTESTED != 0) revert DAAlreadyAttested(id);
        if (payload.flags & _REFUNDED != 0) revert DAAlreadyRefunded(id);
        uint256 deadline = payload.attestDeadline;
        if (block.number <= deadline) revert DAAttestWindowOpen(id, deadline);
        address submitter = address(uint160(payload.word0));
        uint256 amount = payload.fee;
        payload.flags = _REFUNDED;
        payload.fee = 0;
        emit Refunded(id, submitter, amount);
        _pay(submitter, amount);
    }

    // ─── Availability challenges ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IDAEntrance
    function challenge(
        bytes32 id,
        bytes calldata commitments,
        uint64 length,
        uint256 blobIndex,
        uint256 signerIndex
    ) external payable {
        bytes32 computed = keccak256(abi.encodePacked(commitments, length));
        if (computed != id) revert DAPayloadMismatch(id, computed);
        EntranceStorage storage $ = _s();
        (address signer, Params memory p) = _challengeable($, id, blobIndex, signerIndex);
        ChallengeData storage c = $.challenges[id][signer];
        if (c.status != ChallengeStatus.NONE) revert DAAlreadyChallenged(id, signer);
        bytes32 versionedHash = _versionedHash(commitments, blobIndex);
        uint256 deadline = block.number + p.responseWindow;
        c.challenger = msg.sender;
        c.bond = uint96(msg.value);
        c.challengeBlock = uint32(block.number);
        c.deadline = uint32(deadline);
        c.status = ChallengeStatus.OPEN;
        c.versionedHash = versionedHash;
        emit Challenged(id, signer, msg.sender, blobIndex, versionedHash, deadline);
    }

    /// @inheritdoc IDAEntrance
    function answer(
        bytes32 id,
        address signer,
        bytes32 y,
        bytes calldata commitment,
        bytes calldata proof
    ) external nonReentrant {
        ChallengeData storage c = _s().challenges[id][signer];
        if (c.status != ChallengeStatus.OPEN) revert DANoOpenChallenge(id, signer);
        uint256 deadline = c.deadline;
        if (block.number > deadline) revert DAResponseWindowClosed(id, signer, deadline);
        bytes32 z = _point(c.challengeBlock, id, signer);
        (bool ok, ) = _POINT_EVALUATION.staticcall(
            abi.encodePacked(c.versionedHash, z, y, commitment, proof)
        );
        if (!ok) revert DAInvalidOpening();
        uint256 bond = c.bond;
        c.status = ChallengeStatus.ANSWERED;
        delete c.challenger;
        delete c.bond;
        delete c.versionedHash;
        emit ChallengeAnswered(id, signer, y);
        _pay(signer, bond);
    }

    /// @inheritdoc IDAEntrance
    function slashUnanswered(bytes32 id, address signer) external nonReentrant returns (uint256 slashed) {
        EntranceStorage storage $ = _s();
        ChallengeData storage c = $.challenges[id][signer];
        if (c.status != ChallengeStatus.OPEN) revert DANoOpenChallenge(id, signer);
        uint256 deadline = c.deadline;
        if (block.number <= deadline) revert DAResponseWindowOpen(id, signer, deadline);
        address challenger = c.challenger;
        $.credits[challenger] += c.bond;
        c.status = ChallengeStatus.SLASHED;
        delete c.challenger;
        delete c.bond;
        delete c.versionedHash;
        // A signer that left NodeStaking entirely has nothing to slash: the challenge still ends (bond back).
        // Checked beforehand rather than by catching a failed slash: a caught failure would also swallow a slash
        // starved of gas by the caller's gas limit (63/64 rule), ending the challenge with nobody slashed.
        INodeStaking staking = _staking($);
        INodeStaking.Position memory position = staking.positionOf(signer, INodeStaking.Role.DA_SIGNER);
        if (position.member || position.unbonding != 0) {
            slashed = staking.slash(
                signer,
                INodeStaking.Role.DA_SIGNER,
                $.params.slashAmount,
                keccak256(abi.encode(id, signer, _EVIDENCE_TAG)),
                challenger
            );
        }
        emit UnansweredSlashed(id, signer, challenger, slashed);
    }

    /// @inheritdoc IDAEntrance
    function withdraw() external nonReentrant {
        EntranceStorage storage $ = _s();
        uint256 amount = $.credits[msg.sender];
        if (amount == 0) revert DANothingToWithdraw(msg.sender);
        $.credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDAEntrance
    function setParams(Params calldata params_) external onlyGovernance {
        _setParams(params_);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDAEntrance
    function signers() external view returns (address) {
        return address(_SIGNERS);
    }

    /// @inheritdoc IDAEntrance
    function params() external view returns (Params memory) {
        return _s().params;
    }

    /// @inheritdoc IDAEntrance
    function payloadOf(bytes32 id) external view returns (PayloadInfo memory info) {
        Payload storage payload = _s().payloads[id];
        bool attested = payload.flags & _ATTESTED != 0;
        info = PayloadInfo({
            blobs: payload.blobs,
            fee: payload.fee,
            attestDeadline: payload.attestDeadline,
            epoch: payload.epoch,
            attestedAt: payload.attestedAt,
            nonSignerBitmap: _nonSigners(payload),
            submitter: attested ? address(0) : address(uint160(payload.word0)),
            attested: attested,
            refunded: payload.flags & _REFUNDED != 0
        });
    }

    /// @inheritdoc IDAEntrance
    function feeClaimed(bytes32 id, uint256 signerIndex) external view returns (bool) {
        return (_s().claimed[id] >> signerIndex) & 1 != 0;
    }

    /// @inheritdoc IDAEntrance
    function challengeOf(bytes32 id, address signer) external view returns (Challenge memory) {
        ChallengeData storage c = _s().challenges[id][signer];
        return
            Challenge({
                status: c.status,
                challenger: c.challenger,
                bond: c.bond,
                challengeBlock: c.challengeBlock,
                deadline: c.deadline,
                versionedHash: c.versionedHash
            });
    }

    /// @inheritdoc IDAEntrance
    function challengePoint(bytes32 id, address signer) external view returns (bytes32) {
        ChallengeData storage c = _s().challenges[id][signer];
        if (c.status != ChallengeStatus.OPEN || block.number <= c.challengeBlock) return bytes32(0);
        return _point(c.challengeBlock, id, signer);
    }

    /// @inheritdoc IDAEntrance
    function creditOf(address account) external view returns (uint256) {
        return _s().credits[account];
    }

    // ─── Internals ────────────────────────────────────────────────────────────────────────────────

    function _setParams(Params calldata p) private {
        if (p.attestWindow == 0) revert DAInvalidWindow(p.attestWindow);
        if (p.challengeWindow == 0) revert DAInvalidWindow(p.challengeWindow);
        if (p.responseWindow < 2 || p.responseWindow > _MAX_RESPONSE_WINDOW) {
            revert DAInvalidResponseWindow(p.responseWindow);
        }
        _s().params = p;
        emit ParamsSet(p);
    }

    /// @dev Checks a challenge of signer `signerIndex` for blob `blobIndex` of `id` by the caller with
    /// `msg.value`; returns the signer and the parameters.
    function _challengeable(
        EntranceStorage storage $,
        bytes32 id,
        uint256 blobIndex,
        uint256 signerIndex
    ) private view returns (address signer, Params memory p) {
        Payload storage payload = _attested($, id);
        p = $.params;
        uint256 windowEnd = uint256(payload.attestedAt) + p.challengeWindow;
        if (block.number > windowEnd) revert DAChallengeWindowClosed(id, windowEnd);
        if (blobIndex >= payload.blobs) revert DAInvalidBlobIndex(blobIndex, payload.blobs);
        if ((_nonSigners(payload) >> signerIndex) & 1 != 0) revert DANotSigner(id, signerIndex);
        (signer, ) = _SIGNERS.signerAt(payload.epoch, signerIndex);
        if (msg.value != p.challengeBond) revert DAWrongValue(msg.value, p.challengeBond);
        INodeStaking staking = _staking($);
        if (staking.mode() == INodeStaking.Mode.PERMISSIONED && !_isOperator(staking, msg.sender)) {
            revert DANotOperator(msg.sender);
        }
    }

    /// @dev The EIP-4844 versioned hash of blob `blobIndex`'s commitment: 0x01 ‖ sha256(commitment)[1:].
    function _versionedHash(bytes calldata commitments, uint256 blobIndex) private pure returns (bytes32) {
        uint256 at = blobIndex * _COMMITMENT_BYTES;
        bytes32 digest = sha256(commitments[at:at + _COMMITMENT_BYTES]);
        return (digest & ~bytes32(uint256(0xff) << 248)) | bytes32(_KZG_VERSION);
    }

    function _attested(EntranceStorage storage $, bytes32 id) private view returns (Payload storage payload) {
        payload = $.payloads[id];
        if (payload.blobs == 0) revert DAUnknownPayload(id);
        if (payload.flags & _ATTESTED == 0) revert DANotAttested(id);
    }

    function _nonSigners(Payload storage payload) private view returns (uint256) {
        return payload.flags & _HAS_NON_SIGNERS != 0 ? payload.word0 : 0;
    }

    function _point(uint256 challengeBlock, bytes32 id, address signer) private view returns (bytes32) {
        return bytes32(uint256(keccak256(abi.encode(blockhash(challengeBlock), id, signer))) % _BLS_MODULUS);
    }

    /// @dev Whether `account` is an active NodeStaking operator of any role.
    function _isOperator(INodeStaking staking, address account) private view returns (bool) {
        for (uint256 role = 0; role <= uint256(type(INodeStaking.Role).max); ++role) {
            if (staking.isActive(account, INodeStaking.Role(role))) return true;
        }
        return false;
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert DATransferFailed(to, amount);
    }

    function _staking(EntranceStorage storage $) private view returns (INodeStaking) {
        return INodeStaking($.registry.getModule(_STAKING));
    }

    /// @dev The registry, from this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    function _revertNotGovernance(address caller) internal pure override {
        revert DANotGovernance(caller);
    }

    function _s() private pure returns (EntranceStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

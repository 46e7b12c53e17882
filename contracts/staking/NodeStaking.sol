// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "./interfaces/INodeStaking.sol";

/**
 * @title NodeStaking
 * @notice Operator collateral per role, with unbonding, slashing by authorized modules, and jailing.
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) authorizes upgrades.
 * @dev Invariants:
 * - `address(this).balance == Σ bonded + Σ unbonding + Σ claimable` over every operator, role and account
 *   (coin only enters through `stake` and leaves through `withdraw`, `claim` and the burned part of `slash`);
 * - in PERMISSIONED mode every `bonded`, `unbonding` and `claimable` is zero (so a non-zero bond means NATIVE
 *   mode, which `isActive` relies on);
 * - an operator is in `members[role]` iff `positions[operator][role].member`.
 */
contract NodeStaking is INodeStaking, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    uint256 private constant _ROLE_COUNT = 5;
    uint16 private constant _BPS = 10_000;
    uint256 private constant _MAX_ENDPOINT_BYTES = 256;
    uint256 private constant _MAX_METADATA_BYTES = 1024;

    /**
     * @dev A `Position` as stored: everything `isActive` reads about an operator and role (besides the role's
     * minimum) shares the first slot. Amounts fit in 128 bits: they are coin held by this contract.
     */
    struct StoredPosition {
        uint128 bonded;
        uint64 jailedUntil;
        bool member;
        bool admitted;
        uint128 unbonding;
        uint64 unbondingReleaseAt;
    }

    /// @custom:storage-location erc7201:zerog.storage.NodeStaking
    struct NodeStakingStorage {
        IModuleRegistry registry;
        Mode mode;
        uint64 unbondingDelay;
        SlashParams slashParams;
        uint256[_ROLE_COUNT] minStake;
        mapping(address operator => mapping(Role => StoredPosition)) positions;
        mapping(address operator => mapping(Role => NodeInfo)) nodeInfo;
        mapping(address account => uint256) claimable;
        mapping(bytes32 evidenceHash => bool) evidenceUsed;
        EnumerableSet.AddressSet[_ROLE_COUNT] members;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.NodeStaking")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x418adc051d8db6849547cc192f16dfc207d5a5513aadbd86745735827d956300;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param mode_ NATIVE (coin collateral) or PERMISSIONED (no-token).
     * @param minStakes Minimum bond per role, indexed by `Role` (ignored in PERMISSIONED mode).
     * @param unbondingDelay_ Seconds between an unbonding request and its withdrawal.
     * @param slashParams_ Reporter share, jail period and treasury.
     */
    function initialize(
        address registry_,
        Mode mode_,
        uint256[_ROLE_COUNT] calldata minStakes,
        uint64 unbondingDelay_,
        SlashParams calldata slashParams_
    ) external initializer {
        if (registry_ == address(0)) revert StakingZeroRegistry();
        NodeStakingStorage storage $ = _s();
        $.registry = IModuleRegistry(registry_);
        $.mode = mode_;
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            _setMinStake(Role(i), minStakes[i]);
        }
        _setUnbondingDelay(unbondingDelay_);
        _setSlashParams(slashParams_);
    }

    // ─── Operators ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc INodeStaking
    function stake(Role role) external payable {
        NodeStakingStorage storage $ = _s();
        StoredPosition storage p = $.positions[msg.sender][role];
        if ($.mode == Mode.PERMISSIONED) {
            if (msg.value != 0) revert StakingNoTokenMode();
            if (!p.admitted) revert StakingNotAdmitted(msg.sender, role);
            if (p.member) revert StakingAlreadyMember(msg.sender, role);
        } else {
            if (msg.value == 0) revert StakingZeroAmount();
            uint256 newBond = p.bonded + msg.value;
            if (newBond < $.minStake[uint256(role)]) {
                revert StakingBelowMinimum(role, newBond, $.minStake[uint256(role)]);
            }
            p.bonded = SafeCast.toUint128(newBond);
        }
        if (!p.member) {
            p.member = true;
            $.members[uint256(role)].add(msg.sender);
        }
        emit Staked(msg.sender, role, msg.value, p.bonded);
    }

    /// @inheritdoc INodeStaking
    function requestUnbond(Role role, uint256 amount) external {
        NodeStakingStorage storage $ = _s();
        if ($.mode == Mode.PERMISSIONED) revert StakingNoTokenMode();
        if (amount == 0) revert StakingZeroAmount();
        StoredPosition storage p = $.positions[msg.sender][role];
        if (!p.member) revert StakingNotMember(msg.sender, role);
        // Unbonding the whole bond is leaving the role, which is `exit`.
        if (amount >= p.bonded) revert StakingInsufficientBond(amount, p.bonded);
        uint256 remaining = p.bonded - amount;
        uint256 minimum = $.minStake[uint256(role)];
        if (remaining < minimum) revert StakingBelowMinimum(role, remaining, minimum);

        // remaining < p.bonded, which fits in 128 bits.
        p.bonded = uint128(remaining);
        uint64 releaseAt = _startUnbonding($, p, amount);
        emit UnbondRequested(msg.sender, role, amount, releaseAt);
    }

    /// @inheritdoc INodeStaking
    function exit(Role role) external {
        NodeStakingStorage storage $ = _s();
        StoredPosition storage p = $.positions[msg.sender][role];
        if (!p.member) revert StakingNotMember(msg.sender, role);
        uint256 amount = p.bonded;
        p.bonded = 0;
        p.member = false;
        $.members[uint256(role)].remove(msg.sender);
        uint64 releaseAt = amount == 0 ? p.unbondingReleaseAt : _startUnbonding($, p, amount);
        emit Exited(msg.sender, role, p.unbonding, releaseAt);
    }

    /// @inheritdoc INodeStaking
    function withdraw(Role role) external nonReentrant {
        StoredPosition storage p = _s().positions[msg.sender][role];
        uint256 amount = p.unbonding;
        if (amount == 0) revert StakingNothingToWithdraw(msg.sender, role);
        if (block.timestamp < p.unbondingReleaseAt) revert StakingUnbondingLocked(p.unbondingReleaseAt);
        p.unbonding = 0;
        p.unbondingReleaseAt = 0;
        emit Withdrawn(msg.sender, role, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc INodeStaking
    function setNodeInfo(Role role, NodeInfo calldata info) external {
        NodeStakingStorage storage $ = _s();
        if (!$.positions[msg.sender][role].member) revert StakingNotMember(msg.sender, role);
        if (bytes(info.endpoint).length > _MAX_ENDPOINT_BYTES || info.metadata.length > _MAX_METADATA_BYTES) {
            revert StakingNodeInfoTooLarge();
        }
        $.nodeInfo[msg.sender][role] = info;
        emit NodeInfoSet(msg.sender, role, info.endpoint, info.region, info.metadata);
    }

    // ─── Slashing ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc INodeStaking
    function slash(
        address operator,
        Role role,
        uint256 amount,
        bytes32 evidenceHash,
        address reporter
    ) external nonReentrant returns (uint256 slashed) {
        NodeStakingStorage storage $ = _s();
        if (!$.registry.isSlasher(msg.sender)) revert StakingUnauthorizedSlasher(msg.sender);
        if (evidenceHash == bytes32(0) || $.evidenceUsed[evidenceHash])
            revert StakingEvidenceInvalid(evidenceHash);
        StoredPosition storage p = $.positions[operator][role];
        if (!p.member && p.unbonding == 0) revert StakingNothingToSlash(operator, role);
        $.evidenceUsed[evidenceHash] = true;

        slashed = _take(p, amount);
        uint64 until = uint64(block.timestamp) + $.slashParams.jailPeriod;
        if (until > p.jailedUntil) p.jailedUntil = until;
        uint256 reporterReward = _distribute($, slashed, reporter);
        emit Slashed(operator, role, evidenceHash, msg.sender, slashed, reporter, reporterReward);
        emit Jailed(operator, role, p.jailedUntil);
    }

    /// @inheritdoc INodeStaking
    function claim() external nonReentrant {
        NodeStakingStorage storage $ = _s();
        uint256 amount = $.claimable[msg.sender];
        if (amount == 0) revert StakingNothingToClaim(msg.sender);
        $.claimable[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc INodeStaking
    function setAdmitted(address operator, Role role, bool admitted) external onlyGovernance {
        _s().positions[operator][role].admitted = admitted;
        emit AdmissionSet(operator, role, admitted);
    }

    /// @inheritdoc INodeStaking
    function unjail(address operator, Role role) external onlyGovernance {
        _s().positions[operator][role].jailedUntil = 0;
        emit Unjailed(operator, role);
    }

    /// @inheritdoc INodeStaking
    function setMinStake(Role role, uint256 amount) external onlyGovernance {
        _setMinStake(role, amount);
    }

    /// @inheritdoc INodeStaking
    function setUnbondingDelay(uint64 delay) external onlyGovernance {
        _setUnbondingDelay(delay);
    }

    /// @inheritdoc INodeStaking
    function setSlashParams(SlashParams calldata params) external onlyGovernance {
        _setSlashParams(params);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc INodeStaking
    function mode() external view returns (Mode) {
        return _s().mode;
    }

    /// @inheritdoc INodeStaking
    function minStake(Role role) external view returns (uint256) {
        return _s().minStake[uint256(role)];
    }

    /// @inheritdoc INodeStaking
    function unbondingDelay() external view returns (uint64) {
        return _s().unbondingDelay;
    }

    /// @inheritdoc INodeStaking
    function slashParams() external view returns (SlashParams memory) {
        return _s().slashParams;
    }

    /// @inheritdoc INodeStaking
    function positionOf(address operator, Role role) external view returns (Position memory) {
        StoredPosition storage p = _s().positions[operator][role];
        return Position(p.bonded, p.unbonding, p.unbondingReleaseAt, p.jailedUntil, p.member, p.admitted);
    }

    /// @inheritdoc INodeStaking
    function nodeInfoOf(address operator, Role role) external view returns (NodeInfo memory) {
        return _s().nodeInfo[operator][role];
    }

    /// @inheritdoc INodeStaking
    function claimableOf(address account) external view returns (uint256) {
        return _s().claimable[account];
    }

    /// @inheritdoc INodeStaking
    function isActive(address operator, Role role) public view returns (bool) {
        NodeStakingStorage storage $ = _s();
        // Membership, jail, bond and admission share one slot; an active NATIVE operator costs one more read (the
        // role's minimum) and an active PERMISSIONED one another (the mode).
        StoredPosition storage p = $.positions[operator][role];
        if (!p.member || block.timestamp < p.jailedUntil) return false;
        uint256 bonded = p.bonded;
        // Only NATIVE mode bonds coin (see the invariants).
        if (bonded != 0) return bonded >= $.minStake[uint256(role)];
        // No bond: a NATIVE member slashed to nothing is not active, even for a role whose minimum is zero.
        return p.admitted && $.mode == Mode.PERMISSIONED;
    }

    /// @inheritdoc INodeStaking
    function membersOf(Role role) external view returns (address[] memory) {
        return _s().members[uint256(role)].values();
    }

    /// @inheritdoc INodeStaking
    function activeMembersOf(Role role) external view returns (address[] memory) {
        return _activeMembers(role);
    }

    /// @inheritdoc INodeStaking
    function activeNodesOf(
        Role role
    ) external view returns (address[] memory operators, NodeInfo[] memory infos) {
        operators = _activeMembers(role);
        infos = new NodeInfo[](operators.length);
        mapping(address => mapping(Role => NodeInfo)) storage nodeInfo = _s().nodeInfo;
        for (uint256 i = 0; i < operators.length; ++i) {
            infos[i] = nodeInfo[operators[i]][role];
        }
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev The members of `role` that are active now, in the member set's order.
    function _activeMembers(Role role) internal view returns (address[] memory active) {
        address[] memory all = _s().members[uint256(role)].values();
        active = new address[](all.length);
        uint256 count = 0;
        for (uint256 i = 0; i < all.length; ++i) {
            if (isActive(all[i], role)) {
                active[count] = all[i];
                ++count;
            }
        }
        // Shrink the array in place to the number of active members.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(active, count)
        }
    }

    /// @dev The registry is a field of this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `StakingNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert StakingNotGovernance(caller);
    }

    function _startUnbonding(
        NodeStakingStorage storage $,
        StoredPosition storage p,
        uint256 amount
    ) private returns (uint64 releaseAt) {
        releaseAt = uint64(block.timestamp) + $.unbondingDelay;
        p.unbonding = SafeCast.toUint128(p.unbonding + amount);
        p.unbondingReleaseAt = releaseAt;
    }

    /// @dev Bonded coin goes first; coin still unbonding stays answerable for what the operator did.
    function _take(StoredPosition storage p, uint256 amount) private returns (uint256) {
        uint256 fromBond = amount < p.bonded ? amount : p.bonded;
        uint256 rest = amount - fromBond;
        uint256 fromUnbonding = rest < p.unbonding ? rest : p.unbonding;
        // fromBond <= p.bonded and fromUnbonding <= p.unbonding, both 128-bit values.
        p.bonded -= uint128(fromBond);
        p.unbonding -= uint128(fromUnbonding);
        if (p.unbonding == 0) p.unbondingReleaseAt = 0;
        return fromBond + fromUnbonding;
    }

    /// @dev Credits the reporter's share and the treasury's rest, or burns the rest when there is no treasury.
    function _distribute(
        NodeStakingStorage storage $,
        uint256 slashed,
        address reporter
    ) private returns (uint256 reporterReward) {
        if (reporter != address(0)) {
            reporterReward = (slashed * $.slashParams.reporterShareBps) / _BPS;
            $.claimable[reporter] += reporterReward;
        }
        uint256 remainder = slashed - reporterReward;
        if (remainder == 0) return reporterReward;
        address treasury = $.slashParams.treasury;
        if (treasury != address(0)) {
            $.claimable[treasury] += remainder;
        } else {
            emit Burned(remainder);
            _send(address(0), remainder);
        }
    }

    function _setMinStake(Role role, uint256 amount) private {
        _s().minStake[uint256(role)] = amount;
        emit MinStakeSet(role, amount);
    }

    function _setUnbondingDelay(uint64 delay) private {
        _s().unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    function _setSlashParams(SlashParams calldata params) private {
        if (params.reporterShareBps > _BPS) revert StakingInvalidBps(params.reporterShareBps);
        _s().slashParams = params;
        emit SlashParamsSet(params.reporterShareBps, params.jailPeriod, params.treasury);
    }

    function _send(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert StakingTransferFailed(to, amount);
    }

    function _s() private pure returns (NodeStakingStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title INodeStaking
 * @notice Operator collateral per role. In `NATIVE` mode operators bond the chain's coin, wait an unbonding
 * delay to get it back, and can be slashed by authorized modules. In `PERMISSIONED` mode (the `no-token`
 * profile) governance admits operators, no coin moves, and misbehaviour jails instead of slashing.
 */
interface INodeStaking is IRegistryGoverned {
    /// @notice The roles an operator can stake for.
    enum Role {
        STORAGE,
        DA_SIGNER,
        PROVIDER,
        ORACLE,
        ALIGNMENT
    }

    /// @notice How operators are admitted; fixed at deployment.
    enum Mode {
        NATIVE,
        PERMISSIONED
    }

    /// @notice One operator's standing in one role.
    /// @param bonded Coin at stake and counted for the role.
    /// @param unbonding Coin leaving; still slashable until withdrawn.
    /// @param unbondingReleaseAt When `unbonding` can be withdrawn (unix seconds).
    /// @param jailedUntil The operator is inactive until this time (unix seconds).
    /// @param member Whether the operator currently serves the role.
    /// @param admitted Whether governance admitted the operator (used in PERMISSIONED mode).
    struct Position {
        uint256 bonded;
        uint256 unbonding;
        uint64 unbondingReleaseAt;
        uint64 jailedUntil;
        bool member;
        bool admitted;
    }

    /// @notice What an operator announces about its node for one role.
    /// @param endpoint Public URL of the node's API.
    /// @param region Region code (e.g. "eu"), right-padded; zero for none.
    /// @param metadata Role-specific ABI-encoded details (e.g. a storage node's shard).
    struct NodeInfo {
        string endpoint;
        bytes32 region;
        bytes metadata;
    }

    /// @notice Slashing parameters.
    /// @param reporterShareBps Part of a slash paid to the reporter, in basis points.
    /// @param jailPeriod How long a slash jails the operator (seconds).
    /// @param treasury Receives the rest of a slash; zero burns it.
    struct SlashParams {
        uint16 reporterShareBps;
        uint64 jailPeriod;
        address treasury;
    }

    /// @notice Thrown when `initialize` is given no registry.
    error StakingZeroRegistry();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error StakingNotGovernance(address caller);
    /// @notice Thrown when the caller is not a module with slashing authority.
    error StakingUnauthorizedSlasher(address caller);
    /// @notice Thrown when an amount must be positive.
    error StakingZeroAmount();
    /// @notice Thrown when coin is sent in PERMISSIONED mode, or a coin-only action is called there.
    error StakingNoTokenMode();
    /// @notice Thrown in PERMISSIONED mode when the operator is not admitted for the role.
    error StakingNotAdmitted(address operator, Role role);
    /// @notice Thrown when the operator is already a member of the role (PERMISSIONED mode).
    error StakingAlreadyMember(address operator, Role role);
    /// @notice Thrown when the operator is not a member of the role.
    error StakingNotMember(address operator, Role role);
    /// @notice Thrown when a bond would be below the role's minimum.
    error StakingBelowMinimum(Role role, uint256 bonded, uint256 minimum);
    /// @notice Thrown when unbonding more than is bonded, or everything (use `exit`).
    error StakingInsufficientBond(uint256 requested, uint256 available);
    /// @notice Thrown when there is no unbonded coin to withdraw.
    error StakingNothingToWithdraw(address operator, Role role);
    /// @notice Thrown when the unbonding delay has not elapsed.
    error StakingUnbondingLocked(uint64 releaseAt);
    /// @notice Thrown when there is nothing to claim.
    error StakingNothingToClaim(address account);
    /// @notice Thrown when a slash names no evidence, or evidence already used.
    error StakingEvidenceInvalid(bytes32 evidenceHash);
    /// @notice Thrown when the operator has neither a membership nor a stake to slash.
    error StakingNothingToSlash(address operator, Role role);
    /// @notice Thrown when a basis-point value exceeds 10,000.
    error StakingInvalidBps(uint256 bps);
    /// @notice Thrown when node info exceeds its size bounds.
    error StakingNodeInfoTooLarge();
    /// @notice Thrown when a coin transfer fails.
    error StakingTransferFailed(address to, uint256 amount);

    /// @notice Emitted when coin is bonded (or, in PERMISSIONED mode, an operator joins with zero).
    event Staked(address indexed operator, Role indexed role, uint256 amount, uint256 bonded);
    /// @notice Emitted when part of a bond starts unbonding.
    event UnbondRequested(address indexed operator, Role indexed role, uint256 amount, uint64 releaseAt);
    /// @notice Emitted when an operator leaves a role.
    event Exited(address indexed operator, Role indexed role, uint256 unbonding, uint64 releaseAt);
    /// @notice Emitted when unbonded coin is paid out.
    event Withdrawn(address indexed operator, Role indexed role, uint256 amount);
    /// @notice Emitted when an authorized module slashes an operator.
    event Slashed(
        address indexed operator,
        Role indexed role,
        bytes32 indexed evidenceHash,
        address slasher,
        uint256 amount,
        address reporter,
        uint256 reporterReward
    );
    /// @notice Emitted when an operator is jailed.
    event Jailed(address indexed operator, Role indexed role, uint64 until);
    /// @notice Emitted when governance releases an operator from jail.
    event Unjailed(address indexed operator, Role indexed role);
    /// @notice Emitted when governance admits or removes an operator (PERMISSIONED mode).
    event AdmissionSet(address indexed operator, Role indexed role, bool admitted);
    /// @notice Emitted when an operator announces its node.
    event NodeInfoSet(
        address indexed operator,
        Role indexed role,
        string endpoint,
        bytes32 region,
        bytes metadata
    );
    /// @notice Emitted when a reporter or the treasury claims what slashes credited to it.
    event Claimed(address indexed account, uint256 amount);
    /// @notice Emitted when the burned part of a slash leaves the contract.
    event Burned(uint256 amount);
    /// @notice Emitted when governance sets a role's minimum bond.
    event MinStakeSet(Role indexed role, uint256 amount);
    /// @notice Emitted when governance sets the unbonding delay.
    event UnbondingDelaySet(uint64 delay);
    /// @notice Emitted when governance sets the slashing parameters.
    event SlashParamsSet(uint16 reporterShareBps, uint64 jailPeriod, address treasury);

    /// @notice Bonds `msg.value` for `role` and joins it. In PERMISSIONED mode, joins with no coin
    /// (the operator must be admitted).
    function stake(Role role) external payable;

    /// @notice Starts unbonding part of the bond; the rest must stay at or above the role's minimum.
    /// Resets the release time of everything unbonding for the role.
    function requestUnbond(Role role, uint256 amount) external;

    /// @notice Leaves the role: the whole bond starts unbonding and the operator stops serving.
    /// Restarts the release time of everything unbonding for the role, including coin already unbonding.
    function exit(Role role) external;

    /// @notice Pays out unbonded coin once the unbonding delay has elapsed.
    function withdraw(Role role) external;

    /// @notice Announces the node's endpoint, region and role-specific metadata. Members only.
    function setNodeInfo(Role role, NodeInfo calldata info) external;

    /// @notice Takes up to `amount` from the operator's bond (then from its unbonding coin) and jails it.
    /// Only modules that the registry authorizes. In PERMISSIONED mode it only jails.
    /// @param evidenceHash A hash of the evidence; each can be used once.
    /// @param reporter Receives `reporterShareBps` of what is taken; zero sends it all to the treasury.
    /// @return slashed The amount actually taken.
    function slash(
        address operator,
        Role role,
        uint256 amount,
        bytes32 evidenceHash,
        address reporter
    ) external returns (uint256 slashed);

    /// @notice Pays out what slashes credited to the caller (reporter rewards, treasury share).
    function claim() external;

    /// @notice Governance: admits or removes an operator for a role (PERMISSIONED mode).
    function setAdmitted(address operator, Role role, bool admitted) external;

    /// @notice Governance: releases an operator from jail.
    function unjail(address operator, Role role) external;

    /// @notice Governance: sets a role's minimum bond (NATIVE mode).
    function setMinStake(Role role, uint256 amount) external;

    /// @notice Governance: sets the unbonding delay for future requests.
    function setUnbondingDelay(uint64 delay) external;

    /// @notice Governance: sets the slashing parameters.
    function setSlashParams(SlashParams calldata params) external;

    /// @notice The staking mode fixed at deployment.
    function mode() external view returns (Mode);

    /// @notice A role's minimum bond.
    function minStake(Role role) external view returns (uint256);

    /// @notice The unbonding delay in seconds.
    function unbondingDelay() external view returns (uint64);

    /// @notice The slashing parameters.
    function slashParams() external view returns (SlashParams memory);

    /// @notice One operator's position in one role.
    function positionOf(address operator, Role role) external view returns (Position memory);

    /// @notice What an operator announced for one role.
    function nodeInfoOf(address operator, Role role) external view returns (NodeInfo memory);

    /// @notice What slashes credited to `account` and it has not claimed.
    function claimableOf(address account) external view returns (uint256);

    /// @notice Whether the operator may serve the role now: member, not jailed, and bonded a non-zero amount
    /// of at least the minimum (NATIVE) or admitted (PERMISSIONED).
    function isActive(address operator, Role role) external view returns (bool);

    /// @notice Every member of a role, active or not.
    function membersOf(Role role) external view returns (address[] memory);

    /// @notice Every active member of a role.
    function activeMembersOf(Role role) external view returns (address[] memory);

    /// @notice Every active member of a role with what it announced, in one call: how clients discover nodes.
    /// @return operators The active members, in `activeMembersOf`'s order.
    /// @return infos What each announced for the role (empty fields if it announced nothing).
    function activeNodesOf(
        Role role
    ) external view returns (address[] memory operators, NodeInfo[] memory infos);
}

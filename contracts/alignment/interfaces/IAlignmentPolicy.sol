// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IAlignmentPolicy
 * @notice The alignment policy, versioned: each version is the storage root and byte size of a policy document
 * (JSON, kept in the storage module). Governance appends versions; earlier ones stay readable, so a dispute can
 * name the version it was judged by.
 */
interface IAlignmentPolicy is IRegistryGoverned {
    /// @notice A zero address where an account is needed.
    error PolicyZeroAddress();
    /// @notice The caller is not governance.
    error PolicyNotGovernance(address caller);
    /// @notice The root is zero.
    error PolicyZeroRoot();
    /// @notice The size is zero.
    error PolicyZeroSize();
    /// @notice No such version (versions start at 1).
    error PolicyUnknownVersion(uint256 version);

    /// @notice Governance set version `version` of the policy.
    event PolicySet(uint256 indexed version, bytes32 root, uint64 size);

    /// @notice Appends a policy version (the document's storage root and size in bytes). Only governance.
    function setPolicy(bytes32 root, uint64 size) external returns (uint256 version);

    /// @notice The current policy: its version (0 when none was ever set), root, size and when it was set.
    function policy() external view returns (uint256 version, bytes32 root, uint64 size, uint64 setAt);

    /// @notice Version `version` of the policy (reverts for an unknown version).
    function policyAt(uint256 version) external view returns (bytes32 root, uint64 size, uint64 setAt);

    /// @notice How many versions were set.
    function versions() external view returns (uint256);
}

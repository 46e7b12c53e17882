// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ILicenseView
 * @notice What the alignment contracts read from the AlignmentLicense (registered as "AlignmentLicense"): who may
 * act for a license, who holds it, who runs it and for what commission.
 */
interface ILicenseView {
    /// @notice Whether `account` is the holder of license `tokenId` or its operator.
    function isAuthorized(uint256 tokenId, address account) external view returns (bool);

    /// @notice The holder of license `tokenId` (reverts for a license that does not exist).
    function ownerOf(uint256 tokenId) external view returns (address);

    /// @notice The operator running license `tokenId` (zero for none) and its commission in basis points.
    function operatorOf(uint256 tokenId) external view returns (address operator, uint256 commissionBps);

    /// @notice How many licenses exist.
    function totalSupply() external view returns (uint256);
}

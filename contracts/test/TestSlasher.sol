// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";

/**
 * @title TestSlasher
 * @notice Test double of a slashing module: it forwards any slash request to `NodeStaking.slash`, so that
 * tests can exercise slashing without deploying a real verification module.
 * @dev For tests only. Register it in the `ModuleRegistry` and grant its name `setSlasher(name, true)`;
 * `NodeStaking` then sees this contract as the calling module. It performs no checks of its own.
 */
contract TestSlasher {
    /// @notice Emitted after a forwarded slash, with the amount `NodeStaking` reported as taken.
    /// @param slashed What `NodeStaking.slash` returned.
    event Forwarded(uint256 slashed);

    /**
     * @notice Forwards a slash to `staking`, with this contract as the slashing module.
     * @param staking The `NodeStaking` proxy.
     * @param operator The operator to slash.
     * @param role The role whose position is slashed.
     * @param amount The most to take.
     * @param evidenceHash A hash of the evidence (single use).
     * @param reporter Receives the reporter's share; zero for none.
     * @return slashed The amount actually taken.
     */
    function slash(
        INodeStaking staking,
        address operator,
        INodeStaking.Role role,
        uint256 amount,
        bytes32 evidenceHash,
        address reporter
    ) external returns (uint256 slashed) {
        slashed = staking.slash(operator, role, amount, evidenceHash, reporter);
        emit Forwarded(slashed);
    }
}

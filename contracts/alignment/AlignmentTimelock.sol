// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title AlignmentTimelock
 * @notice OpenZeppelin's TimelockController under its own name: the owner of the module registry when alignment
 * governance is deployed. The AlignmentGovernor proposes and cancels; anyone executes a ready operation.
 * @dev Deployment starts it with the deployer as its temporary proposer, executor and admin and a zero delay, so that
 * it can accept the registry's ownership and set its real delay; the deployer then renounces every role (see
 * docs/alignment.md).
 */
contract AlignmentTimelock is TimelockController {
    /**
     * @param minDelay The first delay, in seconds.
     * @param proposers Accounts granted the proposer and canceller roles.
     * @param executors Accounts granted the executor role (the zero address: anyone).
     * @param admin An optional extra admin (zero: the timelock administers itself only).
     */
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}

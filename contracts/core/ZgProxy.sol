// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/**
 * @title ZgProxy
 * @notice The ERC-1967 proxy every upgradeable zerog-stack module is deployed behind. Declared here so that
 * its artifact is compiled with the project and Ignition can deploy it.
 */
contract ZgProxy is ERC1967Proxy {
    /// @param implementation The first implementation.
    /// @param initData The encoded `initialize(...)` call, run in the proxy's context.
    constructor(
        address implementation,
        bytes memory initData
    ) payable ERC1967Proxy(implementation, initData) {}
}

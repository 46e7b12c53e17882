// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IServingLedger} from "../serving/interfaces/IServingLedger.sol";

/**
 * @title TestCharger
 * @notice Test double of a serving module: it forwards any charge to `ServingLedger.charge`, so that tests can
 * charge sub-accounts with chosen amounts without signing vouchers.
 * @dev For tests only. Register it in the `ModuleRegistry` as "InferenceServing"; the ledger then sees this
 * contract as the serving module. It performs no checks of its own.
 */
contract TestCharger {
    /// @notice Emitted after a forwarded charge, with what the ledger reported as taken.
    /// @param paid What `ServingLedger.charge` returned.
    event Forwarded(uint256[] paid);

    /**
     * @notice Forwards a charge to `ledger`, with this contract as the serving module.
     * @param ledger The `ServingLedger` proxy.
     * @param provider The provider credited.
     * @param charges What to take from each user's sub-account with `provider`.
     * @return paid What the ledger took for each charge.
     */
    function charge(
        IServingLedger ledger,
        address provider,
        IServingLedger.Charge[] calldata charges
    ) external returns (uint256[] memory paid) {
        paid = ledger.charge(provider, charges);
        emit Forwarded(paid);
    }
}

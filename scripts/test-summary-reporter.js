"use strict";
// The spec reporter, keeping the run's totals so that the `test` task can close the whole output (after the
// gas report) with one plain summary line, `N passed, N failed, N skipped`, which CI reads. The totals go on
// globalThis: Mocha may unload and reload this module, so a module-level value would not survive.
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      globalThis.__zgTestSummary = `${passes} passed, ${failures} failed, ${pending} skipped`;
    });
  }
}

module.exports = SummaryReporter;
